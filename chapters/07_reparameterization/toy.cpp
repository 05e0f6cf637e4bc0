// The bodies of 07_reparameterization/toy.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "07_reparameterization/toy.hpp"

namespace course::ch07 {

VecD lecture_target() { return VecD::Constant(2, 5.0); }

Estimator pathwise_estimator() { return pathwise_gradient; }

Estimator score_function_estimator() {
  return [](const VecD& mu, const VecD& sigma, const VecD& c, const VecD& eps) {
    return score_function_gradient(mu, sigma, c, VecD(mu + (sigma.array() * eps.array()).matrix()));
  };
}

double toy_loss(const VecD& mu, const VecD& sigma, const VecD& c) {
  return (mu - c).squaredNorm() + sigma.squaredNorm();
}

VecD toy_gradient(const VecD& mu, const VecD& c) { return 2.0 * (mu - c); }

double log_normal_density(const VecD& x, const VecD& mu, const VecD& sigma) {
  const double two_pi = 2.0 * M_PI;
  double s = 0.0;
  for (Index i = 0; i < x.size(); ++i) {
    const double r = (x(i) - mu(i)) / sigma(i);
    s += -0.5 * r * r - std::log(sigma(i)) - 0.5 * std::log(two_pi);
  }
  return s;
}

VecD pathwise_variance(const VecD& sigma) { return 4.0 * sigma.array().square().matrix(); }

VecD score_function_variance(const VecD& a, double m4, double m6) {
  const Index d = a.size();
  VecD v(d);
  for (Index i = 0; i < d; ++i) {
    const double b2 = a(i) * a(i);
    const double r = a.squaredNorm() - b2;         // sum_{j != i} a_j^2
    const double ER = r + double(d - 1);            // E[R], R = sum_{j != i} (a_j + eps_j)^2
    const double ER2 = 4.0 * r + (m4 - 1.0) * double(d - 1) + ER * ER;  // Var R + (E R)^2
    const double EQu2 = b2 + m4;                    // E[(b + u)^2 u^2]
    const double EQ2u2 = b2 * b2 + 6.0 * m4 * b2 + m6;  // E[(b + u)^4 u^2]
    const double second_moment = EQ2u2 + 2.0 * EQu2 * ER + ER2;
    v(i) = second_moment - 4.0 * b2;                // minus the squared mean (2 a_i)^2
  }
  return v;
}

VecD sgd_error_mean(const VecD& e0, const SgdSetting& s) { return std::pow(1.0 - 2.0 * s.lr, s.steps) * e0; }

double sgd_error_variance(const SgdSetting& s) {
  return s.lr / (double(s.batch) * (1.0 - s.lr)) * (1.0 - std::pow(1.0 - 2.0 * s.lr, 2 * s.steps));
}

McVecEstimate estimator_moments(const Estimator& g, const VecD& mu, const VecD& sigma, const VecD& c,
                                       Index n, std::uint64_t seed, Index batch) {
  const Index d = mu.size();
  const VecD truth = toy_gradient(mu, c);
  // One call outside the parallel region first: an exception (an exercise not implemented yet) must
  // not escape an OpenMP region, where it would terminate the program.
  g(mu, sigma, c, VecD::Zero(d));
  return monte_carlo_vec(n, 2 * d, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    VecD sum = VecD::Zero(d), eps(d);
    for (Index k = 0; k < batch; ++k) {
      for (Index i = 0; i < d; ++i) eps(i) = rng.normal();
      sum += g(mu, sigma, c, eps);
    }
    const VecD mean = sum / double(batch);
    out.head(d) = mean;
    out.tail(d) = (mean - truth).array().square().matrix();
  });
}

SgdPath run_sgd(const Estimator& g, const VecD& mu0, const VecD& c, const SgdSetting& s,
                       std::uint64_t seed, const std::function<void(int, double)>& on_step) {
  Rng rng(seed, 0);
  const Index d = mu0.size();
  const VecD sigma = VecD::Ones(d);
  SgdPath p;
  VecD mu = mu0;
  auto record = [&] {
    p.x.push_back(mu(0));
    p.y.push_back(d > 1 ? mu(1) : 0.0);
    p.distance.push_back((mu - c).norm());
  };
  record();
  MatD eps(d, s.batch);
  for (int t = 0; t < s.steps; ++t) {
    for (Index k = 0; k < s.batch; ++k)
      for (Index i = 0; i < d; ++i) eps(i, k) = rng.normal();
    VecD grad = VecD::Zero(d);
    for (Index k = 0; k < s.batch; ++k) grad += g(mu, sigma, c, VecD(eps.col(k)));
    mu -= s.lr * grad / double(s.batch);
    if (on_step) on_step(t, toy_loss(mu, sigma, c));
    record();
  }
  p.final_mu = mu;
  return p;
}

}  // namespace course::ch07
