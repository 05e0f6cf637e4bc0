// Chapter 14's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch14 asserts each one (and that each rejects the
// likely wrong formula named beside it). Exercise functions enter as default arguments, so a test
// can pass a planted wrong formula in their place.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "14_diffusion/diffusion.hpp"
#include "course/check.hpp"
#include "course/exercises/ch06_gaussian_kl.hpp"

namespace course::ch14 {

using ScheduleFn = std::function<NoiseSchedule(const VecD&)>;
using QSampleFn = std::function<MatD(const MatD&, double, const MatD&)>;
using PosteriorFn = std::function<PosteriorCoefficients(const NoiseSchedule&, int)>;
using MeanFn = std::function<MatD(const MatD&, const MatD&, const NoiseSchedule&, int)>;
using ScoreFn = std::function<MatD(const MatD&, double)>;
using KlFn = std::function<double(const VecD&, const MatD&, const VecD&, const MatD&)>;

// ---- (14.1) one forward step ------------------------------------------------------------------

// From x_{t-1} = (1.1, -0.6) with beta = 0.3: E[x_t] = sqrt(0.7) x_{t-1}, Var = 0.3 per coordinate
// (Monte Carlo, 4 entries, Bonferroni false-failure rate 1e-6).
// Wrong formulas it rejects: the lecture's eq. 15 mean alpha_t x; noise beta xi for sqrt(beta) xi.
CheckRow check_eq_14_1_forward_step(const ForwardStepFn& step = forward_step, Index n = 200000,
                                    std::uint64_t seed = 141);

// ---- (14.2) the variance is preserved ---------------------------------------------------------

// x_0 uniform on [-sqrt 3, sqrt 3]^2 (variance 1, not Gaussian), run through T = 250 steps of the
// chapter's schedule: E[x_t^2] = alpha_bar_t + (1 - alpha_bar_t) = 1 at t = 25, 125, 250, both
// coordinates (6 entries, 20,000 chains, Bonferroni 1e-6).
// Wrong formula it rejects: the lecture's eq. 15 chain x_t = alpha_t x_{t-1} + sqrt(beta_t) xi, whose
// variance tends to beta / (1 - alpha^2) ~ 1/2.
CheckRow check_eq_14_2_variance_preserved(const ForwardStepFn& step = forward_step, Index chains = 20000,
                                          std::uint64_t seed = 142);
// The variance of x_t along the chain from that x_0, for the figure (sample variance per t).
std::vector<double> chain_variance(const ForwardStepFn& step, Index chains, std::uint64_t seed);

// ---- (14.3) q(x_t | x_0) in closed form ---------------------------------------------------------

// From x_0 = (1.2, -0.7), t steps of the chain have mean sqrt(alpha_bar_t) x_0 and variance
// 1 - alpha_bar_t at t = 10, 60, 250 (12 entries, 20,000 chains, Bonferroni 1e-6), alpha_bar from
// exercise 14.1, the moments from exercise 14.3 (mean q_sample(x_0, ab, 0), sd q_sample(0, ab, 1)).
// Wrong formulas it rejects: alpha_bar_t = 1 - sum beta_s; alpha_bar_t for sqrt(alpha_bar_t) in the
// mean; 1 - alpha_bar_t as the standard deviation.
CheckRow check_eq_14_3_marginal_vs_chain(const ScheduleFn& schedule = make_schedule, const QSampleFn& q = q_sample,
                                         Index chains = 20000, std::uint64_t seed = 143);
// Chapman-Kolmogorov in 1-D: the integral over x_{t-1} of q(x_t | x_{t-1}) q(x_{t-1} | x_0) is the
// density of q(x_t | x_0) at x_t (quadrature, 1e-10), at t = 2, 30, 125, 250, x_0 = 0.9 and x_t 0.8
// standard deviations below its mean (where the densities are of order 1, not underflowed).
CheckRow check_eq_14_3_chapman_kolmogorov(const QSampleFn& q = q_sample);

// ---- (14.4) the posterior q(x_{t-1} | x_t, x_0) ----------------------------------------------

// Bayes' rule in 1-D: normaliser, mean and variance of q(x_t | x_{t-1}) q(x_{t-1} | x_0) over
// x_{t-1} by quadrature, against exercise 14.4's coefficients (1e-10), at t = 2, 30, 125, 250; x_t is
// `deviation` standard deviations of q(x_t | x_0) from its mean.
// Wrong formulas it rejects: beta_t as the posterior variance; alpha_t for sqrt(alpha_t) in the x_t
// coefficient; alpha_bar_{t-1} for its square root in the x_0 coefficient.
CheckRow check_eq_14_4_posterior_vs_bayes(const PosteriorFn& posterior = posterior_coefficients,
                                          double x0 = 0.9, double deviation = -0.8);

// ---- (14.5) the ELBO as a sum of Gaussian KLs ---------------------------------------------------

// A tiny instance: 1-D, T = 4, a fixed x_0 and a reverse model p(x_{t-1} | x_t) = N(a_t x_t + b_t, v_t)
// (t = 1..4), p(x_4) = N(0, 1).
struct TinyChain {
  NoiseSchedule s;
  double x0 = 0.8;
  VecD a, b, v;
};
TinyChain tiny_chain();

// The terms of -ELBO = L_T + sum_{t=2}^T L_{t-1} + L_0 in closed form, in the order
// (L_0, L_1, ..., L_T): L_T = KL(q(x_T | x_0) || N(0, 1)); L_{t-1} = E_{q(x_t | x_0)} KL(q(x_{t-1} | x_t, x_0) ||
// p(x_{t-1} | x_t)), each KL by chapter 6's kl_gaussian and the expectation by quadrature;
// L_0 = -E_{q(x_1 | x_0)} log p(x_0 | x_1).
VecD elbo_terms(const TinyChain& c, const PosteriorFn& posterior = posterior_coefficients,
                const KlFn& kl = ch06::kl_gaussian);

// Monte Carlo over forward paths x_{1:T} ~ q(. | x_0): the samples of each term's log-ratio and, last,
// the ELBO's own definition log q(x_{1:T} | x_0) - log p(x_{0:T}) with q factored FORWARD
// (prod_t q(x_t | x_{t-1})), which does not use the posterior.
McVecEstimate elbo_terms_monte_carlo(const TinyChain& c, Index n, std::uint64_t seed,
                                     const PosteriorFn& posterior = posterior_coefficients);

// Each closed-form term against its Monte Carlo mean, and their sum against the forward definition
// (T + 2 entries, Bonferroni 1e-6). `terms` is elbo_terms' output (a test plants wrong ones).
// Wrong formulas it rejects: a KL without its 1/2; L_T left out of the sum; beta_t for the
// posterior variance.
CheckRow check_eq_14_5_elbo_terms(const TinyChain& c, const VecD& terms, const McVecEstimate& mc);

// Per path, exactly: log q(x_{1:T} | x_0) factored forward = log q(x_T | x_0) +
// sum_{t=2}^T log q(x_{t-1} | x_t, x_0) (Bayes), the step that turns the ELBO into KLs; the largest
// difference over 200 paths (1e-10). Wrong formula it rejects: beta_t as the posterior variance.
CheckRow check_eq_14_5_factorisation(const TinyChain& c, const PosteriorFn& posterior = posterior_coefficients);

// ---- (14.6) the noise parameterisation ----------------------------------------------------------

// With x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps, the posterior mean of exercise 14.4 equals
// mean_from_eps(x_t, eps) (exercise 14.5), at t = 2, 50, 250 and 5 random (x_0, eps) in 2-D (1e-10).
// Wrong formulas it rejects: beta_t / (1 - alpha_bar_t) for beta_t / sqrt(1 - alpha_bar_t); a missing
// 1 / sqrt(alpha_t).
CheckRow check_eq_14_6_mean_from_eps(const MeanFn& mean = mean_from_eps,
                                     const PosteriorFn& posterior = posterior_coefficients);

// KL(q(x_{t-1} | x_t, x_0) || N(mean_from_eps(x_t, eps_hat), beta~_t I)) = w_t ||eps - eps_hat||^2 with
// w_t = beta_t^2 / (2 beta~_t alpha_t (1 - alpha_bar_t)) (chapter 6's kl_gaussian, 1e-10). `weight`
// = w_t / (the derived w_t) lets a test plant a wrong weight (a missing 1/2 is weight 2).
CheckRow check_eq_14_6_kl_is_weighted_noise_error(double weight = 1.0, const MeanFn& mean = mean_from_eps,
                                                  const KlFn& kl = ch06::kl_gaussian);
// w_t for the schedule (the weight the simplified loss drops).
double eps_loss_weight(const NoiseSchedule& s, int t);

// ---- (14.7) Tweedie: the noise predictor is the score --------------------------------------------

// For the chapter's mixture, score_from_eps(eps*(x), ab) (exercise 14.6 on the exact optimal predictor,
// from chapter 3's posterior mean) equals grad log q_t(x) (chapter 3's smoothed-mixture score), at
// t = 5, 50, 250 and six points (1e-10).
// Wrong formulas it rejects: dividing by 1 - alpha_bar_t; a flipped sign; the data's score grad log q_0
// in place of q_t's.
MatD tweedie_points();
CheckRow check_eq_14_7_tweedie(const ScoreFn& score = score_from_eps, bool clean_score = false);

// A learned noise predictor estimates the score: over 2,000 points from q_t, the mean cosine between
// score_from_eps(eps_hat) and the exact score is at least 0.9. Predictors it rejects: the best
// linear one (the data's Gaussian fit N(0, I), eps = sqrt(1 - ab) x), whose field points to the origin.
inline constexpr double kCosineBound = 0.9;
CheckRow check_eq_14_7_learned_score(const EpsFn& eps, int t, const std::string& what, std::uint64_t seed = 147);

// ---- (14.8) sampling: the reverse chain -------------------------------------------------------

// 4,000 samples of the reverse chain against 4,000 fresh data points: the MMD two-sample test
// (Gaussian kernel h = 0.25) accepts at level 1e-6 (course/two_sample.hpp).
inline constexpr double kMmdBandwidth = 0.25;
inline constexpr Index kMmdSamples = 4000;
CheckRow check_eq_14_8_samples(const MatD& samples, const std::string& what, std::uint64_t seed = 148);
// The radii |x| of the samples against the exact radial CDF of the data (each component is at radius
// 1.4 with variance 0.02 per coordinate, so |x| has the Rice distribution): the Kolmogorov-Smirnov
// statistic D_n below the DKW critical value at false-failure rate 1e-6 (chapter 7's test). Far more
// sensitive than the MMD bound to a ring of the wrong radius or width.
double data_radius_cdf(double r);
CheckRow check_eq_14_8_radii(const MatD& samples, const std::string& what);
// The chain run with the exact noise predictor of the mixture (the sampler alone, no training).
// Wrong formulas it rejects: the lecture's alpha_t for sqrt(alpha_t) in the reverse mean; beta~_t for
// sqrt(beta~_t) as the noise scale; no reverse chain at all (x_T ~ N(0, I), the data's Gaussian fit).
MatD exact_samples(std::uint64_t seed, const ReverseStepFn& step = reverse_step, Index n = kMmdSamples);

}  // namespace course::ch14
