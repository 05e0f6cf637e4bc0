// Chapter 3's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch03 asserts each one (and that each rejects the
// likely wrong formula named beside it). The exercise a check exercises is a defaulted parameter,
// so a test can plant a wrong formula in its place.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "03_denoising_ae/dae.hpp"
#include "course/check.hpp"

namespace course::ch03 {

using CorruptFn = std::function<MatD(const MatD&, double, Rng&)>;
using LossFn = std::function<DaeLoss(const MatD&, const MatD&, const MatD&)>;
using WeightsFn = std::function<MatD(const MatD&, double)>;

// Monte Carlo runs the sampler on several threads, where an exception would abort the program.
// Calling the exercise once here first lets a stub's NotImplemented surface in this thread.
void probe(const CorruptFn& corrupt, const MatD& X);

// =============================================================================================
// The linear problem: d = 5 centred samples with a known spectrum, Gaussian noise sigma = 0.5
// =============================================================================================
struct LinearProblem {
  MatD X;          // d x n, centred
  MatD S;          // X X^T / n, the second-moment (covariance) matrix
  double sigma = 0.5;
  MatD W;          // a fixed random d x d map at which loss identities are checked
  MatD T;          // d x n random regression targets (eq. 3.3 holds for any target)
};

LinearProblem make_linear_problem(std::uint64_t seed = 1, Index n = 100);

// (3.1) Corruption moments. Gaussian: E x~ = x, E (x~ - x)^2 = sigma^2 per entry. Masking (drop
// probability nu): E x~ = (1 - nu) x, E (x~ - (1 - nu) x)^2 = nu (1 - nu) x^2. One Monte Carlo row
// over both moments of every entry (Bonferroni, false-failure rate 1e-6 for the row).
// Wrong formulas rejected: noise of standard deviation sigma^2 (variance sigma^4); keeping entries with
// probability nu; rescaling the kept entries by 1 / (1 - nu) (inverted dropout is not the DAE's mask).
MatD moment_point();
CheckRow check_eq_3_1_gaussian_moments(double sigma = 0.5, const CorruptFn& corrupt = gaussian_corruption,
                                              Index samples = 100000);
CheckRow check_eq_3_1_masking_moments(double nu = 0.3, const CorruptFn& corrupt = masking_corruption,
                                             Index samples = 100000);

// (3.2) The gradient of the denoising loss against central differences, at a fixed noisy input.
// Wrong formulas rejected: the clean X in place of Xn in (1/n) R Xn^T; a missing 1/n; a factor 2.
CheckRow check_eq_3_2_gradient(const LinearProblem& p, const LossFn& loss = linear_dae_loss);

// (3.3) Training with noise is Tikhonov regularisation (Bishop 1995): for targets T,
//   E_E L(W; X + sigma E, T) = L(W; X, T) + sigma^2 / 2 ||W||_F^2.
// Monte Carlo over whole-dataset noise draws at z = 5 (false-failure rate 5.7e-7). The first form
// has T = X (the linear DAE), the second random regression targets.
// Wrong formulas rejected: sigma instead of sigma^2 in the penalty; no penalty at all; the noisy input
// as the target (which gives sigma^2 / 2 ||W - I||_F^2).
CheckRow check_eq_3_3_tikhonov(const LinearProblem& p, bool dae_targets = true,
                                      const LossFn& loss = linear_dae_loss,
                                      const CorruptFn& corrupt = gaussian_corruption,
                                      double penalty_coefficient = -1.0, Index samples = 10000);

// (3.4) The optimal linear DAE W* = S (S + sigma^2 I)^-1.
// (a) Gradient descent on the expected loss  Lbar(W) = L(W; X) + sigma^2/2 ||W||^2  (eq. 3.3), whose
// gradient is W (S + sigma^2 I) - S, from a random start with step 1 / (l_max + sigma^2). The error
// contracts by rho = 1 - (l_min + sigma^2) / (l_max + sigma^2) per step (about 0.88 here), so after 400
// steps rho^400 < 1e-20 and only rounding is left: tolerance 1e-8.
// Wrong formulas rejected: sigma instead of sigma^2; W = I (the plain autoencoder without noise).
struct ExpectedLossDescent {
  std::vector<double> iteration, relative_error;  // ||W_t - W*||_F / ||W*||_F
  MatD W;
};
ExpectedLossDescent descend_expected_loss(const MatD& S, double sigma, const MatD& W_star, int iterations = 400);
CheckRow check_eq_3_4_gradient_descent(const LinearProblem& p, const WeightsFn& weights = linear_dae_weights);

// (b) At W* the gradient of the loss on noisy samples (exercise 3.3 on exercise 3.1's noise) has
// mean zero: W* is where stochastic gradient descent on noisy copies settles. Monte Carlo over
// 10,000 noise draws of the whole data set, every entry, false-failure rate 1e-6 (Bonferroni).
CheckRow check_eq_3_4_noisy_gradient_vanishes(const LinearProblem& p, const MatD& W,
                                                     const LossFn& loss = linear_dae_loss,
                                                     const CorruptFn& corrupt = gaussian_corruption,
                                                     Index samples = 10000);

// =============================================================================================
// Gaussian data: the optimal DAE, Tweedie's formula and the small-noise limit
// =============================================================================================
struct GaussianProblem {
  VecD mu;
  MatD Sigma;
  double sigma = 0.7;  // the DAE's noise level
  MatD points;         // 3 x 5 points where the scores are compared
};
GaussianProblem make_gaussian_problem();

// (3.5) r*(x~) = mu + Sigma (Sigma + sigma^2 I)^-1 (x~ - mu) is the optimal DAE for x ~ N(mu, Sigma),
// x~ = x + sigma e: its error e = r*(x~) - x is orthogonal to every affine function of x~,
// E[e] = 0 and E[e x~^T] = 0 (for Gaussians the best affine estimate is E[x | x~]). Monte Carlo over
// 200,000 draws, 12 entries, false-failure rate 1e-6. `center` = false plants the missing mu.
// Wrong formulas rejected: sigma instead of sigma^2; forgetting to centre at mu.
CheckRow check_eq_3_5_optimal_dae(const GaussianProblem& g, const WeightsFn& weights = linear_dae_weights,
                                         bool center = true, Index samples = 200000);

// (3.6) Tweedie / Alain & Bengio: (r*(x) - x) / sigma^2 = grad log p_sigma(x), exactly, where
// p_sigma = p * N(0, sigma^2 I) is the noise-smoothed density. For the Gaussian p_sigma is
// N(mu, Sigma + sigma^2 I). Identity to 1e-10 at five points.
// Wrong formula rejected: the score of the clean density, -Sigma^-1 (x - mu), at finite sigma.
CheckRow check_eq_3_6_tweedie_gaussian(const GaussianProblem& g);
// The same for the 2-D mixture, whose optimal DAE is the posterior mean (dae.hpp), against the
// analytic score of the smoothed mixture (GaussianMixture2D::score with extra variance sigma^2).
MatD tweedie_points();
CheckRow check_eq_3_6_tweedie_mixture(const GaussianMixture2D& g, double sigma, double score_extra_var = -1.0);

// (3.7) The small-noise limit. For the Gaussian, exactly
//   (r*(x) - x)/sigma^2 - grad log p(x) = sigma^2 (Sigma + sigma^2 I)^-1 Sigma^-1 (x - mu),
// so the error e(sigma) = || (r*(x) - x)/sigma^2 - grad log p(x) || satisfies
//   | e(sigma) / (sigma^2 c) - 1 | <= sigma^2 / l_min,   c = || Sigma^-2 (x - mu) ||:
// e is O(sigma^2) with the leading coefficient c. Checked at one point for a given sigma; slack
// 1e-6 for rounding (forming r*(x) - x cancels about log10(1/sigma^2) digits).
// Wrong formulas rejected: dividing by sigma instead of sigma^2; sigma instead of sigma^2 in r*.
struct LimitPoint {
  double error = 0.0;      // e(sigma)
  double predicted = 0.0;  // sigma^2 c
};
LimitPoint small_noise_error(const GaussianProblem& g, double sigma, double power = 2.0,
                                    const WeightsFn& weights = linear_dae_weights);
CheckRow check_eq_3_7_small_noise_limit(const GaussianProblem& g, double sigma, double power = 2.0,
                                               const WeightsFn& weights = linear_dae_weights);

// =============================================================================================
// (3.8) A nonlinear DAE trained on the 2-D mixture estimates the smoothed score
// =============================================================================================

// 2,000 points from the noisy data distribution p_sigma (seeded): where the DAE was trained.
MatD score_test_points(const GaussianMixture2D& g, double sigma, Index n = 2000);
// The mean cosine similarity between the DAE's (r(x) - x)/sigma^2 and grad log p_sigma(x) over those
// points must be at least 0.9 (a mean angle of about 25 degrees or better).
// Fields rejected: the best linear DAE (a single Gaussian fitted to the mixture, whose field points
// to the centre of the ring), the flipped field x - r(x).
inline constexpr double kCosineBound = 0.9;
CheckRow check_eq_3_8_score_cosine(const GaussianMixture2D& g, double sigma, const MatD& estimated_score,
                                          const std::string& what = "nonlinear DAE");
// The cosine cannot see the field's scale: a score off by a factor sigma (r(x) - x divided by sigma,
// not sigma^2) has the same cosine. The least-squares scale a = sum_i <s^_i, s_i> / sum_i ||s_i||^2 of
// the estimate s^ on the true score s must lie in [1/kScaleBound, kScaleBound].
inline constexpr double kScaleBound = 1.25;
CheckRow check_eq_3_8_score_scale(const GaussianMixture2D& g, double sigma, const MatD& estimated_score,
                                  const std::string& what = "nonlinear DAE");
// The field of the best linear DAE: fit N(m, C) to the mixture, r(x) = m + C (C + sigma^2 I)^-1 (x - m).
MatD linear_dae_score(const GaussianMixture2D& g, double sigma, const MatD& X);

// =============================================================================================
// Every synthetic check of the chapter, in the order of the doc.
// =============================================================================================
std::vector<CheckRow> all_checks(const LinearProblem& p, const GaussianProblem& g,
                                        const GaussianMixture2D& mixture, const MixtureDaeRun& dae);

}  // namespace course::ch03
