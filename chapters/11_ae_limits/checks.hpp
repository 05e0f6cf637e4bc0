// Chapter 11's derivation checks (docs/11-ae-limits.md). Each function returns one row of the
// verification table; the chapter program prints them and tests/ch11 asserts each one, and that
// each rejects the wrong formula named beside it.
#pragma once

#include <functional>
#include <vector>

#include "course/check.hpp"
#include "course/gaussian_fit.hpp"
#include "course/exercises/ch05_elbo.hpp"
#include "course/exercises/ch11_ae_limits.hpp"

namespace course::ch11 {

// ---------------------------------------------------------------------------------------------
// Gaussians fitted to point sets, and PCA features
// ---------------------------------------------------------------------------------------------

// course/gaussian_fit.hpp: GaussianFit (mean, unbiased covariance), fit_gaussian, psd_sqrt.
using course::GaussianFit;
using course::fit_gaussian;
using course::psd_sqrt;

// ---------------------------------------------------------------------------------------------
// (11.1), (11.2) The Frechet distance between Gaussians
// ---------------------------------------------------------------------------------------------
using FrechetFn = std::function<double(const VecD&, const MatD&, const VecD&, const MatD&)>;

// Two 4-D Gaussians whose covariances are far from commuting (so S1^{1/2} S2^{1/2} is not
// symmetric and the "commuting" shortcut is wrong by 2.7).
struct FrechetCase {
  VecD m1, m2;
  MatD S1, S2;
};
FrechetCase frechet_case(std::uint64_t seed = 111);

// The optimal (Monge) map between N(m1, S1) and N(m2, S2) for S1 positive definite:
//   T = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2},  x2 = m2 + T (x1 - m1)   (eq. 11.2).
MatD optimal_map(const MatD& S1, const MatD& S2);

// The Monte Carlo mean of ||x1 - x2||^2 with x1 ~ N(m1, S1) and x2 = m2 + T (x1 - m1).
McEstimate coupling_cost_monte_carlo(const FrechetCase& c, const MatD& T, Index n = 200000,
                                     std::uint64_t seed = 112);

// (11.1) frechet_distance against the Monte Carlo cost of the optimal coupling (z = 5).
// Wrong formulas it rejects: the trace term left out; 2 tr(S1^{1/2} S2^{1/2}) for the cross term.
CheckRow check_eq_11_1_frechet_vs_coupling(const FrechetCase& c, const FrechetFn& frechet = frechet_distance);
// (11.1) In one dimension d^2 = (m1 - m2)^2 + (s1 - s2)^2 (s the standard deviations).
CheckRow check_eq_11_1_one_dimensional(const FrechetFn& frechet = frechet_distance);
// (11.2) T pushes N(m1, S1) onto N(m2, S2): T S1 T = S2 (an exact identity; T is symmetric).
CheckRow check_eq_11_2_map_pushes_forward(const FrechetCase& c, const MatD& T);
// (11.2) Any other coupling costs more: the independent coupling costs ||m1 - m2||^2 + tr S1 + tr S2
// >= d^2, and so does the map through Cholesky factors x2 = m2 + L2 L1^{-1} (x1 - m1).
CheckRow check_eq_11_2_independent_coupling_costs_more(const FrechetCase& c, const FrechetFn& frechet = frechet_distance);
CheckRow check_eq_11_2_cholesky_coupling_costs_more(const FrechetCase& c, const FrechetFn& frechet = frechet_distance);

// ---------------------------------------------------------------------------------------------
// (11.3) Holes: nearest-neighbour p-values
// ---------------------------------------------------------------------------------------------
using HoleFn = std::function<double(const MatD&, const MatD&, const MatD&, double)>;

// The exact rate floor(alpha (n_c + 1)) / (n_c + 1) at which a query from the codes' own
// distribution is called a hole.
double null_hole_rate(Index n_calibration, double alpha);

// (11.3) Monte Carlo over `trials` independent data sets: each draws n_r reference codes, n_c
// calibration codes and m queries from the same 2-D mixture (three Gaussian clusters) and records
// hole_fraction; the mean must be the exact null rate (z = 5, false-failure rate 5.7e-7).
// Wrong formulas it rejects: z not counted in its own p-value; the calibration codes' (1 - alpha)
// quantile as a fixed radius.
CheckRow check_eq_11_3_null_rate(double alpha, const HoleFn& holes = hole_fraction, Index n_reference = 30,
                                 Index n_calibration = 19, Index m = 10, Index trials = 40000, std::uint64_t seed = 113);
// (11.3) Queries far from every code have pval = 1 / (n_c + 1): all are holes when alpha >= 1 / (n_c + 1),
// none when alpha is below it; queries on top of reference codes are never holes (alpha < 1).
CheckRow check_eq_11_3_far_queries(const HoleFn& holes = hole_fraction);
// (11.3) Ties: the queries are the calibration codes themselves, so each query's distance ties with
// its own copy, which the ">=" of eq. 11.3 counts: the farthest query has pval = 2 / (n_c + 1), a hole
// at alpha = 0.2 (n_c = 9) and not at 0.15. Wrong formulas it rejects: a strict ">" (ties not
// counted, the farthest gets pval = 1 / (n_c + 1), a hole at 0.15), the query left out (#{...} / n_c),
// the calibration scores' (1 - alpha) quantile as a radius.
CheckRow check_eq_11_3_tied_queries(const HoleFn& holes = hole_fraction);

// ---------------------------------------------------------------------------------------------
// (11.4), (11.5) ROC, AUC and its variance
// ---------------------------------------------------------------------------------------------
using AucFn = std::function<double(const VecD&, const VecD&)>;

// The empirical ROC curve: one point per distinct threshold t (descending), from (0, 0) to (1, 1):
// fpr = #{normal >= t} / n0, tpr = #{anomaly >= t} / n1.
struct Roc {
  std::vector<double> fpr, tpr;
};
Roc roc_curve(const VecD& normal, const VecD& anomaly);
// The trapezoidal area under the curve.
double roc_area(const Roc& roc);
// The definition: (1/(n0 n1)) sum_ij [a_i > n_j] + 1/2 [a_i = n_j], counted pair by pair.
double auc_pairwise(const VecD& normal, const VecD& anomaly);

// Scores with many ties (rounded to a coarse grid, overlapping).
struct Scores {
  VecD normal, anomaly;
};
Scores tied_scores(std::uint64_t seed = 114);

// (11.4) auc_mann_whitney equals the pairwise definition, and the trapezoidal area under the ROC
// curve equals it too (identities, 1e-12). Wrong formulas rejected: ties counted as wins (>=) or losses.
CheckRow check_eq_11_4_auc_is_mann_whitney(const Scores& s, const AucFn& auc = auc_mann_whitney);
CheckRow check_eq_11_4_roc_area_is_mann_whitney(const Scores& s, const std::function<double(const Scores&)>& area =
                                                    [](const Scores& x) { return roc_area(roc_curve(x.normal, x.anomaly)); });

// The exact moments for normal scores ~ Exp(1) and anomaly scores ~ Exp(rate) (rate < 1: anomalies
// score higher): theta = P(a > n) = 1 / (1 + rate), Q1 = P(a1 > n, a2 > n) = 1 / (1 + 2 rate),
// Q2 = P(a > n1, a > n2) = 1 - 2 rate / (1 + rate) + rate / (2 + rate), and
//   Var(AUC) = [theta (1 - theta) + (n1 - 1)(Q1 - theta^2) + (n0 - 1)(Q2 - theta^2)] / (n0 n1),
//   E[DeLong] = Var(AUC) + (theta + theta^2 - Q1 - Q2) / (n0 n1)                        (eq. 11.5).
struct ExponentialScores {
  double rate = 0.5;
  Index n0 = 30, n1 = 20;
  double theta() const;
  double q1() const;
  double q2() const;
  double auc_variance() const;
  double delong_expectation() const;
  Scores draw(Rng& rng) const;
};
// (11.5) The Monte Carlo mean of (AUC - theta)^2 over `reps` data sets is Var(AUC) (z = 5).
CheckRow check_eq_11_5_auc_variance(const ExponentialScores& e, const AucFn& auc = auc_mann_whitney,
                                    Index reps = 40000, std::uint64_t seed = 115);
// (11.5) The Monte Carlo mean of DeLong's estimate is its exact expectation (z = 5).
// Wrong formulas it rejects: biased variances (/ n), the components swapped, one component only.
CheckRow check_eq_11_5_delong_expectation(const ExponentialScores& e, const AucFn& delong = delong_variance,
                                          Index reps = 40000, std::uint64_t seed = 116);

// ---------------------------------------------------------------------------------------------
// (11.6), (11.7) What a pixel loss measures
// ---------------------------------------------------------------------------------------------

// Image x (rows x cols, row-major in a column vector) shifted left by one pixel, zero filled:
// out(r, c) = x(r, c + 1), out(r, cols - 1) = 0.
VecD shift_left(const VecD& x, Index rows, Index cols);
// A Gaussian blur of standard deviation `sigma` pixels (kernel radius ceil(3 sigma), normalised,
// zero padding outside the image), separable.
VecD gaussian_blur(const VecD& x, Index rows, Index cols, double sigma);
// sum_r sum_{c < cols - 1} (x(r, c) - x(r, c + 1))^2 + sum_r x(r, cols - 1)^2: the image's
// horizontal squared gradient, including the step to the zero fill.
double horizontal_gradient_energy(const VecD& x, Index rows, Index cols);

// (11.6) ||x - shift_left(x)||^2 = horizontal_gradient_energy(x) (identity).
// Wrong formula it rejects: the gradient energy without the last column's step to the zero fill.
CheckRow check_eq_11_6_shift_error(const VecD& x, Index rows, Index cols,
                                   const std::function<double(const VecD&, Index, Index)>& energy = horizontal_gradient_energy);

using GaussianLogLik = std::function<double(const VecD&, const VecD&, double)>;
// (11.7) With chapter 5's Gaussian log-likelihood (exercise 5.1):
//   log N(x; a, s2 I) - log N(x; b, s2 I) = (||x - b||^2 - ||x - a||^2) / (2 s2)    (identity),
// so for every s2 the decoder prefers whichever of a, b has the smaller squared error.
// Wrong formula it rejects: sigma for sigma^2 in the log-likelihood.
CheckRow check_eq_11_7_loglik_difference(const VecD& x, const VecD& a, const VecD& b, double s2,
                                         const GaussianLogLik& loglik = ch05::gaussian_decoder_log_likelihood);
// (11.7) max over s2 of log N(x; a, s2 I) = -D/2 (log(2 pi SE / D) + 1), at s2 = SE / D (SE = ||x - a||^2),
// against a numeric maximisation (golden section on log s2, 1e-9). A decoder that learns its
// noise ranks reconstructions by squared error too.
// Wrong formula it rejects: s2 = SE (not divided by D).
double profile_log_likelihood(double squared_error, Index D);
CheckRow check_eq_11_7_profile(const VecD& x, const VecD& a, double profile_value,
                               const GaussianLogLik& loglik = ch05::gaussian_decoder_log_likelihood);

// ---------------------------------------------------------------------------------------------
// (11.8) Mean vs sample
// ---------------------------------------------------------------------------------------------
using SamplerFn = std::function<MatD(const MatD&, Decoder, double, Rng&)>;

// The per-row sample variance of the columns of X (rows x k): divided by k - 1 (unbiased) or k.
VecD row_variance(const MatD& X, bool unbiased = true);

// (11.8) A fixed mean image (D = 24 pixels, probabilities in [0.03, 0.97] or means in [-1, 2]);
// `draws` Monte Carlo draws of k = 5 decoder samples each (sample_decoder on the mean replicated 5
// times); per pixel, the mean of the samples must be p (mu) and their sample variance p(1 - p)
// (sigma2): 2 D entries, Bonferroni, false-failure rate 1e-6 for the row.
// Wrong formulas it rejects: the mean returned as the sample; sigma2 as the standard deviation;
// x = [u > p]; the biased (/ k) sample variance.
// `mean` replaces the fixed mean image when given (the chapter program passes a trained decoder's).
CheckRow check_eq_11_8_decoder_moments(Decoder decoder, double sigma2, const SamplerFn& sampler = sample_decoder,
                                       bool unbiased_variance = true, Index draws = 40000, std::uint64_t seed = 118,
                                       const VecD& mean = VecD());

}  // namespace course::ch11
