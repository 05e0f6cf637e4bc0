// A two-sample test: are two point sets drawn from the same distribution? The maximum mean
// discrepancy (Gretton, Borgwardt, Rasch, Schoelkopf & Smola, "A kernel two-sample test", JMLR 2012)
// with the Gaussian kernel k(x, y) = exp(-||x - y||^2 / (2 h^2)), which lies in [0, 1]:
//
//   MMD_b^2 = 1/m^2 sum_ij k(x_i, x_j) + 1/m^2 sum_ij k(y_i, y_j) - 2/m^2 sum_ij k(x_i, y_j).
//
// Their Corollary 9 (m points in each set, 0 <= k <= K = 1): when both sets are independent samples
// of the same distribution,
//
//   P( MMD_b > sqrt(2 / m) (1 + sqrt(2 log(1 / alpha))) ) <= alpha
//
// for any distribution, any bandwidth and any m: a distribution-free bound, so a check that passes
// when MMD_b is below that threshold has a false-failure rate of at most alpha. The bound is
// conservative (it holds for the worst distribution), so a check built on it can only reject
// samples that differ clearly: the chapters show, beside each check, the wrong samples it rejects.
#pragma once

#include <string>

#include "course/check.hpp"
#include "course/types.hpp"

namespace course {

// MMD_b (not squared) between the columns of X and of Y (d x m each) for bandwidth h. The pair
// sums are computed in fixed row blocks and added in order: the same number for any thread count.
double mmd_biased(const MatD& X, const MatD& Y, double bandwidth);

// The threshold sqrt(2 / m) (1 + sqrt(2 log(1 / alpha))) of Gretton et al.'s Corollary 9.
double mmd_threshold(Index m, double alpha);

// A bound row "MMD_b(X, Y) <= threshold": passes when a test of level alpha (default 1e-6) accepts
// that X and Y come from the same distribution. X and Y must have the same number of columns.
CheckRow check_two_sample(const std::string& id, const std::string& claim, const MatD& X, const MatD& Y,
                          double bandwidth, double alpha = 1e-6);

}  // namespace course
