// Chapter 11: every tagged equation of docs/11-ae-limits.md, and the wrong formula each check must
// reject.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "11_ae_limits/checks.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch11;

namespace {
// ---- Planted wrong formulas ----------------------------------------------------------------
double frechet_without_trace_term(const VecD& m1, const MatD&, const VecD& m2, const MatD&) {
  return (m1 - m2).squaredNorm();
}
// 2 tr(S1^{1/2} S2^{1/2}): right only when S1 and S2 commute.
double frechet_commuting_shortcut(const VecD& m1, const MatD& S1, const VecD& m2, const MatD& S2) {
  return (m1 - m2).squaredNorm() + S1.trace() + S2.trace() - 2.0 * (psd_sqrt(S1) * psd_sqrt(S2)).trace();
}
// The cross term without its factor 2.
double frechet_cross_term_once(const VecD& m1, const MatD& S1, const VecD& m2, const MatD& S2) {
  const MatD r = psd_sqrt(S1);
  return (m1 - m2).squaredNorm() + S1.trace() + S2.trace() - psd_sqrt(r * S2 * r).trace();
}

// The query not counted in its own p-value: #{dist(c') >= dist(z)} / n_c <= alpha.
double holes_without_the_query(const MatD& ref, const MatD& cal, const MatD& q, double alpha) {
  auto dist = [&](const auto& x) { return (ref.colwise() - x).colwise().squaredNorm().minCoeff(); };
  VecD dist_cal(cal.cols());
  for (Index i = 0; i < cal.cols(); ++i) dist_cal(i) = dist(cal.col(i));
  double holes = 0;
  for (Index j = 0; j < q.cols(); ++j) holes += double((dist_cal.array() >= dist(q.col(j))).count()) / double(cal.cols()) <= alpha;
  return holes / double(q.cols());
}
// Ties not counted: #{dist(c') > dist(z)} (strict) in the p-value's count.
double holes_ties_not_counted(const MatD& ref, const MatD& cal, const MatD& q, double alpha) {
  auto dist = [&](const auto& x) { return (ref.colwise() - x).colwise().squaredNorm().minCoeff(); };
  VecD dist_cal(cal.cols());
  for (Index i = 0; i < cal.cols(); ++i) dist_cal(i) = dist(cal.col(i));
  double holes = 0;
  for (Index j = 0; j < q.cols(); ++j)
    holes += double(1 + (dist_cal.array() > dist(q.col(j))).count()) / double(cal.cols() + 1) <= alpha;
  return holes / double(q.cols());
}
// A fixed radius: the calibration scores' empirical (1 - alpha) quantile.
double holes_quantile_radius(const MatD& ref, const MatD& cal, const MatD& q, double alpha) {
  auto dist = [&](const auto& x) { return (ref.colwise() - x).colwise().squaredNorm().minCoeff(); };
  std::vector<double> dist_cal;
  for (Index i = 0; i < cal.cols(); ++i) dist_cal.push_back(dist(cal.col(i)));
  std::sort(dist_cal.begin(), dist_cal.end());
  const double radius = dist_cal[std::size_t(std::ceil((1.0 - alpha) * double(dist_cal.size()))) - 1];
  double holes = 0;
  for (Index j = 0; j < q.cols(); ++j) holes += dist(q.col(j)) > radius;
  return holes / double(q.cols());
}

double frechet_cross_term_added(const VecD& m1, const MatD& S1, const VecD& m2, const MatD& S2) {
  const MatD r = psd_sqrt(S1);
  return (m1 - m2).squaredNorm() + S1.trace() + S2.trace() + 2.0 * psd_sqrt(r * S2 * r).trace();
}

// Ties counted as wins (>=) and as losses (>): the pairwise count without the 1/2.
double auc_ties_as_wins(const VecD& n, const VecD& a) {
  double w = 0;
  for (Index i = 0; i < a.size(); ++i) w += double((n.array() <= a(i)).count());
  return w / (double(a.size()) * double(n.size()));
}
double auc_ties_as_losses(const VecD& n, const VecD& a) {
  double w = 0;
  for (Index i = 0; i < a.size(); ++i) w += double((n.array() < a(i)).count());
  return w / (double(a.size()) * double(n.size()));
}
// The ROC area from a curve that steps through tied scores one at a time (anomalies first): the
// staircase of an ordinal ranking, which counts every tie as a win.
double roc_area_ties_as_wins(const Scores& s) {
  std::vector<std::pair<double, int>> all;
  for (Index j = 0; j < s.normal.size(); ++j) all.push_back({s.normal(j), 0});
  for (Index i = 0; i < s.anomaly.size(); ++i) all.push_back({s.anomaly(i), 1});
  std::sort(all.begin(), all.end(), [](auto x, auto y) { return x.first != y.first ? x.first > y.first : x.second > y.second; });
  Roc roc{{0.0}, {0.0}};
  double fp = 0, tp = 0;
  for (auto [score, is_anomaly] : all) {
    (is_anomaly ? tp : fp) += 1;
    roc.fpr.push_back(fp / double(s.normal.size()));
    roc.tpr.push_back(tp / double(s.anomaly.size()));
  }
  return roc_area(roc);
}

// DeLong's components as in exercise 11.4, combined in planted wrong ways.
struct DelongParts {
  double s10, s01, n0, n1;
};
DelongParts delong_parts(const VecD& n, const VecD& a, bool unbiased) {
  MatD psi(a.size(), n.size());
  for (Index j = 0; j < n.size(); ++j)
    for (Index i = 0; i < a.size(); ++i) psi(i, j) = a(i) > n(j) ? 1.0 : (a(i) == n(j) ? 0.5 : 0.0);
  const double A = psi.mean();
  const double n0 = double(n.size()), n1 = double(a.size());
  const double s10 = (psi.rowwise().mean().array() - A).square().sum() / (unbiased ? n1 - 1 : n1);
  const double s01 = (psi.colwise().mean().array() - A).square().sum() / (unbiased ? n0 - 1 : n0);
  return {s10, s01, n0, n1};
}
double delong_biased(const VecD& n, const VecD& a) {
  const DelongParts p = delong_parts(n, a, false);
  return p.s10 / p.n1 + p.s01 / p.n0;
}
double delong_swapped(const VecD& n, const VecD& a) {
  const DelongParts p = delong_parts(n, a, true);
  return p.s10 / p.n0 + p.s01 / p.n1;
}
double delong_one_component(const VecD& n, const VecD& a) {
  const DelongParts p = delong_parts(n, a, true);
  return p.s10 / p.n1;
}

// Chapter 5's Gaussian log-likelihood with sigma for sigma^2.
double loglik_sigma_for_sigma2(const VecD& x, const VecD& m, double s2) {
  return ch05::gaussian_decoder_log_likelihood(x, m, std::sqrt(s2));
}

// Samplers that are not the decoder's sampler.
MatD sample_returns_mean(const MatD& mean, Decoder, double, Rng&) { return mean; }
MatD sample_sigma2_as_sd(const MatD& mean, Decoder d, double s2, Rng& rng) {
  return sample_decoder(mean, d, s2 * s2, rng);
}
MatD sample_u_above_p(const MatD& mean, Decoder, double, Rng& rng) {
  MatD x(mean.rows(), mean.cols());
  for (Index j = 0; j < mean.cols(); ++j)
    for (Index i = 0; i < mean.rows(); ++i) x(i, j) = rng.uniform() > mean(i, j) ? 1.0 : 0.0;
  return x;
}

VecD test_image(std::uint64_t seed) {
  Rng rng(seed);
  return rng.uniform_matrix<double>(28 * 28, 1, 0.0, 1.0);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ch11_ae_limits)

BOOST_AUTO_TEST_CASE(eq_11_1_frechet_distance_matches_the_optimal_coupling) {
  const FrechetCase c = frechet_case();
  COURSE_CHECK(check_eq_11_1_frechet_vs_coupling(c));
  COURSE_CHECK(check_eq_11_1_one_dimensional());
  COURSE_CHECK_REJECTS(check_eq_11_1_frechet_vs_coupling(c, frechet_without_trace_term), "the trace term left out");
  COURSE_CHECK_REJECTS(check_eq_11_1_frechet_vs_coupling(c, frechet_commuting_shortcut),
                       "2 tr(S1^{1/2} S2^{1/2}) (the commuting shortcut)");
  COURSE_CHECK_REJECTS(check_eq_11_1_one_dimensional(frechet_without_trace_term), "the trace term left out (1-D)");
  // The commuting shortcut is exact for commuting (here diagonal) covariances: the check above is
  // what catches it, and it needs non-commuting ones.
  FrechetCase diag = c;
  diag.S1 = c.S1.diagonal().asDiagonal();
  diag.S2 = c.S2.diagonal().asDiagonal();
  COURSE_CHECK(check_identity("11.1", "diagonal covariances: shortcut = closed form", frechet_distance(diag.m1, diag.S1, diag.m2, diag.S2),
                              frechet_commuting_shortcut(diag.m1, diag.S1, diag.m2, diag.S2), 1e-10));
}

BOOST_AUTO_TEST_CASE(eq_11_2_optimal_map_and_other_couplings) {
  const FrechetCase c = frechet_case();
  const MatD T = optimal_map(c.S1, c.S2);
  COURSE_CHECK(check_eq_11_2_map_pushes_forward(c, T));
  COURSE_CHECK(check_eq_11_2_independent_coupling_costs_more(c));
  COURSE_CHECK(check_eq_11_2_cholesky_coupling_costs_more(c));
  // Rejects: the map S1^{-1/2} S2^{1/2} (a coupling, but its image has the wrong covariance when
  // S1 and S2 do not commute), and a Frechet distance whose cross term lacks the factor 2.
  const MatD naive = psd_sqrt(c.S1).inverse() * psd_sqrt(c.S2);
  COURSE_CHECK_REJECTS(check_eq_11_2_map_pushes_forward(c, naive), "T = S1^{-1/2} S2^{1/2}");
  COURSE_CHECK_REJECTS(check_eq_11_2_independent_coupling_costs_more(c, frechet_cross_term_added),
                       "the cross term added instead of subtracted");
  COURSE_CHECK_REJECTS(check_eq_11_1_frechet_vs_coupling(c, frechet_cross_term_once), "the cross term without its factor 2");
}

BOOST_AUTO_TEST_CASE(eq_11_3_hole_p_values_are_exact_under_the_null) {
  for (double alpha : {0.12, 0.27}) {
    COURSE_CHECK(check_eq_11_3_null_rate(alpha));
    COURSE_CHECK_REJECTS(check_eq_11_3_null_rate(alpha, holes_without_the_query, 30, 19, 10, 20000),
                         "the query not counted in its own p-value");
    COURSE_CHECK_REJECTS(check_eq_11_3_null_rate(alpha, holes_quantile_radius, 30, 19, 10, 20000),
                         "the calibration scores' (1 - alpha) quantile as a radius");
  }
  COURSE_CHECK(check_eq_11_3_far_queries());
  COURSE_CHECK_REJECTS(check_eq_11_3_far_queries(holes_without_the_query), "the query not counted in its own p-value");
}

BOOST_AUTO_TEST_CASE(eq_11_3_a_tied_calibration_score_counts_in_the_p_value) {
  COURSE_CHECK(check_eq_11_3_tied_queries());
  // (The null-rate check cannot see a strict comparison: continuous codes never tie.)
  COURSE_CHECK_REJECTS(check_eq_11_3_tied_queries(holes_ties_not_counted), "a strict > (ties not counted)");
  COURSE_CHECK_REJECTS(check_eq_11_3_tied_queries(holes_without_the_query), "the query not counted in its own p-value");
  COURSE_CHECK_REJECTS(check_eq_11_3_tied_queries(holes_quantile_radius), "the calibration scores' (1 - alpha) quantile");
}

BOOST_AUTO_TEST_CASE(eq_11_4_auc_is_the_mann_whitney_probability) {
  const Scores s = tied_scores();
  COURSE_CHECK(check_eq_11_4_auc_is_mann_whitney(s));
  COURSE_CHECK(check_eq_11_4_roc_area_is_mann_whitney(s));
  COURSE_CHECK_REJECTS(check_eq_11_4_auc_is_mann_whitney(s, auc_ties_as_wins), "ties counted as wins");
  COURSE_CHECK_REJECTS(check_eq_11_4_auc_is_mann_whitney(s, auc_ties_as_losses), "ties counted as losses");
  COURSE_CHECK_REJECTS(check_eq_11_4_roc_area_is_mann_whitney(s, roc_area_ties_as_wins),
                       "an ROC curve stepping through ties one score at a time");
  // Without ties the three agree with the simple count too; and the extremes are 0 and 1.
  const Scores apart{(VecD(3) << 0.1, 0.2, 0.3).finished(), (VecD(2) << 0.5, 0.7).finished()};
  COURSE_CHECK(check_identity("11.4", "separated scores: AUC = 1", 1.0, auc_mann_whitney(apart.normal, apart.anomaly)));
  COURSE_CHECK(check_identity("11.4", "reversed scores: AUC = 0", 0.0, auc_mann_whitney(apart.anomaly, apart.normal)));
  COURSE_CHECK(check_identity("11.4", "all tied: AUC = 1/2", 0.5, auc_mann_whitney(VecD::Ones(4), VecD::Ones(3))));
}

BOOST_AUTO_TEST_CASE(eq_11_5_auc_variance_and_delong_expectation) {
  const ExponentialScores e;
  COURSE_CHECK(check_eq_11_5_auc_variance(e));
  COURSE_CHECK(check_eq_11_5_delong_expectation(e));
  COURSE_CHECK_REJECTS(check_eq_11_5_delong_expectation(e, delong_biased), "variances divided by n (biased)");
  COURSE_CHECK_REJECTS(check_eq_11_5_delong_expectation(e, delong_swapped), "the components swapped (S10/n0 + S01/n1)");
  COURSE_CHECK_REJECTS(check_eq_11_5_delong_expectation(e, delong_one_component), "one component only (S10/n1)");
  // The exercise agrees with the components computed here (same formula).
  const Scores s = tied_scores();
  const DelongParts p = delong_parts(s.normal, s.anomaly, true);
  COURSE_CHECK(check_identity("11.5", "delong_variance = S10/n1 + S01/n0 on tied scores", p.s10 / p.n1 + p.s01 / p.n0,
                              delong_variance(s.normal, s.anomaly), 1e-12));
}

BOOST_AUTO_TEST_CASE(eq_11_6_a_shift_costs_the_image_s_horizontal_gradient) {
  const VecD x = test_image(116);
  COURSE_CHECK(check_eq_11_6_shift_error(x, 28, 28));
  COURSE_CHECK_REJECTS(check_eq_11_6_shift_error(x, 28, 28,
                                                 [](const VecD& v, Index rows, Index cols) {
                                                   double e = horizontal_gradient_energy(v, rows, cols);
                                                   for (Index r = 0; r < rows; ++r) e -= v(r * cols + cols - 1) * v(r * cols + cols - 1);
                                                   return e;
                                                 }),
                       "the step to the zero fill at the right edge left out");
  // The blur is normalised: a constant image stays constant away from the border.
  const VecD flat = VecD::Ones(28 * 28), blurred = gaussian_blur(flat, 28, 28, 1.5);
  COURSE_CHECK(check_identity("11.6", "the blur kernel sums to 1 (centre pixel of a flat image)", 1.0, blurred(14 * 28 + 14), 1e-12));
}

BOOST_AUTO_TEST_CASE(eq_11_7_gaussian_log_likelihood_ranks_by_squared_error) {
  const VecD x = test_image(117), shifted = shift_left(x, 28, 28), blurred = gaussian_blur(x, 28, 28, 1.5);
  for (double s2 : {0.01, 0.3, 2.0}) {
    COURSE_CHECK(check_eq_11_7_loglik_difference(x, shifted, blurred, s2));
    if (s2 != 1.0) COURSE_CHECK_REJECTS(check_eq_11_7_loglik_difference(x, shifted, blurred, s2, loglik_sigma_for_sigma2),
                                        "sigma for sigma^2 in log N");
  }
  const double se = (x - blurred).squaredNorm();
  COURSE_CHECK(check_eq_11_7_profile(x, blurred, profile_log_likelihood(se, x.size())));
  // Rejects: s2 = SE (not SE / D) put into log N.
  COURSE_CHECK_REJECTS(check_eq_11_7_profile(x, blurred, ch05::gaussian_decoder_log_likelihood(x, blurred, se)),
                       "s2 = SE instead of SE / D");
}

BOOST_AUTO_TEST_CASE(eq_11_8_decoder_samples_have_the_decoder_s_variance) {
  COURSE_CHECK(check_eq_11_8_decoder_moments(Decoder::Bernoulli, 0.0));
  COURSE_CHECK(check_eq_11_8_decoder_moments(Decoder::Gaussian, 0.3));
  COURSE_CHECK_REJECTS(check_eq_11_8_decoder_moments(Decoder::Bernoulli, 0.0, sample_returns_mean, true, 2000),
                       "the mean returned as the sample (Bernoulli)");
  COURSE_CHECK_REJECTS(check_eq_11_8_decoder_moments(Decoder::Gaussian, 0.3, sample_returns_mean, true, 2000),
                       "the mean returned as the sample (Gaussian)");
  COURSE_CHECK_REJECTS(check_eq_11_8_decoder_moments(Decoder::Gaussian, 0.3, sample_sigma2_as_sd, true, 4000),
                       "sigma^2 as the standard deviation");
  COURSE_CHECK_REJECTS(check_eq_11_8_decoder_moments(Decoder::Bernoulli, 0.0, sample_u_above_p, true, 4000), "x = [u > p]");
  COURSE_CHECK_REJECTS(check_eq_11_8_decoder_moments(Decoder::Bernoulli, 0.0, sample_decoder, false),
                       "the biased sample variance (divided by k)");
  COURSE_CHECK_REJECTS(check_eq_11_8_decoder_moments(Decoder::Gaussian, 0.3, sample_decoder, false),
                       "the biased sample variance (divided by k), Gaussian");
}

BOOST_AUTO_TEST_SUITE_END()
