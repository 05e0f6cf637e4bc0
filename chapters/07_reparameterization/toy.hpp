// The lecture's toy problem for the pathwise derivative, its closed forms, and the Monte Carlo and
// SGD machinery the checks and figures share.
//
//   x = mu + sigma * eps,  eps ~ N(0, I_d)          (eq. 7.1, sigma = 1 in the lecture)
//   L(mu) = E ||x - c||^2 = ||mu - c||^2 + ||sigma||^2,   c = (5, 5)        (eq. 7.2)
//   grad L = 2 (mu - c)                                                       (eq. 7.3)
//
// Two unbiased estimators of grad L from one draw (exercises 7.2 and 7.3):
//   pathwise        2 (mu + sigma * eps - c)                 variance 4 sigma_i^2        (7.4, 7.6)
//   score function  ||x - c||^2 (x - mu) / sigma^2           variance eq. 7.7 (sigma = 1) (7.5, 7.7)
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include "course/exercises/ch07_reparameterization.hpp"
#include "course/check.hpp"
#include "course/rng.hpp"

namespace course::ch07 {

// The lecture's target point c = (5, 5).
VecD lecture_target();

// One gradient estimator: (mu, sigma, c, eps) -> an estimate of grad L from the draw eps.
// Both exercises fit this shape once the score function is given x = mu + sigma * eps.
using Estimator = std::function<VecD(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& eps)>;

Estimator pathwise_estimator();
Estimator score_function_estimator();

// ---- Closed forms ----------------------------------------------------------------------------

// (7.2) L(mu, sigma) = E ||mu + sigma * eps - c||^2 = ||mu - c||^2 + sum_i sigma_i^2.
double toy_loss(const VecD& mu, const VecD& sigma, const VecD& c);

// (7.3) grad_mu L = 2 (mu - c).
VecD toy_gradient(const VecD& mu, const VecD& c);

// log N(x; mu, diag sigma^2), the density whose mu-gradient is the score in (7.5).
double log_normal_density(const VecD& x, const VecD& mu, const VecD& sigma);

// (7.6) The per-coordinate variance of the pathwise estimator: Var[2 (a_i + sigma_i eps_i)] = 4 sigma_i^2.
VecD pathwise_variance(const VecD& sigma);

// (7.7) The per-coordinate variance of the score-function estimator ||a + eps||^2 eps_i for
// sigma = 1, with a = mu - c in R^d. Built from the Gaussian moments E[eps^2] = 1, E[eps^4] = m4,
// E[eps^6] = m6 (3 and 15) so that the derivation's steps are visible; with the true moments it is
//   (||a||^2 + d - 1)^2 + 10 ||a||^2 + 4 a_i^2 + 8 d + 7.
VecD score_function_variance(const VecD& a, double m4 = 3.0, double m6 = 15.0);

// (7.9) SGD with the average of N pathwise gradients and step lr: the error e_t = mu_t - c obeys
// e_{t+1} = (1 - 2 lr) e_t - 2 lr xi_t with xi_t ~ N(0, I / N), so e_T is Gaussian with
//   mean (1 - 2 lr)^T e_0   and per-coordinate variance  lr / (N (1 - lr)) (1 - (1 - 2 lr)^(2T)).
struct SgdSetting {
  double lr = 0.1;
  Index batch = 4;   // N draws per step
  int steps = 100;   // T
};
VecD sgd_error_mean(const VecD& e0, const SgdSetting& s);
double sgd_error_variance(const SgdSetting& s);

// ---- Monte Carlo of an estimator ----------------------------------------------------------------

// Mean and per-coordinate variance of the average of `batch` draws of an estimator at (mu, sigma),
// from n independent averages (parallel, thread-count independent). The variance is estimated as
// the mean of the squared deviations from the known mean 2 (mu - c), so it comes with its own
// standard error: entries 0..d-1 are the estimator's mean, entries d..2d-1 its variance.
McVecEstimate estimator_moments(const Estimator& g, const VecD& mu, const VecD& sigma, const VecD& c,
                                       Index n, std::uint64_t seed, Index batch = 1);

// ---- SGD on the toy problem -------------------------------------------------------------------

// The path of mu under SGD with one estimator: mu_{t+1} = mu_t - lr * (mean of `batch` estimates).
struct SgdPath {
  std::vector<double> x, y;   // mu_t, t = 0..T (first two coordinates)
  std::vector<double> distance;  // ||mu_t - c||
  VecD final_mu;
};

// Runs T steps from mu0 with noise from Rng(seed): each step draws a d x N matrix of eps, so two
// estimators run with the same seed see the same noise (common random numbers). `on_step` (when
// given) receives the step's loss ||mu - c||^2 + d, for progress and divergence checks.
SgdPath run_sgd(const Estimator& g, const VecD& mu0, const VecD& c, const SgdSetting& s,
                       std::uint64_t seed, const std::function<void(int, double)>& on_step = {});

}  // namespace course::ch07
