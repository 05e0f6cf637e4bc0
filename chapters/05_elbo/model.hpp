// Chapter 5's models, where every quantity of the ELBO is exact:
//   - the linear-Gaussian latent model (probabilistic PCA): its evidence log p(x), its exact
//     posterior p(z|x), and the KL divergence between two Gaussians, all in closed form;
//   - a mixture of isotropic Gaussians (a discrete latent), where every integral is a finite sum.
// The exercises (course/exercises/ch05_elbo.hpp) compute the ELBO; this file computes what the
// ELBO is compared with.
#pragma once

#include <cmath>
#include <numbers>
#include <vector>

#include "course/exercises/ch05_elbo.hpp"
#include "course/rng.hpp"

namespace course::ch05 {

inline const double kLog2Pi = std::log(2.0 * std::numbers::pi);

// log N(x; mean, cov) for a full covariance, through its Cholesky factor cov = C C^T:
//   -d/2 log(2 pi) - sum_i log C_ii - ||C^-1 (x - mean)||^2 / 2.
inline double log_normal_density(const VecD& x, const VecD& mean, const MatD& cov) {
  const Eigen::LLT<MatD> llt(cov);
  const VecD white = llt.matrixL().solve(x - mean);
  const MatD C = llt.matrixL();
  return -0.5 * double(x.size()) * kLog2Pi - C.diagonal().array().log().sum() - 0.5 * white.squaredNorm();
}

// The evidence of the linear-Gaussian model (eq. 5.1): x = W z + mu + sigma eps_x is Gaussian with
// mean mu and covariance W W^T + sigma2 I, so log p(x) = log N(x; mu, W W^T + sigma2 I).
inline MatD marginal_covariance(const LinearGaussianModel& m) {
  return m.W * m.W.transpose() + m.sigma2 * MatD::Identity(m.data_dim(), m.data_dim());
}
inline double log_evidence(const LinearGaussianModel& m, const VecD& x) {
  return log_normal_density(x, m.mu, marginal_covariance(m));
}

// The exact posterior (eq. 5.1): p(z|x) = N(Sigma W^T (x - mu) / sigma2, Sigma) with
// Sigma = (I + W^T W / sigma2)^-1 (the prior's precision I plus the likelihood's W^T W / sigma2).
inline Gaussian exact_posterior(const LinearGaussianModel& m, const VecD& x) {
  const Index k = m.latent_dim();
  const MatD precision = MatD::Identity(k, k) + m.W.transpose() * m.W / m.sigma2;
  const MatD Sigma = precision.llt().solve(MatD::Identity(k, k));
  Gaussian g;
  g.mean = Sigma * m.W.transpose() * (x - m.mu) / m.sigma2;
  g.chol = Sigma.llt().matrixL();
  return g;
}

// log p(x, z) = log N(x; W z + mu, sigma2 I) + log N(z; 0, I), written out (no exercise used).
inline double log_joint(const LinearGaussianModel& m, const VecD& x, const VecD& z) {
  const double d = double(m.data_dim()), k = double(m.latent_dim());
  return -(x - m.W * z - m.mu).squaredNorm() / (2.0 * m.sigma2) - 0.5 * d * std::log(2.0 * std::numbers::pi * m.sigma2) -
         0.5 * z.squaredNorm() - 0.5 * k * kLog2Pi;
}

// log N(z; g.mean, g.chol g.chol^T).
inline double log_density(const Gaussian& g, const VecD& z) {
  const VecD white = g.chol.triangularView<Eigen::Lower>().solve(z - g.mean);
  return -0.5 * double(z.size()) * kLog2Pi - g.chol.diagonal().array().log().sum() - 0.5 * white.squaredNorm();
}

// KL(q || p) between Gaussians N(m0, S0) and N(m1, S1), S = L L^T:
//   1/2 [ tr(S1^-1 S0) + (m1 - m0)^T S1^-1 (m1 - m0) - k + log det S1 - log det S0 ],
// with tr(S1^-1 S0) = ||L1^-1 L0||_F^2 and (m1 - m0)^T S1^-1 (m1 - m0) = ||L1^-1 (m1 - m0)||^2.
inline double kl_gaussians(const Gaussian& q, const Gaussian& p) {
  const auto L1 = p.chol.triangularView<Eigen::Lower>();
  const MatD A = L1.solve(q.chol);
  const VecD b = L1.solve(p.mean - q.mean);
  const double log_det_ratio = 2.0 * (p.chol.diagonal().array().log().sum() - q.chol.diagonal().array().log().sum());
  return 0.5 * (A.squaredNorm() + b.squaredNorm() - double(q.mean.size()) + log_det_ratio);
}

// The two terms of the ELBO (eq. 5.4), computed apart so the program can show them:
// E_q[log p(x|z)] = -d/2 log(2 pi sigma2) - (||x - mu - W m||^2 + tr(W S W^T)) / (2 sigma2),
inline double expected_log_likelihood(const LinearGaussianModel& m, const VecD& x, const Gaussian& q) {
  const double d = double(m.data_dim());
  return -0.5 * d * std::log(2.0 * std::numbers::pi * m.sigma2) -
         ((x - m.mu - m.W * q.mean).squaredNorm() + (m.W * q.chol).squaredNorm()) / (2.0 * m.sigma2);
}
// and KL(q || p(z)) = KL(q || N(0, I)).
inline Gaussian standard_normal(Index k) { return {VecD::Zero(k), MatD::Identity(k, k)}; }
inline double kl_to_prior(const Gaussian& q) { return kl_gaussians(q, standard_normal(q.mean.size())); }

// log E_q[(p(z)/q(z))^2] for Gaussians p = N(a, A) and q = N(b, B). With P = 2A^-1 - B^-1
// (finite only when P is positive definite), h = 2A^-1 a - B^-1 b and c = 2a^T A^-1 a - b^T B^-1 b,
// completing the square in the integral of p^2 / q gives
//   E_q[(p/q)^2] = |A|^-1 |B|^(1/2) |P|^(-1/2) exp(h^T P^-1 h / 2 - c / 2).
// With p = p(z|x) it is E_q[(w / p(x))^2] of the importance weights (eq. 5.9), so
// Var[w / p(x)] = E - 1 and the gap log p(x) - L_K is about Var / (2K) for large K.
// Returns +infinity when P is not positive definite (the weights then have infinite variance).
inline double log_second_moment_of_ratio(const Gaussian& p, const Gaussian& q) {
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

// log sum_i exp(a_i), stable.
inline double log_sum_exp(const VecD& a) {
  const double top = a.maxCoeff();
  return top + std::log((a.array() - top).exp().sum());
}

// ---------------------------------------------------------------------------------------------
// Fixed examples: a model, an observation, approximate posteriors
// ---------------------------------------------------------------------------------------------

// d = 6, k = 2, sigma2 = 0.5; W and mu are standard-normal draws from `seed`.
inline LinearGaussianModel make_model(std::uint64_t seed = 5) {
  Rng rng(seed);
  LinearGaussianModel m;
  m.W = rng.normal_matrix<double>(6, 2);
  m.mu = rng.normal_matrix<double>(6, 1);
  m.sigma2 = 0.5;
  return m;
}

// One draw x ~ p(x) = N(mu, W W^T + sigma2 I), by ancestral sampling z ~ p(z), x ~ p(x|z).
inline VecD sample_observation(const LinearGaussianModel& m, std::uint64_t seed) {
  Rng rng(seed, 1);
  const VecD z = rng.normal_matrix<double>(m.latent_dim(), 1);
  return m.W * z + m.mu + std::sqrt(m.sigma2) * rng.normal_matrix<double>(m.data_dim(), 1);
}

// An arbitrary Gaussian on R^k near `centre`: mean centre + 0.3 N(0, I), a lower-triangular
// factor with diagonal in [0.15, 0.6] and 0.1 N(0, 1) entries below it. (Near the posterior, whose
// standard deviations are about 0.3 here, so the Monte Carlo checks have small standard errors;
// the identities hold for any q.)
inline Gaussian random_gaussian(const VecD& centre, std::uint64_t seed) {
  Rng rng(seed, 2);
  const Index k = centre.size();
  Gaussian g{centre + 0.3 * rng.normal_matrix<double>(k, 1), MatD::Zero(k, k)};
  for (Index i = 0; i < k; ++i) {
    g.chol(i, i) = rng.uniform(0.15, 0.6);
    for (Index j = 0; j < i; ++j) g.chol(i, j) = 0.1 * rng.normal();
  }
  return g;
}

// q_t on the straight line from the prior (t = 0) to the exact posterior (t = 1), in the
// parameters of q: mean t m_post, Cholesky factor (1 - t) I + t L_post.
inline Gaussian interpolate_from_prior(const Gaussian& posterior, double t) {
  const Index k = posterior.mean.size();
  return {t * posterior.mean, (1.0 - t) * MatD::Identity(k, k) + t * posterior.chol};
}

// A deliberately poor proposal for the importance-weighted bounds: the posterior's mean shifted by
// one posterior standard deviation along each axis, and its covariance doubled (so q is wider than
// the posterior in every direction, and the weights have finite variance).
inline Gaussian poor_proposal(const Gaussian& posterior) {
  Gaussian q = posterior;
  q.mean += posterior.chol * VecD::Ones(posterior.mean.size());
  q.chol *= std::sqrt(2.0);
  return q;
}

// ---------------------------------------------------------------------------------------------
// A discrete latent: a mixture of isotropic Gaussians
//   p(c) = pi_c,  p(x|c) = N(x; mean_c, var_c I),  c = 0..C-1.
// ---------------------------------------------------------------------------------------------
struct IsotropicMixture {
  VecD weights;    // C, positive, summing to 1
  MatD means;      // d x C
  VecD variances;  // C
  Index components() const { return weights.size(); }
};

// log p(x, c) for every c, with log p(x|c) from exercise 5.1.
inline VecD mixture_log_joint(const IsotropicMixture& mix, const VecD& x) {
  VecD a(mix.components());
  for (Index c = 0; c < a.size(); ++c)
    a(c) = std::log(mix.weights(c)) + gaussian_decoder_log_likelihood(x, mix.means.col(c), mix.variances(c));
  return a;
}
// log p(x) = log sum_c p(x, c)   (eq. 5.8)
inline double mixture_log_evidence(const IsotropicMixture& mix, const VecD& x) {
  return log_sum_exp(mixture_log_joint(mix, x));
}
// The exact posterior r_c = p(c|x) = p(x, c) / p(x) (the "responsibilities").
inline VecD mixture_posterior(const IsotropicMixture& mix, const VecD& x) {
  const VecD a = mixture_log_joint(mix, x);
  return (a.array() - log_sum_exp(a)).exp().matrix();
}
// ELBO(q) = sum_c q_c [log p(x, c) - log q_c]   (eq. 5.8)
inline double mixture_elbo(const IsotropicMixture& mix, const VecD& x, const VecD& q) {
  const VecD a = mixture_log_joint(mix, x);
  double s = 0.0;
  for (Index c = 0; c < q.size(); ++c)
    if (q(c) > 0) s += q(c) * (a(c) - std::log(q(c)));
  return s;
}
// KL(q || r) = sum_c q_c log(q_c / r_c) for categorical distributions.
inline double kl_categorical(const VecD& q, const VecD& r) {
  double s = 0.0;
  for (Index c = 0; c < q.size(); ++c)
    if (q(c) > 0) s += q(c) * (std::log(q(c)) - std::log(r(c)));
  return s;
}

// Three components in d = 4, unequal weights and variances.
inline IsotropicMixture make_mixture(std::uint64_t seed = 9) {
  Rng rng(seed, 3);
  IsotropicMixture mix;
  mix.weights = VecD(3);
  mix.weights << 0.5, 0.3, 0.2;
  mix.means = 1.5 * rng.normal_matrix<double>(4, 3);
  mix.variances = VecD(3);
  mix.variances << 1.0, 0.5, 2.0;
  return mix;
}

// A categorical distribution over C values drawn from `seed` (all entries positive).
inline VecD random_categorical(Index C, std::uint64_t seed) {
  Rng rng(seed, 4);
  VecD q(C);
  for (Index c = 0; c < C; ++c) q(c) = rng.uniform(0.1, 1.0);
  return q / q.sum();
}

}  // namespace course::ch05
