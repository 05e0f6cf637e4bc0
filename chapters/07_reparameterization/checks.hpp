// Chapter 7's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch07 asserts each one, and that each rejects the
// likely wrong formula named beside it (the function under test is a parameter, so a test can
// plant the wrong one). Every Monte Carlo row uses a fixed seed and a false-failure rate <= 1e-6.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "07_reparameterization/toy.hpp"
#include "course/check.hpp"

namespace course::ch07 {

// The false-failure rate of every statistical row of this chapter.
inline constexpr double kAlpha = 1e-6;

using Sampler = std::function<VecD(const VecD& mu, const VecD& log_var, const VecD& eps)>;
using SgdStep = std::function<VecD(const VecD& mu, const VecD& c, const MatD& eps, double lr)>;

// The Gaussian of the sampling checks: three coordinates with sigma = 0.5, 1.5, 3, so that
// sigma, sigma^2 and exp(log sigma^2) all differ.
struct SamplingCase {
  VecD mu, sigma, log_var;
};
SamplingCase sampling_case();

// A point of the toy problem away from the optimum with unequal sigmas (for eqs. 7.2-7.6).
struct ToyPoint {
  VecD mu, sigma, c;
};
ToyPoint general_point();
// The lecture's setting, sigma = 1, at a given mu (for eq. 7.7).
ToyPoint lecture_point(double mu0, double mu1);

// ---- 7.1 reparameterised sampling -------------------------------------------------------------

// (7.1) The moments of z = mu + sigma * eps: E z_i = mu_i, E (z_i - mu_i)^2 = sigma_i^2 and
// E (z_i - mu_i)(z_j - mu_j) = 0, nine entries at once (Bonferroni, 1e-6 for the row).
// Wrong formulas it rejects: exp(log_var) * eps (sigma^2 for sigma), sigma^2 in place of sigma.
CheckRow check_eq_7_1_moments(const Sampler& sample = reparameterize, Index n = Index(1) << 18,
                                     std::uint64_t seed = 71);

// Phi, the standard normal CDF.
double normal_cdf(double x);

// The Kolmogorov-Smirnov statistic D_n = sup_x |F_n(x) - F(x)| of a sample against a CDF.
double ks_statistic(std::vector<double> x, const std::function<double(double)>& cdf);

// The critical value of D_n at false-failure rate alpha from the Dvoretzky-Kiefer-Wolfowitz
// inequality with Massart's constant, P(D_n > t) <= 2 exp(-2 n t^2), valid for every n:
// t = sqrt(ln(2 / alpha) / (2 n)). (It is also the leading term of Kolmogorov's limit law.)
double ks_critical_value(Index n, double alpha);

// (7.1) Goodness of fit: each coordinate of z against the CDF of N(mu_i, sigma_i^2), a KS test per
// coordinate at alpha / 3 (Bonferroni: 1e-6 for the row).
// Wrong formulas it rejects: exp(log_var) * eps, sigma^2 * eps.
CheckRow check_eq_7_1_goodness_of_fit(const Sampler& sample = reparameterize, Index n = Index(1) << 17,
                                             std::uint64_t seed = 72);

// ---- 7.2-7.3 the toy loss and its gradient ------------------------------------------------------

// (7.2) The toy loss in closed form against a Monte Carlo average of ||mu + sigma eps - c||^2.
// Wrong formulas it rejects: a missing ||sigma||^2 (the noise's own contribution), sum sigma_i.
CheckRow check_eq_7_2_loss(const std::function<double(const VecD&, const VecD&, const VecD&)>& loss = toy_loss,
                                  Index n = Index(1) << 18, std::uint64_t seed = 73);

// (7.3) grad L = 2 (mu - c) against central differences of the closed form (7.2).
// Wrong formulas it rejects: (mu - c) (a missing 2), 2 (c - mu) (a flipped sign).
CheckRow check_eq_7_3_gradient(const std::function<VecD(const VecD&, const VecD&)>& grad = toy_gradient);

// ---- 7.4-7.5 the two estimators -----------------------------------------------------------------

// A fixed noise draw at which the estimators are differentiated.
VecD fixed_eps();

// (7.4) The pathwise estimator is the mu-gradient of the sampled loss ||mu + sigma eps - c||^2 at
// fixed eps, against central differences. Wrong formulas: a missing 2, a flipped sign.
CheckRow check_eq_7_4_pathwise_is_the_path_derivative(const Estimator& g = pathwise_estimator());

// The mean of an estimator over n draws against grad L = 2 (mu - c), both coordinates (1e-6).
CheckRow check_unbiased(const std::string& id, const std::string& claim, const Estimator& g,
                               const ToyPoint& p, Index n, std::uint64_t seed);

// (7.4) E[pathwise] = grad L. Wrong formulas: a missing 2, a flipped sign.
CheckRow check_eq_7_4_pathwise_unbiased(const Estimator& g = pathwise_estimator(), Index n = Index(1) << 18,
                                               std::uint64_t seed = 74);

// (7.5) The score-function estimator at fixed x is the mu-gradient of f(x) log N(x; mu, sigma^2),
// against central differences. Wrong formulas: a score (x - mu) / sigma, a flipped sign (mu - x).
CheckRow check_eq_7_5_score_is_f_times_grad_log_density(
    const std::function<VecD(const VecD&, const VecD&, const VecD&, const VecD&)>& g = score_function_gradient);

// (7.5) E[score function] = grad L. Wrong formulas: (x - mu) / sigma (biased for sigma != 1), a sign.
CheckRow check_eq_7_5_score_unbiased(const Estimator& g = score_function_estimator(), Index n = Index(1) << 20,
                                            std::uint64_t seed = 75);

// ---- 7.6-7.8 their variances --------------------------------------------------------------------

// The measured per-coordinate variance of the average of `batch` draws against `formula`, with the
// mean of the squared deviations from 2 (mu - c) as the estimate and its standard error (CLT).
CheckRow check_variance(const std::string& id, const std::string& claim, const Estimator& g,
                               const ToyPoint& p, const VecD& formula, Index n, std::uint64_t seed, Index batch = 1);

// (7.6) Var[pathwise_i] = 4 sigma_i^2. Wrong formulas: 4 sigma_i (sigma for sigma^2), 2 sigma_i^2
// (Var[2X] = 2 Var X), and the estimator 2 (mu - c) that drops eps (variance 0).
CheckRow check_eq_7_6_pathwise_variance(const Estimator& g = pathwise_estimator(),
                                               const std::function<VecD(const VecD&)>& formula = pathwise_variance,
                                               Index n = Index(1) << 18, std::uint64_t seed = 76);

// (7.7) Var[score function_i] for sigma = 1 at mu: eq. 7.7. Checked at the lecture's start
// mu = (0, 0), where the ||a||^4 term dominates, and near the target, where the constants
// (E eps^4 = 3, E eps^6 = 15) do. Wrong formulas: moments E eps^4 = E eps^6 = 1, the
// one-dimensional formula (no other coordinates), the second moment instead of the variance.
CheckRow check_eq_7_7_score_variance(const ToyPoint& p, const McVecEstimate& estimate,
                                            const std::function<VecD(const VecD&)>& formula);
// The measurement behind it (one Monte Carlo run, which the tests compare with several formulas).
McVecEstimate score_variance_estimate(const ToyPoint& p, const Estimator& g = score_function_estimator(),
                                             Index n = Index(1) << 21, std::uint64_t seed = 77);
CheckRow check_eq_7_7_score_variance(const ToyPoint& p, Index n = Index(1) << 21);

// (7.8) The average of N independent draws has variance Var / N (here N = 16, at the lecture's
// start, for both estimators). Wrong formula: Var / sqrt(N).
CheckRow check_eq_7_8_average(bool score, Index batch = 16,
                                     const std::function<VecD(const VecD&, Index)>& formula = {},
                                     Index n = Index(1) << 16, std::uint64_t seed = 78);

// ---- 7.9 SGD with pathwise gradients --------------------------------------------------------------

// R independent SGD runs of T steps from mu0 (parallel, thread-count independent); entries 0..d-1
// are e_T,i - m_T,i and d..2d-1 their squares, where m_T is the predicted mean (7.9).
McVecEstimate sgd_final_errors(const SgdStep& step, const VecD& mu0, const SgdSetting& s, Index runs,
                                      std::uint64_t seed);

// (7.9) The error after T steps has mean (1 - 2 lr)^T e_0 and variance lr / (N (1 - lr)) (1 -
// (1 - 2 lr)^(2T)), over 2^15 runs (1e-6). Wrong formulas: a summed (not averaged) batch
// gradient, an ascent step, and the variance lr / N without the 1 / (1 - lr).
inline const SgdSetting kSgdNoiseSetting{0.1, 4, 100};
McVecEstimate sgd_noise_estimate(const SgdStep& step = sgd_step, Index runs = Index(1) << 15,
                                        std::uint64_t seed = 79);
CheckRow check_eq_7_9_sgd_noise(const McVecEstimate& estimate,
                                       const std::function<double(const SgdSetting&)>& variance = sgd_error_variance);
CheckRow check_eq_7_9_sgd_noise(const SgdStep& step = sgd_step, Index runs = Index(1) << 15);

// (7.9) The same after only T = 5 steps (lr = 0.1, N = 4) from e_0 = -(5, 5), where the mean
// (1 - 2 lr)^T e_0 = -(1.64, 1.64) dominates: after T = 100 it is 1e-9 and no wrong mean formula
// shows. Entries: e_T,i (truth m_T,i) and (e_T,i - m_T,i)^2 (truth v_T). `mean` defaults to
// sgd_error_mean. Wrong: (1 - lr)^T for (1 - 2 lr)^T.
inline const SgdSetting kSgdTransientSetting{0.1, 4, 5};
CheckRow check_eq_7_9_sgd_transient(
    const std::function<VecD(const VecD&, const SgdSetting&)>& mean = sgd_error_mean,
    const SgdStep& step = sgd_step, Index runs = Index(1) << 14, std::uint64_t seed = 792);

// The SGD driver of the chapter's figures (run_sgd with the pathwise estimator) takes exactly the
// steps of exercise 7.4 on the same noise: their final mu agree to 1e-12 after 20 steps.
// Wrong: a driver that sums the N gradients instead of averaging them.
CheckRow check_eq_7_9_sgd_driver(const Estimator& g = pathwise_estimator(), const SgdStep& step = sgd_step);

// (7.9) One SGD run from mu0 = (0, 0) (lr = 0.1, N = 4, T = 100) ends within z sqrt(v_T) of the
// predicted mean in each coordinate; e_T is exactly Gaussian, so with the Bonferroni z for two
// coordinates the false-failure rate is exactly 1e-6. Wrong: the start point, an ascent step.
CheckRow check_eq_7_9_sgd_converges(const SgdStep& step = sgd_step, std::uint64_t seed = 791,
                                           int steps = 100);

// Every check of the chapter, in the order of the doc. `quick` (the program's --quick) draws 8
// times fewer samples: the false-failure rates stay the same, only the power to reject drops.
std::vector<CheckRow> all_checks(bool quick = false);

}  // namespace course::ch07
