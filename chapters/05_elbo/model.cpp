// The bodies of 05_elbo/model.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "05_elbo/model.hpp"

namespace course::ch05 {

double log_normal_density(const VecD& x, const VecD& mean, const MatD& cov) {
  const Eigen::LLT<MatD> llt(cov);
  const VecD white = llt.matrixL().solve(x - mean);
  const MatD C = llt.matrixL();
  return -0.5 * double(x.size()) * kLog2Pi - C.diagonal().array().log().sum() - 0.5 * white.squaredNorm();
}

MatD marginal_covariance(const LinearGaussianModel& m) {
  return m.W * m.W.transpose() + m.sigma2 * MatD::Identity(m.data_dim(), m.data_dim());
}

double log_evidence(const LinearGaussianModel& m, const VecD& x) {
  return log_normal_density(x, m.mu, marginal_covariance(m));
}

Gaussian exact_posterior(const LinearGaussianModel& m, const VecD& x) {
  const Index k = m.latent_dim();
  const MatD precision = MatD::Identity(k, k) + m.W.transpose() * m.W / m.sigma2;
  const MatD Sigma = precision.llt().solve(MatD::Identity(k, k));
  Gaussian g;
  g.mean = Sigma * m.W.transpose() * (x - m.mu) / m.sigma2;
  g.chol = Sigma.llt().matrixL();
  return g;
}

double log_joint(const LinearGaussianModel& m, const VecD& x, const VecD& z) {
  const double d = double(m.data_dim()), k = double(m.latent_dim());
  return -(x - m.W * z - m.mu).squaredNorm() / (2.0 * m.sigma2) - 0.5 * d * std::log(2.0 * std::numbers::pi * m.sigma2) -
         0.5 * z.squaredNorm() - 0.5 * k * kLog2Pi;
}

double log_density(const Gaussian& g, const VecD& z) {
  const VecD white = g.chol.triangularView<Eigen::Lower>().solve(z - g.mean);
  return -0.5 * double(z.size()) * kLog2Pi - g.chol.diagonal().array().log().sum() - 0.5 * white.squaredNorm();
}

double kl_gaussians(const Gaussian& q, const Gaussian& p) {
  const auto L1 = p.chol.triangularView<Eigen::Lower>();
  const MatD A = L1.solve(q.chol);
  const VecD b = L1.solve(p.mean - q.mean);
  const double log_det_ratio = 2.0 * (p.chol.diagonal().array().log().sum() - q.chol.diagonal().array().log().sum());
  return 0.5 * (A.squaredNorm() + b.squaredNorm() - double(q.mean.size()) + log_det_ratio);
}

double expected_log_likelihood(const LinearGaussianModel& m, const VecD& x, const Gaussian& q) {
  const double d = double(m.data_dim());
  return -0.5 * d * std::log(2.0 * std::numbers::pi * m.sigma2) -
         ((x - m.mu - m.W * q.mean).squaredNorm() + (m.W * q.chol).squaredNorm()) / (2.0 * m.sigma2);
}

Gaussian standard_normal(Index k) { return {VecD::Zero(k), MatD::Identity(k, k)}; }

double kl_to_prior(const Gaussian& q) { return kl_gaussians(q, standard_normal(q.mean.size())); }

double log_second_moment_of_ratio(const Gaussian& p, const Gaussian& q) {
  const Index k = p.mean.size();
  const MatD I = MatD::Identity(k, k);
  const MatD A_inv = p.cov().llt().solve(I), B_inv = q.cov().llt().solve(I);
  const MatD P = 2.0 * A_inv - B_inv;
  const Eigen::LLT<MatD> llt(P);
  if (llt.info() != Eigen::Success || MatD(llt.matrixL()).diagonal().minCoeff() <= 0) return INFINITY;
  const VecD h = 2.0 * A_inv * p.mean - B_inv * q.mean;
  const double c = 2.0 * p.mean.dot(A_inv * p.mean) - q.mean.dot(B_inv * q.mean);
  const double log_det_A = 2.0 * p.chol.diagonal().array().log().sum();
  const double log_det_B = 2.0 * q.chol.diagonal().array().log().sum();
  const double log_det_P = 2.0 * MatD(llt.matrixL()).diagonal().array().log().sum();
  return -log_det_A + 0.5 * log_det_B - 0.5 * log_det_P + 0.5 * h.dot(llt.solve(h)) - 0.5 * c;
}

double log_sum_exp(const VecD& a) {
  const double top = a.maxCoeff();
  return top + std::log((a.array() - top).exp().sum());
}

LinearGaussianModel make_model(std::uint64_t seed) {
  Rng rng(seed);
  LinearGaussianModel m;
  m.W = rng.normal_matrix<double>(6, 2);
  m.mu = rng.normal_matrix<double>(6, 1);
  m.sigma2 = 0.5;
  return m;
}

VecD sample_observation(const LinearGaussianModel& m, std::uint64_t seed) {
  Rng rng(seed, 1);
  const VecD z = rng.normal_matrix<double>(m.latent_dim(), 1);
  return m.W * z + m.mu + std::sqrt(m.sigma2) * rng.normal_matrix<double>(m.data_dim(), 1);
}

Gaussian random_gaussian(const VecD& centre, std::uint64_t seed) {
  Rng rng(seed, 2);
  const Index k = centre.size();
  Gaussian g{centre + 0.3 * rng.normal_matrix<double>(k, 1), MatD::Zero(k, k)};
  for (Index i = 0; i < k; ++i) {
    g.chol(i, i) = rng.uniform(0.15, 0.6);
    for (Index j = 0; j < i; ++j) g.chol(i, j) = 0.1 * rng.normal();
  }
  return g;
}

Gaussian interpolate_from_prior(const Gaussian& posterior, double t) {
  const Index k = posterior.mean.size();
  return {t * posterior.mean, (1.0 - t) * MatD::Identity(k, k) + t * posterior.chol};
}

Gaussian poor_proposal(const Gaussian& posterior) {
  Gaussian q = posterior;
  q.mean += posterior.chol * VecD::Ones(posterior.mean.size());
  q.chol *= std::sqrt(2.0);
  return q;
}

VecD mixture_log_joint(const IsotropicMixture& mix, const VecD& x) {
  VecD a(mix.components());
  for (Index c = 0; c < a.size(); ++c)
    a(c) = std::log(mix.weights(c)) + gaussian_decoder_log_likelihood(x, mix.means.col(c), mix.variances(c));
  return a;
}

double mixture_log_evidence(const IsotropicMixture& mix, const VecD& x) {
  return log_sum_exp(mixture_log_joint(mix, x));
}

VecD mixture_posterior(const IsotropicMixture& mix, const VecD& x) {
  const VecD a = mixture_log_joint(mix, x);
  return (a.array() - log_sum_exp(a)).exp().matrix();
}

double mixture_elbo(const IsotropicMixture& mix, const VecD& x, const VecD& q) {
  const VecD a = mixture_log_joint(mix, x);
  double s = 0.0;
  for (Index c = 0; c < q.size(); ++c)
    if (q(c) > 0) s += q(c) * (a(c) - std::log(q(c)));
  return s;
}

double kl_categorical(const VecD& q, const VecD& r) {
  double s = 0.0;
  for (Index c = 0; c < q.size(); ++c)
    if (q(c) > 0) s += q(c) * (std::log(q(c)) - std::log(r(c)));
  return s;
}

IsotropicMixture make_mixture(std::uint64_t seed) {
  Rng rng(seed, 3);
  IsotropicMixture mix;
  mix.weights = VecD(3);
  mix.weights << 0.5, 0.3, 0.2;
  mix.means = 1.5 * rng.normal_matrix<double>(4, 3);
  mix.variances = VecD(3);
  mix.variances << 1.0, 0.5, 2.0;
  return mix;
}

VecD random_categorical(Index C, std::uint64_t seed) {
  Rng rng(seed, 4);
  VecD q(C);
  for (Index c = 0; c < C; ++c) q(c) = rng.uniform(0.1, 1.0);
  return q / q.sum();
}

}  // namespace course::ch05
