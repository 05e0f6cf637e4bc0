// Chapter 14 exercises: the diffusion model (DDPM).
// Equations refer to docs/14-diffusion.md. Check your work with  ./course check 14
//
// Notation: a sample x_0 in R^d is noised in T steps. Step t (t = 1, ..., T) has a variance
// beta_t in (0, 1) and alpha_t = 1 - beta_t; alpha_bar_t = alpha_1 alpha_2 ... alpha_t
// (alpha_bar_0 = 1). The lecture writes the same step as x^(t) -> x^(t+1) with alpha_t: only the
// index is shifted by one. A batch is d x B, one sample per column. In every vector of a
// NoiseSchedule, entry t - 1 belongs to step t.
#pragma once

#include "course/types.hpp"

namespace course::ch14 {

struct NoiseSchedule {
  VecD beta;       // T: beta_t
  VecD alpha;      // T: alpha_t = 1 - beta_t
  VecD alpha_bar;  // T: alpha_bar_t = prod_{s <= t} alpha_s
};

// Exercise 14.1 -- eqs. 14.1, 14.3: the noise schedule.
// From beta (T entries, each in (0, 1)) fill the NoiseSchedule: beta, alpha (T) and alpha_bar (T)
// as defined in the notation above (docs/14, sections 1 and 2).
// Tests: the chain of forward steps started at a fixed x_0 has, after t steps, mean
// sqrt(alpha_bar_t) x_0 and variance 1 - alpha_bar_t (Monte Carlo, false-failure rate 1e-6);
// alpha_bar_t = 1 - (beta_1 + ... + beta_t) fails, and so does the product of the betas.
NoiseSchedule make_schedule(const VecD& beta);

// Exercise 14.2 -- eq. 14.1: one step of the forward process.
// X is x_{t-1} (d x B), Xi standard-normal noise (d x B; xi in docs/14, z in lecture 004),
// beta = beta_t. Return x_t (d x B), a draw of q(x_t | x_{t-1}): noise of variance beta_t, and
// x_{t-1} scaled so that a sample of variance 1 keeps variance 1 (eq. 14.2). Mind the lecture's
// erratum (docs/14, section 1).
// Tests: the step has mean sqrt(alpha_t) x_{t-1} and variance beta_t (Monte Carlo); a chain of
// steps keeps Var = 1 when Var(x_0) = 1 (eq. 14.2). The lecture's eq. 15 mean alpha_t x fails, and
// so does beta_t for sqrt(beta_t).
MatD forward_step(const MatD& X, double beta, const MatD& Xi);

// Exercise 14.3 -- eq. 14.3: sampling q(x_t | x_0) in one go.
// X0 and Eps (standard-normal noise) are d x B, alpha_bar = alpha_bar_t. Return x_t (d x B), a draw
// of q(x_t | x_0), the composition of t forward steps (docs/14, section 2).
// Tests: agrees in mean and variance with t steps of the chain (Monte Carlo) and with the
// Chapman-Kolmogorov integral of the one-step kernels (quadrature); alpha_bar_t for
// sqrt(alpha_bar_t) fails, and so does (1 - alpha_bar_t) as the standard deviation.
MatD q_sample(const MatD& X0, double alpha_bar, const MatD& Eps);

// The posterior q(x_{t-1} | x_t, x_0) = N(x0 * x_0 + xt * x_t, variance * I).
struct PosteriorCoefficients {
  double x0 = 0.0;        // the coefficient of x_0 in the posterior mean
  double xt = 0.0;        // the coefficient of x_t in the posterior mean
  double variance = 0.0;  // beta~_t, the posterior variance
};

// Exercise 14.4 -- eq. 14.4: the forward posterior q(x_{t-1} | x_t, x_0), for 1 <= t <= T.
// Return its mean coefficients and variance, derived by Bayes' rule from the two Gaussians of
// eqs. 14.1 and 14.3 (docs/14, section 3), with alpha_bar_0 = 1 (so at t = 1 the posterior is the
// point x_0: x0 = 1, xt = 0, variance = 0).
// Tests: against Bayes' rule q(x_{t-1} | x_t, x_0) ~ q(x_t | x_{t-1}) q(x_{t-1} | x_0), whose
// normaliser, mean and variance are computed by quadrature in 1-D (1e-10); beta_t for the
// posterior variance fails, and so does alpha_t for sqrt(alpha_t).
PosteriorCoefficients posterior_coefficients(const NoiseSchedule& s, int t);

// Exercise 14.5 -- eq. 14.6: the reverse mean from a noise prediction.
// Xt and EpsHat (the predicted noise that made x_t from x_0) are d x B. Return the d x B means
// mu_theta(x_t, t): the posterior mean of exercise 14.4 with x_0 written through x_t and EpsHat
// (docs/14, section 5).
// Tests: with the true noise eps_hat = eps it equals the posterior mean of exercise 14.4 at
// x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t) (1e-10); a missing sqrt on
// 1 - alpha_bar_t or on alpha_t fails.
MatD mean_from_eps(const MatD& Xt, const MatD& EpsHat, const NoiseSchedule& s, int t);

// Exercise 14.6 -- eq. 14.7: the score from a noise prediction (Tweedie).
// EpsHat is d x B, alpha_bar = alpha_bar_t. Return the d x B estimates of the score
// grad_x log q_t(x) at the points whose noise EpsHat predicts (docs/14, section 6).
// Tests: with the optimal predictor E[eps | x_t] of a Gaussian mixture it equals the mixture's
// exact score (1e-10); dividing by 1 - alpha_bar_t, or a flipped sign, fails.
MatD score_from_eps(const MatD& EpsHat, double alpha_bar);

// Exercise 14.7 -- eq. 14.8: one step of the reverse chain.
// Xt, EpsHat and standard-normal noise Xi are d x B. Return x_{t-1} (d x B), a draw of the model's
// step p_theta(x_{t-1} | x_t): mean from exercise 14.5, variance beta~_t from exercise 14.4
// (docs/14, section 7).
// Tests: T steps from N(0, I) with the exact noise predictor of a Gaussian mixture give samples
// that a two-sample test cannot tell from the mixture (MMD, false-failure rate 1e-6); the
// lecture's alpha_t for sqrt(alpha_t) fails, and so does beta~_t for sqrt(beta~_t).
MatD reverse_step(const MatD& Xt, const MatD& EpsHat, const NoiseSchedule& s, int t, const MatD& Xi);

}  // namespace course::ch14
