// Chapter 5's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch05 asserts each one (and that each rejects the
// likely wrong formula named beside it).
//
// A Monte Carlo check first calls its exercise once outside the parallel region, so that an
// unimplemented exercise throws there (an exception must not escape an OpenMP region).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "05_elbo/model.hpp"
#include "course/check.hpp"

namespace course::ch05 {

// The tractable problem every check uses: the model, one observation, its exact evidence and
// posterior, and three arbitrary Gaussians q (near the posterior, not equal to it).
struct Setup {
  LinearGaussianModel model;
  VecD x;
  Gaussian posterior;
  double log_px = 0.0;
  std::vector<Gaussian> arbitrary;
};

Setup make_setup(std::uint64_t seed = 1);

// ---- (5.1) the exact evidence and posterior ------------------------------------------------
// Bayes' rule, log p(x) = log p(x, z) - log p(z|x), holds at every z; five arbitrary z are tried
// and the worst one reported. Wrong formulas it rejects: the posterior covariance without the
// prior's I, (W^T W / sigma2)^-1; the evidence with sigma instead of sigma2 in W W^T + sigma2 I.
CheckRow check_eq_5_1_bayes_rule(const LinearGaussianModel& m, const VecD& x, const Gaussian& posterior,
                                        double log_px);

// ---- (5.2) log p(x) = ELBO(q) + KL(q || p(z|x)) ----------------------------------------------
// Wrong formulas it rejects: the KL the wrong way round, KL(p(z|x) || q); an ELBO whose prior KL
// has the wrong sign (+KL(q || p(z))).
CheckRow check_eq_5_2_decomposition(const Setup& s, const Gaussian& q, const std::string& which);

// ---- (5.3) ELBO <= log p(x), with equality exactly at q = p(z|x) -----------------------------
CheckRow check_eq_5_3_bound(const Setup& s, const Gaussian& q, const std::string& which);
CheckRow check_eq_5_3_equality_at_posterior(const Setup& s);

// ---- (5.4) and (5.7): the closed form against the reparameterised Monte Carlo estimate ---------
// One draw of the estimator (exercise 5.4 with N = 1).
McEstimate estimate_elbo(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed);
// E_q[log p(x, z) - log q(z)] sampled (5.7) = E_q[log p(x|z)] - KL(q || p(z)) in closed form (5.4).
// Wrong formulas it rejects: the closed form without tr(W Sigma_q W^T) / (2 sigma2) (the decoder
// evaluated at the mean only); log det Sigma_q taken as sum log L_ii (log sigma for log sigma^2).
CheckRow check_eq_5_4_closed_form_vs_monte_carlo(const Setup& s, const Gaussian& q, Index n,
                                                        std::uint64_t seed);
// The reconstruction term alone: E_q[log p(x|z)] (closed form, the chapter's) vs the mean of
// exercise 5.1 at z = m + L eps.
CheckRow check_eq_5_4_reconstruction_term(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed);
// (5.7) The estimator is unbiased for any N: the mean of N = 16-sample estimates is the ELBO too.
CheckRow check_eq_5_7_unbiased_for_any_sample_count(const Setup& s, const Gaussian& q, Index n,
                                                          std::uint64_t seed);

// ---- (5.5) the Gaussian decoder's log-likelihood --------------------------------------------
// Against the sum of d one-dimensional log-densities, each the log of exp(-r^2/(2 s2)) / sqrt(2 pi s2).
// Wrong formulas it rejects: sigma for sigma2 in the log; a missing 1/2 in the squared error.
double log_of_product_of_normal_densities(const VecD& x, const VecD& x_mean, double sigma2);
CheckRow check_eq_5_5_gaussian_decoder(const VecD& x, const VecD& x_mean, double sigma2);

// ---- (5.6) the Bernoulli decoder's log-likelihood is minus the binary cross-entropy -----------
// Against sum_j log(p_j^x_j (1 - p_j)^(1 - x_j)) for binary x. Wrong formulas it rejects: p and
// 1 - p swapped; the BCE itself (the sign).
double log_of_product_of_bernoullis(const VecD& x, const VecD& p);
CheckRow check_eq_5_6_bernoulli_decoder(const VecD& x, const VecD& p, const std::string& what);

// ---- (5.8) a discrete latent: the same identity by exact sums --------------------------------
// Wrong formulas it rejects: KL(r || q) for KL(q || r); an ELBO without the entropy -sum q log q.
VecD mixture_observation(const IsotropicMixture& mix);
CheckRow check_eq_5_8_mixture_decomposition(const IsotropicMixture& mix, const VecD& x, const VecD& q);
CheckRow check_eq_5_8_mixture_bound(const IsotropicMixture& mix, const VecD& x, const VecD& q);
CheckRow check_eq_5_8_mixture_equality(const IsotropicMixture& mix, const VecD& x);
// The three rows above compare quantities computed from one log joint, so a log joint without
// log pi_c (or with a wrong normaliser) passes them all. This row checks the evidence against
// an independent sum of densities, log sum_c pi_c prod_i N(x_i; m_ci, v_c), written out here;
// `log_evidence` defaults to mixture_log_evidence. The test mixture has unequal weights and
// variances: with equal ones a missing log pi_c or log v_c term would cancel.
CheckRow check_eq_5_8_mixture_evidence_by_direct_sum(
    const IsotropicMixture& mix, const VecD& x,
    const std::function<double(const IsotropicMixture&, const VecD&)>& log_evidence = mixture_log_evidence);

// ---- (5.9) importance-weighted bounds ------------------------------------------------------
// Draws of L_M (exercise 5.5), n of them.
McEstimate estimate_iw_bound(const Setup& s, const Gaussian& q, Index M, Index n, std::uint64_t seed);
// L_1 = ELBO. Wrong formula it rejects: none of its own (it is the ELBO); it ties 5.5 to 5.3.
CheckRow check_eq_5_9_one_sample_is_the_elbo(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed);
// L_M <= log p(x): the lower end of the interval for E[L_M] lies below log p(x).
// Wrong formula it rejects: a missing 1/M (log sum w_i = L_M + log M).
CheckRow check_eq_5_9_below_evidence(const Setup& s, const Gaussian& q, Index M, Index n, std::uint64_t seed);
// The paired difference L_2M - L_M: draw 2M samples, D = L_2M(all) - (L_M(first half) + L_M(second half)) / 2,
// whose mean is E[L_2M] - E[L_M] > 0. Passes when every lower confidence limit mean - z SE is above
// zero (z Bonferroni-corrected over the |Ms| differences at alpha = 1e-6). The error is the smallest
// mean / SE. Wrong formula it rejects: the mean of the log-weights (every L_M equals the ELBO, D = 0).
struct IncreaseEstimate {
  std::vector<double> M, mean, se;
};
IncreaseEstimate estimate_increase(const Setup& s, const Gaussian& q, const std::vector<Index>& Ms, Index n,
                                          std::uint64_t seed);
CheckRow check_eq_5_9_increasing(const IncreaseEstimate& inc);
// log-sum-exp: a far-away x (every log w_i near -1e5, where exp underflows) still gives the
// stable value, computed here from log_joint and log_density. Wrong formula it rejects: the naive
// log(mean(exp(log w))) = -inf.
CheckRow check_eq_5_9_underflow(const Setup& s);

// The variance behind the 1/M rate: E_q[(w/p(x))^2] = E_q[(p(z|x)/q(z))^2] in closed form against
// its Monte Carlo mean. Wrong formula it rejects: 1 (the first moment, E_q[w/p(x)] = 1).
McEstimate estimate_weight_second_moment(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed);
CheckRow check_eq_5_9_weight_second_moment(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed);

// ---- (5.10) at the exact posterior every importance weight is p(x) ----------------------------
// Each of n draws of L_M (exercise 5.5) against log p(x); the worst is reported. Wrong formula it
// rejects: a q with the posterior's mean but the prior's covariance (the weights then vary).
CheckRow check_eq_5_10_zero_variance(const Setup& s, const Gaussian& q, Index M, Index n,
                                            const std::string& which = "q = p(z|x)");

}  // namespace course::ch05
