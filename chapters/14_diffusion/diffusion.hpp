// Chapter 14 model code: the noise schedule, the forward and reverse chains, the exact quantities
// of a 2-D Gaussian mixture under the forward process (its noised density q_t, score and optimal
// noise predictor, from chapter 3's mixture code), and the small MLP noise predictor.
// Shared by main.cpp and the tests. Equations refer to docs/14-diffusion.md.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "course/data.hpp"
#include "course/exercises/ch14_diffusion.hpp"
#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch14 {

// =============================================================================================
// The schedule and the data
// =============================================================================================

// beta_t linear from beta_1 to beta_T (Ho et al. 2020 use 1e-4 ... 0.02 for T = 1000), through
// exercise 14.1.
NoiseSchedule linear_schedule(int T, double beta_1, double beta_T);

// The chapter's schedule: T = 250 steps, beta from 1e-4 to 0.05, so alpha_bar_T ~ 0.002 and x_T is
// N(0, I) up to a mean of 0.04 x_0.
NoiseSchedule chapter_schedule();

// The chapter's data: 8 Gaussians of variance 0.02 on a circle of radius 1.4, so each coordinate
// has mean 0 and variance 1.4^2 / 2 + 0.02 = 1 (the forward process then preserves it, eq. 14.2).
GaussianMixture2D chapter_data();

// =============================================================================================
// The chains
// =============================================================================================

using ForwardStepFn = std::function<MatD(const MatD&, double, const MatD&)>;
using ReverseStepFn = std::function<MatD(const MatD&, const MatD&, const NoiseSchedule&, int, const MatD&)>;
// A noise predictor eps_hat(x_t, t): X is d x B, t in 1..T.
using EpsFn = std::function<MatD(const MatD& Xt, int t)>;

// Runs t steps of the forward process from X0 with the step of exercise 14.2 (or a planted one).
MatD run_forward(const MatD& X0, const NoiseSchedule& s, int t, Rng& rng, const ForwardStepFn& step = forward_step);

// The reverse chain (eq. 14.8): x_T ~ N(0, I), then x_{t-1} = reverse_step(x_t, eps(x_t, t), ...)
// for t = T, ..., 1. `keep` lists times whose x_t is stored in `kept` (in that order; t = 0 is the
// final sample).
MatD run_reverse(const NoiseSchedule& s, const EpsFn& eps, Index n, Rng& rng, const std::vector<int>& keep = {},
                 std::vector<MatD>* kept = nullptr, const ReverseStepFn& step = reverse_step);

// =============================================================================================
// The mixture under the forward process: q_t is known exactly
// =============================================================================================

// x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps, so x_t / sqrt(ab) = x_0 + sigma e with sigma^2 = (1 - ab)/ab:
// chapter 3's noise model. Its posterior mean gives E[x_0 | x_t], and
//   eps*(x_t) = E[eps | x_t] = (x_t - sqrt(ab) E[x_0 | x_t]) / sqrt(1 - ab)   (the optimal predictor)
MatD optimal_eps(const GaussianMixture2D& g, double alpha_bar, const MatD& Xt);

// grad log q_t(x): q_t(x) = p_sigma(x / sqrt(ab)) / ab (in 2-D), so its score is
// score_sigma(x / sqrt(ab)) / sqrt(ab), chapter 3's smoothed-mixture score.
MatD mixture_score_t(const GaussianMixture2D& g, double alpha_bar, const MatD& Xt);

// The exact noise predictor of the mixture as an EpsFn for the schedule s.
EpsFn exact_eps(const GaussianMixture2D& g, const NoiseSchedule& s);

}  // namespace course::ch14
