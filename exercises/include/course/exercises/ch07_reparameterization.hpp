// Chapter 7 exercises: the reparameterization trick and the pathwise derivative.
// Equations refer to docs/07-reparameterization.md. Check your work with  ./course check 07
//
// Notation (the lecture's): a Gaussian q = N(mu, diag sigma^2) in R^d; eps ~ N(0, I) is standard
// normal noise; the toy problem minimises L(mu) = E_{x ~ N(mu, diag sigma^2)} ||x - c||^2 with the
// target c = (5, 5) (sigma = 1 in the lecture). All vectors have length d.
#pragma once

#include "course/types.hpp"

namespace course::ch07 {

// Exercise 7.1 -- reparameterised sampling (eq. 7.1).
// Return z = mu + sigma * eps (elementwise) with sigma = exp(log_var / 2), i.e. log_var is
// log sigma^2, as a VAE encoder outputs it. With eps ~ N(0, I), z ~ N(mu, diag sigma^2).
// Tests: the sample moments (means, variances, a covariance) at a Bonferroni false-failure rate of
// 1e-6, and a Kolmogorov-Smirnov test per coordinate against N(mu_i, sigma_i^2) (1e-6 overall);
// exp(log_var) * eps (log sigma read as log sigma^2) fails both.
VecD reparameterize(const VecD& mu, const VecD& log_var, const VecD& eps);

// Exercise 7.2 -- the pathwise gradient estimator (eq. 7.4).
// For one noise draw eps, x = mu + sigma * eps and f(x) = ||x - c||^2. Return the gradient of
// mu -> f(mu + sigma * eps) at fixed eps: the derivative along the sampling path.
// Tests: equals central differences of that function (relative 1e-6); its mean over 2^18 draws is
// 2 (mu - c) and its per-coordinate variance 4 sigma_i^2 (eqs. 7.4, 7.6; false-failure rate 1e-6).
VecD pathwise_gradient(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& eps);

// Exercise 7.3 -- the score-function (REINFORCE) estimator (eq. 7.5).
// For one sample x ~ N(mu, diag sigma^2), return f(x) * grad_mu log N(x; mu, diag sigma^2) with
// f(x) = ||x - c||^2: it needs f only at x, never its derivative.
// Tests: equals central differences of mu -> f(x) log N(x; mu, diag sigma^2) at fixed x
// (relative 1e-6; a score (x - mu) / sigma fails); its mean over 2^20 draws is 2 (mu - c) and, for
// sigma = 1, its variance is eq. 7.7 (false-failure rate 1e-6).
VecD score_function_gradient(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& x);

// Exercise 7.4 -- one step of stochastic gradient descent on the toy loss (eq. 7.9).
// eps is d x N: N noise draws, one per column, for x_k = mu + eps_k ~ N(mu, I). Average the N
// pathwise gradients 2 (mu + eps_k - c) and return mu - lr * (that average).
// Tests: one step against the formula written out; after T steps from mu_0 the error mu_T - c is
// Gaussian with the mean and variance of eq. 7.9, checked over 2^15 independent runs (1e-6), so a
// sum instead of an average (N times the noise variance) or an ascent step fails.
VecD sgd_step(const VecD& mu, const VecD& c, const MatD& eps, double lr);

}  // namespace course::ch07
