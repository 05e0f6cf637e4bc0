// Chapter 7 exercises: the reparameterization trick and the pathwise derivative.
// Equations refer to docs/07-reparameterization.md. Check your work with  ./course check 07
//
// Notation (the lecture's): a Gaussian q = N(mu, diag sigma^2) in R^d; eps ~ N(0, I) is standard
// normal noise; the toy problem minimises L(mu) = E_{x ~ N(mu, diag sigma^2)} ||x - c||^2 with the
// target c = (5, 5) (sigma = 1 in the lecture). All vectors have length d.
#pragma once

#include "course/types.hpp"

namespace course::ch07 {

// Exercise 7.1 -- eq. 7.1: reparameterised sampling.
// Inputs: mu, log_var and eps, all of length d; log_var is log sigma^2 (as a VAE encoder outputs
// it) and eps is a standard-normal draw. Return z (length d), a deterministic, differentiable
// function of (mu, log_var) for fixed eps such that z ~ N(mu, diag sigma^2) when eps ~ N(0, I).
// Work out sigma from log_var yourself (docs/07, section 1; worked solution at the end of docs/07).
// Tests: the sample moments (means, variances, a covariance) at a Bonferroni false-failure rate of
// 1e-6, and a Kolmogorov-Smirnov test per coordinate against N(mu_i, sigma_i^2) (1e-6 overall);
// exp(log_var) * eps (log sigma read as log sigma^2) fails both.
VecD reparameterize(const VecD& mu, const VecD& log_var, const VecD& eps);

// Exercise 7.2 -- eq. 7.4: the pathwise gradient estimator.
// Inputs: mu, sigma (standard deviations), the target c and one noise draw eps, all of length d.
// With x = mu + sigma * eps and f(x) = ||x - c||^2, return (length d) the gradient with respect to
// mu of mu -> f(mu + sigma * eps) at fixed eps: the derivative along the sampling path
// (docs/07, section 3).
// Tests: equals central differences of that function (relative 1e-6); its mean over 2^18 draws is
// 2 (mu - c) and its per-coordinate variance 4 sigma_i^2 (eqs. 7.4, 7.6; false-failure rate 1e-6).
VecD pathwise_gradient(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& eps);

// Exercise 7.3 -- eq. 7.5: the score-function (REINFORCE) estimator.
// Inputs: mu, sigma (standard deviations), the target c and one sample x ~ N(mu, diag sigma^2),
// all of length d. Return (length d) the one-sample score-function estimate of the gradient in mu
// of E_x f(x), f(x) = ||x - c||^2: f at x times the gradient in mu of the log-density of x. It needs
// f only at x, never its derivative; derive the Gaussian's log-density gradient (docs/07, section 3).
// Tests: equals central differences of mu -> f(x) log N(x; mu, diag sigma^2) at fixed x
// (relative 1e-6; a score (x - mu) / sigma fails); its mean over 2^20 draws is 2 (mu - c) and, for
// sigma = 1, its variance is eq. 7.7 (false-failure rate 1e-6).
VecD score_function_gradient(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& x);

// Exercise 7.4 -- eq. 7.9: one step of stochastic gradient descent on the toy loss.
// Inputs: mu and c (length d), eps (d x N: N noise draws, one per column, for x_k = mu + eps_k ~
// N(mu, I), i.e. sigma = 1) and the learning rate lr. Return the new mu (length d) after one SGD
// step on L(mu) whose gradient is the mean of the N pathwise estimates of exercise 7.2 (docs/07,
// section 5).
// Tests: one step against the formula written out; after T steps from mu_0 the error mu_T - c is
// Gaussian with the mean and variance of eq. 7.9, checked over 2^15 independent runs (1e-6), so a
// sum instead of an average (N times the noise variance) or an ascent step fails.
VecD sgd_step(const VecD& mu, const VecD& c, const MatD& eps, double lr);

}  // namespace course::ch07
