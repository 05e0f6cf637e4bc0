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
double log_normal_density(const VecD& x, const VecD& mean, const MatD& cov);

// The evidence of the linear-Gaussian model (eq. 5.1): x = W z + mu + sigma eps_x is Gaussian with
// mean mu and covariance W W^T + sigma2 I, so log p(x) = log N(x; mu, W W^T + sigma2 I).
MatD marginal_covariance(const LinearGaussianModel& m);
double log_evidence(const LinearGaussianModel& m, const VecD& x);

// The exact posterior (eq. 5.1): p(z|x) = N(Sigma W^T (x - mu) / sigma2, Sigma) with
// Sigma = (I + W^T W / sigma2)^-1 (the prior's precision I plus the likelihood's W^T W / sigma2).
Gaussian exact_posterior(const LinearGaussianModel& m, const VecD& x);

// log p(x, z) = log N(x; W z + mu, sigma2 I) + log N(z; 0, I), written out (no exercise used).
double log_joint(const LinearGaussianModel& m, const VecD& x, const VecD& z);

// log N(z; g.mean, g.chol g.chol^T).
double log_density(const Gaussian& g, const VecD& z);

// KL(q || p) between Gaussians N(m0, Sigma0) and N(m1, Sigma1), Sigma = L L^T:
//   1/2 [ tr(Sigma1^-1 Sigma0) + (m1 - m0)^T Sigma1^-1 (m1 - m0) - k + log det Sigma1 - log det Sigma0 ],
// with tr(Sigma1^-1 Sigma0) = ||L1^-1 L0||_F^2 and (m1 - m0)^T Sigma1^-1 (m1 - m0) = ||L1^-1 (m1 - m0)||^2.
double kl_gaussians(const Gaussian& q, const Gaussian& p);

// The two terms of the ELBO (eq. 5.4), computed apart so the program can show them:
// E_q[log p(x|z)] = -d/2 log(2 pi sigma2) - (||x - mu - W m||^2 + tr(W Sigma_q W^T)) / (2 sigma2), Sigma_q = L L^T,
double expected_log_likelihood(const LinearGaussianModel& m, const VecD& x, const Gaussian& q);
// and KL(q || p(z)) = KL(q || N(0, I)).
Gaussian standard_normal(Index k);
double kl_to_prior(const Gaussian& q);

// log E_q[(p(z)/q(z))^2] for Gaussians p = N(a, A) and q = N(b, B). With P = 2A^-1 - B^-1
// (finite only when P is positive definite), h = 2A^-1 a - B^-1 b and c = 2a^T A^-1 a - b^T B^-1 b,
// completing the square in the integral of p^2 / q gives
//   E_q[(p/q)^2] = |A|^-1 |B|^(1/2) |P|^(-1/2) exp(h^T P^-1 h / 2 - c / 2).
// With p = p(z|x) it is E_q[(w / p(x))^2] of the importance weights (eq. 5.9), so
// Var[w / p(x)] = E - 1 and the gap log p(x) - L_M is about Var / (2M) for large M.
// Returns +infinity when P is not positive definite (the weights then have infinite variance).
double log_second_moment_of_ratio(const Gaussian& p, const Gaussian& q);

// log sum_i exp(a_i), stable.
double log_sum_exp(const VecD& a);

// ---------------------------------------------------------------------------------------------
// Fixed examples: a model, an observation, approximate posteriors
// ---------------------------------------------------------------------------------------------

// d = 6, k = 2, sigma2 = 0.5; W and mu are standard-normal draws from `seed`.
LinearGaussianModel make_model(std::uint64_t seed = 5);

// One draw x ~ p(x) = N(mu, W W^T + sigma2 I), by ancestral sampling z ~ p(z), x ~ p(x|z).
VecD sample_observation(const LinearGaussianModel& m, std::uint64_t seed);

// An arbitrary Gaussian on R^k near `centre`: mean centre + 0.3 N(0, I), a lower-triangular
// factor with diagonal in [0.15, 0.6] and 0.1 N(0, 1) entries below it. (Near the posterior, whose
// standard deviations are about 0.3 here, so the Monte Carlo checks have small standard errors;
// the identities hold for any q.)
Gaussian random_gaussian(const VecD& centre, std::uint64_t seed);

// q_t on the straight line from the prior (t = 0) to the exact posterior (t = 1), in the
// parameters of q: mean t m_post, Cholesky factor (1 - t) I + t L_post.
Gaussian interpolate_from_prior(const Gaussian& posterior, double t);

// A deliberately poor proposal for the importance-weighted bounds: the posterior's mean shifted by
// one posterior standard deviation along each axis, and its covariance doubled (so q is wider than
// the posterior in every direction, and the weights have finite variance).
Gaussian poor_proposal(const Gaussian& posterior);

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
VecD mixture_log_joint(const IsotropicMixture& mix, const VecD& x);
// log p(x) = log sum_c p(x, c)   (eq. 5.8)
double mixture_log_evidence(const IsotropicMixture& mix, const VecD& x);
// The exact posterior r_c = p(c|x) = p(x, c) / p(x) (the "responsibilities").
VecD mixture_posterior(const IsotropicMixture& mix, const VecD& x);
// ELBO(q) = sum_c q_c [log p(x, c) - log q_c]   (eq. 5.8)
double mixture_elbo(const IsotropicMixture& mix, const VecD& x, const VecD& q);
// KL(q || r) = sum_c q_c log(q_c / r_c) for categorical distributions.
double kl_categorical(const VecD& q, const VecD& r);

// Three components in d = 4, unequal weights and variances.
IsotropicMixture make_mixture(std::uint64_t seed = 9);

// A categorical distribution over C values drawn from `seed` (all entries positive).
VecD random_categorical(Index C, std::uint64_t seed);

}  // namespace course::ch05
