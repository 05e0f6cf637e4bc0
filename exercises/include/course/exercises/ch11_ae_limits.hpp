// Chapter 11 exercises: what an autoencoder cannot do, and what it is good for.
// Equations refer to docs/11-ae-limits.md. Check your work with  ./course check 11
//
// Notation: a set of n points is a d x n matrix (one point per column). Anomaly scores are
// larger for "more anomalous": `normal` holds the n0 scores of normal images, `anomaly` the n1
// scores of anomalous ones. A decoder's output for B codes is a d x B matrix of means (Gaussian
// decoder) or of probabilities p in [0, 1] (Bernoulli decoder).
#pragma once

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch11 {

// Exercise 11.1 -- eq. 11.1: the Frechet distance between two Gaussians.
// Return the SQUARED 2-Wasserstein (Frechet) distance between N(m1, S1) and N(m2, S2) (a scalar;
// docs/11, section 1); m1, m2: d; S1, S2 symmetric positive semi-definite d x d. It needs square
// roots of symmetric PSD matrices: take them from an eigendecomposition (clip eigenvalues below 0,
// rounding, to 0). This is the
// number FID reports (there on Inception features; here on PCA features).
// Tests: against the Monte Carlo mean of ||x1 - x2||^2 under the optimal coupling (eq. 11.2);
// 1-D: (m1 - m2)^2 + (sigma1 - sigma2)^2. Rejects the trace term left out, and 2 tr(S1^{1/2} S2^{1/2})
// (true only when S1 and S2 commute).
double frechet_distance(const VecD& m1, const MatD& S1, const VecD& m2, const MatD& S2);

// Exercise 11.2 -- eq. 11.3: the fraction of queries that fall in a hole of a code cloud.
// reference: d x n_r training codes; calibration: d x n_c OTHER training codes; queries: d x m.
// The score of a point x is its distance to the nearest reference code, dist(x) = min_c ||x - c||.
// A query's p-value is pval(z) = (1 + #{calibration codes c' : dist(c') >= dist(z)}) / (n_c + 1), and
// z is in a hole at level alpha when pval(z) <= alpha: it is farther from the reference codes than all but
// a fraction alpha of real codes are. Return the fraction of the m queries in a hole.
// (When the queries come from the codes' own distribution, a query and the calibration codes are
// exchangeable, so P(pval(z) <= alpha) = floor(alpha (n_c + 1)) / (n_c + 1) exactly.) Needs n_r, n_c >= 1.
// Tests: that exact rate by Monte Carlo (false-failure rate 5.7e-7); a far query is a hole exactly
// when alpha >= 1 / (n_c + 1). Rejects z not counted (#{...} / n_c), and the calibration codes'
// (1 - alpha) quantile as a fixed radius.
double hole_fraction(const MatD& reference, const MatD& calibration, const MatD& queries, double alpha);

// Exercise 11.3 -- eq. 11.4: the area under the ROC curve as the Mann-Whitney statistic.
// Return AUC = (1 / (n0 n1)) sum_i sum_j ( [a_i > n_j] + 1/2 [a_i = n_j] ): the probability that an
// anomaly scores above a normal image, ties counted as half. Compute it in O(n log n), not by the
// double sum: from the anomalies' midranks (tied scores share the mean of their 1-based ranks)
// among all n0 + n1 scores; derive how the AUC follows from their sum (docs/11, section 3).
// Tests: equal to the pairwise count and to the trapezoidal area under the empirical ROC curve
// (1e-12), on scores with many ties. Rejects ties counted as wins, and as losses.
double auc_mann_whitney(const VecD& normal, const VecD& anomaly);

// Exercise 11.4 -- eq. 11.5: DeLong's variance of the AUC.
// Return DeLong et al.'s (1988) estimate of Var(AUC) from the data alone (a scalar): the placements
// V10_i of the anomalies (the fraction of normal scores each beats, ties by half) and V01_j of the
// normal images, their unbiased sample variances S10 and S01, and their combination as in eq. 11.5
// (docs/11, section 3). Needs n0, n1 >= 2. Tests: its Monte Carlo mean over many data sets against its exact expectation
// (eq. 11.5; false-failure rate 5.7e-7). Rejects the variances divided by n (biased), the
// components swapped (S10 / n0 + S01 / n1), and one component only.
double delong_variance(const VecD& normal, const VecD& anomaly);

// The two decoders of the course: p(x|z) = prod_i Bernoulli(x_i; p_i), or N(mu, sigma2 I).
enum class Decoder { Bernoulli, Gaussian };

// Exercise 11.5 -- eq. 11.8: a sample from the decoder, not its mean.
// mean: d x B (probabilities p for Bernoulli, means mu for Gaussian). Return a d x B matrix x with
// each entry drawn independently from the decoder's distribution for that pixel: Bernoulli(p), or
// N(mu, sigma2) (use rng.bernoulli(p) and rng.normal()). sigma2 is a variance (ignored by the
// Bernoulli decoder). Draw column by column, entry by entry, in storage order.
// Tests: per pixel, the Monte Carlo mean is p (mu) and the unbiased sample variance is p(1 - p)
// (sigma2) (Bonferroni over pixels, false-failure rate 1e-6). Rejects returning the mean itself
// (variance 0), sigma2 as the standard deviation, and x = [u > p].
MatD sample_decoder(const MatD& mean, Decoder decoder, double sigma2, Rng& rng);

}  // namespace course::ch11
