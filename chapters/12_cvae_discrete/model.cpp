// The bodies of 12_cvae_discrete/model.hpp's functions, compiled once.
#include "12_cvae_discrete/model.hpp"

#include <cmath>

#include "06_gaussian_kl/quadrature.hpp"
#include "course/parallel.hpp"

namespace course::ch12 {

double conditional_log_evidence(const ConditionalLinearGaussian& m, const VecD& x, const VecD& y) {
  const Index d = m.data_dim();
  const MatD cov = m.W * m.W.transpose() + m.sigma2 * MatD::Identity(d, d);
  return ch05::log_normal_density(x, (m.W * m.P + m.V) * y + m.mu, cov);
}

Gaussian conditional_posterior(const ConditionalLinearGaussian& m, const VecD& x, const VecD& y) {
  const Index k = m.latent_dim();
  const MatD precision = MatD::Identity(k, k) + m.W.transpose() * m.W / m.sigma2;
  const MatD Sigma = precision.llt().solve(MatD::Identity(k, k));
  Gaussian g;
  g.mean = Sigma * (m.P * y + m.W.transpose() * (x - m.V * y - m.mu) / m.sigma2);
  g.chol = Sigma.llt().matrixL();
  return g;
}

ConditionalLinearGaussian make_conditional_model(std::uint64_t seed) {
  Rng rng(seed, 12);
  ConditionalLinearGaussian m;
  m.W = rng.normal_matrix<double>(6, 2);
  m.V = rng.normal_matrix<double>(6, 3);
  m.P = 1.5 * rng.normal_matrix<double>(2, 3);
  m.mu = rng.normal_matrix<double>(6, 1);
  m.sigma2 = 0.5;
  return m;
}

VecD sample_conditional(const ConditionalLinearGaussian& m, const VecD& y, std::uint64_t seed) {
  Rng rng(seed, 13);
  const VecD z = m.P * y + rng.normal_matrix<double>(m.latent_dim(), 1);
  return m.W * z + m.V * y + m.mu + std::sqrt(m.sigma2) * rng.normal_matrix<double>(m.data_dim(), 1);
}

VecD one_hot(Index k, Index K) {
  VecD e = VecD::Zero(K);
  e(k) = 1.0;
  return e;
}

VecD open_uniforms(Index K, Rng& rng) {
  VecD u(K);
  for (Index i = 0; i < K; ++i) {
    do u(i) = rng.uniform();
    while (u(i) == 0.0);
  }
  return u;
}

VecD gumbel_noise(Index K, Rng& rng) { return -(-open_uniforms(K, rng).array().log()).log(); }

VecD softmax(const VecD& v) {
  const VecD e = (v.array() - v.maxCoeff()).exp();
  return e / e.sum();
}

VecD simplex_point(const VecD& omega) {
  VecD full(omega.size() + 1);
  full << omega, 0.0;
  return softmax(full);
}

double logit_log_density(const LogDensity& log_density, const VecD& omega, const VecD& log_alpha, double tau) {
  const VecD z_relaxed = simplex_point(omega);
  return log_density(z_relaxed, log_alpha, tau) + z_relaxed.array().log().sum();
}

VecD logit_centre(const VecD& log_alpha, double tau) {
  const Index K = log_alpha.size();
  return (log_alpha.head(K - 1).array() - log_alpha(K - 1)) / tau;
}

VecD concrete_expectation(const LogDensity& log_density, const VecD& log_alpha, double tau,
                          const std::function<void(const VecD& z_relaxed, Eigen::Ref<VecD> out)>& f, Index dim,
                          int panels) {
  const Index K = log_alpha.size();
  if (K != 2 && K != 3) throw std::invalid_argument("concrete_expectation: K must be 2 or 3");
  const ch06::GaussLegendre rule(10);
  const VecD c = logit_centre(log_alpha, tau);
  const double half = 44.0 / tau, h = 2.0 * half / panels;
  // The nodes and weights of the composite rule on one axis, relative to the centre.
  std::vector<double> node, weight;
  for (int p = 0; p < panels; ++p)
    for (std::size_t i = 0; i < rule.x.size(); ++i) {
      node.push_back(-half + (p + 0.5) * h + 0.5 * h * rule.x[i]);
      weight.push_back(0.5 * h * rule.w[i]);
    }
  const Index n = Index(node.size());
  VecD total = VecD::Zero(dim), value(dim);
  VecD s(K - 1);
  if (K == 2) {
    for (Index i = 0; i < n; ++i) {
      s(0) = c(0) + node[std::size_t(i)];
      f(simplex_point(s), value);
      total += weight[std::size_t(i)] * std::exp(logit_log_density(log_density, s, log_alpha, tau)) * value;
    }
    return total;
  }
  // K = 3: the rows of the tensor grid in parallel, each row's partial sum kept apart and added in
  // row order (the same result for any thread count).
  std::vector<VecD> row(static_cast<std::size_t>(n), VecD::Zero(dim));
  parallel::for_blocks(n, [&](Index i) {
    VecD si(2), vi(dim);
    for (Index j = 0; j < n; ++j) {
      si << c(0) + node[std::size_t(i)], c(1) + node[std::size_t(j)];
      f(simplex_point(si), vi);
      row[std::size_t(i)] += weight[std::size_t(i)] * weight[std::size_t(j)] *
                             std::exp(logit_log_density(log_density, si, log_alpha, tau)) * vi;
    }
  });
  for (const VecD& r : row) total += r;
  return total;
}

ToyObjective toy_objective() {
  ToyObjective o;
  o.logits = (VecD(3) << 0.6, -0.4, 0.1).finished();
  o.t = (VecD(3) << 0.1, 0.3, 0.8).finished();
  return o;
}

double toy_exact_value(const ToyObjective& o) {
  const VecD pi = softmax(o.logits);
  double F = 0.0;
  for (Index k = 0; k < pi.size(); ++k) F += pi(k) * o.f(one_hot(k, pi.size()));
  return F;
}

VecD toy_exact_gradient(const ToyObjective& o) {
  const VecD pi = softmax(o.logits);
  const Index K = pi.size();
  VecD fk(K);
  for (Index k = 0; k < K; ++k) fk(k) = o.f(one_hot(k, K));
  return (pi.array() * (fk.array() - pi.dot(fk))).matrix();
}

VecD reinforce_estimate(const ToyObjective& o, const VecD& g, const ScoreFunction& score) {
  Index k = 0;
  (o.logits + g).maxCoeff(&k);
  return score(o.logits, k, o.f(one_hot(k, o.classes())));
}

VecD gumbel_softmax_vjp(const VecD& y, const VecD& v, double tau) {
  return ((y.array() * v.array()).matrix() - y * y.dot(v)) / tau;
}

VecD relaxed_estimate(const ToyObjective& o, const VecD& g, double tau) {
  const VecD y = softmax((o.logits + g) / tau);
  return gumbel_softmax_vjp(y, 2.0 * (y - o.t), tau);
}

VecD straight_through(const VecD& logits, const VecD& g, double tau, const std::function<VecD(const VecD&)>& f_prime) {
  const VecD y = softmax((logits + g) / tau);
  Index k = 0;
  y.maxCoeff(&k);
  return gumbel_softmax_vjp(y, f_prime(one_hot(k, logits.size())), tau);
}

VecD straight_through_estimate(const ToyObjective& o, const VecD& g, double tau) {
  return straight_through(o.logits, g, tau, [&](const VecD& z) { return VecD(2.0 * (z - o.t)); });
}

VecD straight_through_mean_linear(const VecD& logits, const VecD& c, double tau) {
  return concrete_expectation(
      concrete_log_density, logits, tau, [&](const VecD& y, Eigen::Ref<VecD> out) { out = gumbel_softmax_vjp(y, c, tau); },
      logits.size());
}

RelaxedQuadrature relaxed_by_quadrature(const ToyObjective& o, double tau, int panels) {
  const Index K = o.classes();
  const VecD alpha = o.logits.array().exp();
  const VecD m = concrete_expectation(
      concrete_log_density, o.logits, tau,
      [&](const VecD& y, Eigen::Ref<VecD> out) {
        const double fy = o.f(y);
        const VecD w = (alpha.array() * y.array().pow(-tau)).matrix();
        out(0) = fy;
        out.tail(K) = fy * (VecD::Ones(K) - double(K) * w / w.sum());
      },
      K + 1, panels);
  return {m(0), m.tail(K)};
}

}  // namespace course::ch12
