// Chapter 13's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch13 asserts each one (and that each rejects the likely
// wrong formula named beside it). Exercise functions enter as default arguments, so a test can pass
// a planted wrong formula in their place.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "13_gan/gan.hpp"
#include "course/check.hpp"

namespace course::ch13 {

using OptimalFn = std::function<VecD(const VecD&, const VecD&)>;
using JsdFn = std::function<double(const VecD&, const VecD&)>;
using ModeCountFn = std::function<VecD(const MatD&, const MatD&, double)>;

// The 1-D pair of the checks: data q = N(0, 1), generator p = N(1, 0.8^2). Its log-ratio
// log q(x) - log p(x) is a quadratic in x, so a logistic discriminator on (1, x, x^2) can be D*.
struct Gaussian1D {
  double mean, sd;
  double pdf(double x) const;
  double log_pdf(double x) const;
};
inline constexpr Gaussian1D kData1D{0.0, 1.0};
inline constexpr Gaussian1D kGen1D{1.0, 0.8};

// V(D, G) = int q log D + p log(1 - D) dx by quadrature, for a discriminator D(x) (eq. 13.1).
double value_by_quadrature(const std::function<double(double)>& D, const Gaussian1D& q = kData1D,
                           const Gaussian1D& p = kGen1D);
// The exercise's D* as a function of x for the 1-D pair.
std::function<double(double)> optimal_1d(const OptimalFn& optimal = optimal_discriminator,
                                         const Gaussian1D& q = kData1D, const Gaussian1D& p = kGen1D);

// ---- (13.1) the value function and the discriminator's loss --------------------------------------

// The gradient of exercise 13.1 with respect to 5 real and 4 fake logits against central differences.
// Wrong formulas it rejects: a gradient without its 1/n; sigmoid(a) for the real logits' gradient.
CheckRow check_eq_13_1_loss_gradient(const DiscLossFn& loss = discriminator_loss);
// L_D = the lecture's +1/-1 logistic loss mean log(1 + e^{-y a}) over each half (the two label
// conventions are one loss), and stability: at logits +-800 the loss is 0 or 1600 and the gradient
// +-1 (1e-10). Wrong formulas it rejects: labels swapped; log D(x~) for log(1 - D(x~)) in the fake
// term; log(sigmoid(a)) computed naively (log 0 = -inf at a = -800).
CheckRow check_eq_13_1_pm1_labels(const DiscLossFn& loss = discriminator_loss);
CheckRow check_eq_13_1_stable(const DiscLossFn& loss = discriminator_loss);
// The whole discriminator network's parameter gradient (layer stack, double, tanh) with dL/da from
// exercise 13.1, against central differences of exercise 13.1's loss.
CheckRow check_eq_13_1_network_gradient(const DiscLossFn& loss = discriminator_loss);

// ---- (13.2) the optimal discriminator ---------------------------------------------------------

// V(D, G) by quadrature is largest at the exercise's D*: six perturbations
// D = sigmoid(logit D* + eps h(x)), eps = +-0.1, h in {1, x, cos x}, all give less.
// Wrong formulas it rejects: D* upside down p / (q + p); the likelihood ratio q / p (not in (0, 1)).
CheckRow check_eq_13_2_maximises_value(const OptimalFn& optimal = optimal_discriminator);
// A logistic discriminator sigmoid(a + b x + c x^2) trained to convergence (Newton's method on the
// empirical V of 20,000 samples of each density) agrees with the exercise's D*, whose logit is read
// at x = -1, 0, 1: Wald statistic (theta_hat - theta*)' H (theta_hat - theta*) below the chi-square(3)
// quantile at false-failure rate 1e-6 (asymptotic normality of the maximum-likelihood estimate).
// Wrong formulas it rejects: D* upside down; D* = 1/2; (q - p) / (q + p), the best +1/-1 output under
// squared error.
CheckRow check_eq_13_2_trained_discriminator(const OptimalFn& optimal = optimal_discriminator, Index n = 20000,
                                             std::uint64_t seed = 132);
// The lecture's exercise: when p = q the best discriminator is 1/2 everywhere (at 9 points, 1e-10).
CheckRow check_eq_13_2_half_when_equal(const OptimalFn& optimal = optimal_discriminator);

// ---- (13.3) V(D*, G) = -log 4 + 2 JSD ------------------------------------------------------------

// Discrete q, p on six points: sum q log D* + p log(1 - D*) = -log 4 + 2 JSD(q || p) (1e-10).
// Wrong formulas it rejects: a JSD without its 1/2 (KL(p||m) + KL(q||m)); JSD in bits; KL(q || p).
CheckRow check_eq_13_3_discrete(const OptimalFn& optimal = optimal_discriminator, const JsdFn& js = jsd);
// The 1-D pair: V(D*, G) by quadrature against -log 4 + `factor` JSD with the JSD by Monte Carlo
// from its definition (200,000 draws of each density, z = 5). Wrong formula it rejects: factor 1
// (V = -log 4 + JSD).
CheckRow check_eq_13_3_continuous(const OptimalFn& optimal = optimal_discriminator, double factor = 2.0,
                                  Index n = 200000, std::uint64_t seed = 133);
// The two ends: JSD(p || p) = 0 and V(D*) = -log 4 (the generator wins: D can do no better than a coin),
// disjoint supports give JSD = log 2 and V(D*) = 0 (a perfect discriminator) (1e-10).
CheckRow check_eq_13_3_limits(const OptimalFn& optimal = optimal_discriminator, const JsdFn& js = jsd);

// ---- (13.4) the generator's losses and their gradients ----------------------------------------

// Exercises 13.2 / 13.3 against central differences in the logits (6 fakes).
// Wrong formulas they reject: a flipped sign; sigmoid(a) for 1 - sigmoid(a) in the non-saturating one.
CheckRow check_eq_13_4_loss_gradient(const GenLossFn& loss, const std::string& name);
// Through both networks: dL/da (the exercise) -> D's input gradient -> the generator's parameters
// (layer stack, double), against central differences of L(theta_G).
CheckRow check_eq_13_4_generator_gradient(const GenLossFn& loss, const std::string& name);

// ---- (13.5) saturation ---------------------------------------------------------------------------

// A logistic discriminator D(x) = sigmoid(w'x + b) in 2-D: the gradient in the fake x~ of
// log(1 - D(x~)) is -D w, of -log D(x~) is -(1 - D) w: closed forms against central differences of
// the exercises' losses at D(x~) = 0.5, 0.01, 0.001.
CheckRow check_eq_13_5_closed_forms(const GenLossFn& minimax = generator_loss_minimax,
                                    const GenLossFn& nonsaturating = generator_loss_nonsaturating);
// The ratio of the two gradients is D / (1 - D), at 7 values of D from 0.9 to 1e-6 (1e-10): the
// minimax gradient vanishes as D rejects the fakes, the non-saturating one does not.
// Wrong formula it rejects: -log(1 - D) (a maximised loss minimised: the sign of the ratio flips).
CheckRow check_eq_13_5_ratio(const GenLossFn& minimax = generator_loss_minimax,
                             const GenLossFn& nonsaturating = generator_loss_nonsaturating);

// ---- (13.6) mode coverage ------------------------------------------------------------------------

// Exercise 13.6 on a hand-made set: around each mode k of the ring, k + 1 points at distance 0.2,
// one at 0.5 (outside r = 3 sd = 0.42) and one at 0.9; counts 1..8 exactly.
// Wrong formulas it rejects: squared distance against the radius; no radius at all.
CheckRow check_eq_13_6_counts_exact(const ModeCountFn& counts = samples_per_mode);
// On n samples of a sampler, the share on each mode against w_k (1 - e^{-9/2}) (eq. 13.6): 8 entries,
// Bonferroni false-failure rate 1e-6. The samples of the mixture pass; a sampler that drops modes or
// the Gaussian fit N(0, I) fails.
CheckRow check_eq_13_6_shares(const MatD& samples, const std::string& what, const ModeCountFn& counts = samples_per_mode);
// Samples of the ring itself (n = 4000, the seed given), and of the ring with modes 0, 2, 5 dropped.
MatD ring_samples(Index n, std::uint64_t seed, bool drop_modes = false);

}  // namespace course::ch13
