// Chapter 6: every tagged equation of docs/06-gaussian-kl.md, and the wrong formula each check
// must reject.
#include <omp.h>

#include <cstring>

#include "06_gaussian_kl/checks.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch06;

namespace {

constexpr Index kMoments = 1 << 18;  // Monte Carlo samples for (6.2)-(6.5)
constexpr Index kKl = 1 << 20;       // for the KL estimates (6.6), (6.7)

const Pair& pair() {
  static const Pair p = general_pair();
  return p;
}

// The likely wrong versions of eq. 6.6 a student writes.
double kl_missing_half(const VecD& m0, const MatD& S0, const VecD& m1, const MatD& S1) {
  return 2.0 * kl_gaussian(m0, S0, m1, S1);
}
double kl_s0_inverse(const VecD& m0, const MatD& S0, const VecD& m1, const MatD& S1) {
  // S0^-1 where S1^-1 belongs: tr(S0^-1 S1) + d^T S0^-1 d.
  const Eigen::LLT<MatD> L0(S0);
  const VecD d = m1 - m0;
  const double logdet0 = std::log(S0.determinant()), logdet1 = std::log(S1.determinant());
  return 0.5 * (L0.solve(S1).trace() + d.dot(L0.solve(d)) - double(m0.size()) + logdet1 - logdet0);
}
double kl_flipped_log_det(const VecD& m0, const MatD& S0, const VecD& m1, const MatD& S1) {
  // log det S0 / det S1 instead of log det S1 / det S0.
  return kl_gaussian(m0, S0, m1, S1) - std::log(S1.determinant()) + std::log(S0.determinant());
}
double kl_missing_k(const VecD& m0, const MatD& S0, const VecD& m1, const MatD& S1) {
  return kl_gaussian(m0, S0, m1, S1) + 0.5 * double(m0.size());
}

// The likely wrong versions of eq. 6.7.
double diag_missing_half(const VecD& mu, const VecD& lv) { return 2.0 * kl_diag_std_normal(mu, lv); }
double diag_sigma_for_sigma2(const VecD& mu, const VecD& lv) {
  return 0.5 * (mu.squaredNorm() + (0.5 * lv.array()).exp().sum() - double(lv.size()) - lv.sum());
}
double diag_log_sigma_for_log_sigma2(const VecD& mu, const VecD& lv) {
  return 0.5 * (mu.squaredNorm() + lv.array().exp().sum() - double(lv.size()) - 0.5 * lv.sum());
}
double diag_flipped_sign(const VecD& mu, const VecD& lv) {
  return 0.5 * (mu.squaredNorm() + lv.array().exp().sum() - double(lv.size()) + lv.sum());
}
// Every check of eq. 6.7 must reject each of them.
struct WrongDiagKl {
  double (*kl)(const VecD&, const VecD&);
  const char* name;
};
const WrongDiagKl kWrongDiagKls[] = {{diag_missing_half, "a missing 1/2"},
                                     {diag_sigma_for_sigma2, "sigma for sigma^2"},
                                     {diag_log_sigma_for_log_sigma2, "log sigma for log sigma^2"},
                                     {diag_flipped_sign, "+ log sigma^2 (a flipped sign)"}};

}  // namespace

BOOST_AUTO_TEST_SUITE(ch06_gaussian_kl)

// ---- (6.1) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_1_gaussian_density_has_mass_one_mean_mu_and_covariance_s) {
  COURSE_CHECK(check_eq_6_1_density_1d(0.7, 0.36));
  COURSE_CHECK(check_eq_6_1_density_1d(-2.0, 4.0));
  COURSE_CHECK(check_eq_6_1_density_2d());
  // The same formula inside the chapter's Monte Carlo class agrees with the exercise.
  const Pair& p = pair();
  const VecD z = p.q1.mean() + VecD::Constant(3, 0.3);
  COURSE_CHECK(check_identity("6.1", "Gaussian::log_density = gaussian_log_density", p.q0.log_density(z),
                              gaussian_log_density(z, p.q0.mean(), p.q0.cov())));

  auto quadratic = [](const VecD& z, const VecD& mu, const MatD& S) {
    return (z - mu).dot(Eigen::LLT<MatD>(S).solve(z - mu));
  };
  auto log_det = [](const MatD& S) { return std::log(S.determinant()); };
  const double log2pi = std::log(2.0 * std::numbers::pi);
  COURSE_CHECK_REJECTS(check_eq_6_1_density_1d(0.7, 0.36, [&](const VecD& z, const VecD& mu, const MatD& S) {
    return -0.5 * (log2pi + log_det(S)) - quadratic(z, mu, S);
  }), "a missing 1/2 on the quadratic form");
  COURSE_CHECK_REJECTS(check_eq_6_1_density_1d(0.7, 0.36, [&](const VecD& z, const VecD& mu, const MatD& S) {
    return -0.5 * (log2pi + log_det(S) + (z - mu).dot(S * (z - mu)));
  }), "S for S^-1");
  COURSE_CHECK_REJECTS(check_eq_6_1_density_1d(0.7, 0.36, [&](const VecD& z, const VecD& mu, const MatD& S) {
    return -0.5 * (log2pi + 0.5 * log_det(S) + quadratic(z, mu, S));
  }), "log sigma for log sigma^2");
  COURSE_CHECK_REJECTS(check_eq_6_1_density_2d([&](const VecD& z, const VecD& mu, const MatD& S) {
    return -0.5 * (log2pi + log_det(S) + quadratic(z, mu, S));
  }), "log(2 pi) not multiplied by k");
}

// ---- (6.2)-(6.4) -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_2_centred_second_moment_is_the_covariance) {
  const Pair& p = pair();
  COURSE_CHECK(check_eq_6_2_centred_second_moment(p, kMoments, 2));
  const McVecEstimate e = mc_second_moment_about(p.q0, p.q0.mean(), kMoments, 2);
  COURSE_CHECK_REJECTS(check_monte_carlo("6.2", "", flatten(p.q0.chol()), e), "the Cholesky factor L0 for S0 = L0 L0^T");
  COURSE_CHECK_REJECTS(check_monte_carlo("6.2", "", flatten(p.q0.cov().inverse()), e), "S0^-1");
}

BOOST_AUTO_TEST_CASE(eq_6_3_second_moment_about_the_other_mean) {
  const Pair& p = pair();
  COURSE_CHECK(check_eq_6_3_second_moment_about_mu1(p, kMoments, 3));
  const McVecEstimate e = mc_second_moment_about(p.q0, p.q1.mean(), kMoments, 3);
  const VecD d = p.q0.mean() - p.q1.mean();
  COURSE_CHECK_REJECTS(check_monte_carlo("6.3", "", flatten(p.q0.cov()), e), "S0 alone (the outer product forgotten)");
  COURSE_CHECK_REJECTS(check_monte_carlo("6.3", "", flatten(p.q0.cov() - d * d.transpose()), e),
                       "S0 - (mu0 - mu1)(mu0 - mu1)^T (a flipped sign)");
}

BOOST_AUTO_TEST_CASE(eq_6_4_expected_quadratic_form_is_a_trace) {
  const Pair& p = pair();
  COURSE_CHECK(check_eq_6_4_quadratic_form(p, kMoments, 4));
  const McEstimate e = mc_quadratic_form(p, kMoments, 4);
  const MatD A = quadratic_form_matrix();
  const VecD& m = p.q0.mean();
  COURSE_CHECK_REJECTS(check_monte_carlo("6.4", "", m.dot(A * m), e), "mu^T A mu (the mean only)");
  COURSE_CHECK_REJECTS(check_monte_carlo("6.4", "", (A * p.q0.cov()).trace(), e), "tr(A S0) (the covariance only)");
}

// ---- (6.5) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_5_expected_log_densities_under_q0) {
  const Pair& p = pair();
  COURSE_CHECK(check_eq_6_5_expected_log_q0(p, kMoments, 5));
  COURSE_CHECK(check_eq_6_5_expected_log_q1(p, kMoments, 6));
  const double k = 3.0;
  COURSE_CHECK_REJECTS(check_monte_carlo("6.5", "", expected_log_q0(p) + 0.5 * k, mc_expected_log_density(p.q0, p.q0, kMoments, 5)),
                       "E_q0[log q0] without the + k (E of the quadratic form taken as 0)");
  const VecD d = p.q0.mean() - p.q1.mean();
  const Eigen::LLT<MatD> L1(p.q1.cov()), L0(p.q0.cov());
  const double wrong = -0.5 * (k * std::log(2.0 * std::numbers::pi) + p.q1.log_det() + L0.solve(p.q1.cov()).trace() +
                               d.dot(L1.solve(d)));
  COURSE_CHECK_REJECTS(check_monte_carlo("6.5", "", wrong, mc_expected_log_density(p.q0, p.q1, kMoments, 6)),
                       "tr(S0^-1 S1) for tr(S1^-1 S0)");
}

// ---- (6.6) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_6_general_kl_closed_form_vs_monte_carlo) {
  const Pair& p = pair();
  COURSE_CHECK(check_eq_6_6_kl_vs_monte_carlo(p, kKl, 7));
  const McEstimate e = mc_kl(p.q0, p.q1, kKl, 7);
  COURSE_CHECK_REJECTS(check_monte_carlo("6.6", "", kl_of(p.q0, p.q1, kl_missing_half), e), "a missing 1/2");
  COURSE_CHECK_REJECTS(check_monte_carlo("6.6", "", kl_of(p.q0, p.q1, kl_s0_inverse), e), "S0^-1 in place of S1^-1");
  COURSE_CHECK_REJECTS(check_monte_carlo("6.6", "", kl_of(p.q0, p.q1, kl_flipped_log_det), e),
                       "log det S0 / det S1 (a flipped sign)");
  COURSE_CHECK_REJECTS(check_monte_carlo("6.6", "", kl_of(p.q0, p.q1, kl_missing_k), e), "a missing - k");
}

BOOST_AUTO_TEST_CASE(eq_6_6_general_kl_closed_form_vs_quadrature_in_one_dimension) {
  COURSE_CHECK(check_eq_6_6_kl_vs_quadrature());
  COURSE_CHECK(check_eq_6_6_kl_vs_quadrature(kl_gaussian, -1.0, 2.5, 0.3, 0.2));  // q1 narrower than q0
  COURSE_CHECK_REJECTS(check_eq_6_6_kl_vs_quadrature(kl_missing_half), "a missing 1/2");
  COURSE_CHECK_REJECTS(check_eq_6_6_kl_vs_quadrature(kl_s0_inverse), "S0^-1 in place of S1^-1");
  COURSE_CHECK_REJECTS(check_eq_6_6_kl_vs_quadrature(kl_flipped_log_det), "log det S0 / det S1");
}

// The Monte Carlo estimate is the same, bit for bit, with one thread and with two.
BOOST_AUTO_TEST_CASE(eq_6_6_monte_carlo_is_bitwise_independent_of_the_thread_count) {
  const Pair& p = pair();
  const int before = omp_get_max_threads();
  set_threads(1);
  const McEstimate one = mc_kl(p.q0, p.q1, 100000, 11);  // 25 chunks of 4096: uneven across threads
  set_threads(2);
  const McEstimate two = mc_kl(p.q0, p.q1, 100000, 11);
  set_threads(before);
  BOOST_TEST(std::memcmp(&one.mean, &two.mean, sizeof(double)) == 0, "means " << one.mean << " vs " << two.mean);
  BOOST_TEST(std::memcmp(&one.se, &two.se, sizeof(double)) == 0, "SEs " << one.se << " vs " << two.se);
}

// ---- (6.7) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_7_diagonal_kl_equals_the_lectures_form) {
  const DiagPosterior q = vae_posterior();
  COURSE_CHECK(check_eq_6_7_lecture_form(q));
  for (const auto& w : kWrongDiagKls) COURSE_CHECK_REJECTS(check_eq_6_7_lecture_form(q, w.kl), w.name);
}

// Where the two closed forms overlap (S0 diagonal, mu1 = 0, S1 = I) they agree: exercises 6.1 and 6.3.
BOOST_AUTO_TEST_CASE(eq_6_7_diagonal_kl_equals_the_general_form) {
  const DiagPosterior q = vae_posterior();
  COURSE_CHECK(check_eq_6_7_diag_equals_general(q));
  for (const auto& w : kWrongDiagKls) COURSE_CHECK_REJECTS(check_eq_6_7_diag_equals_general(q, w.kl), w.name);
}

BOOST_AUTO_TEST_CASE(eq_6_7_diagonal_kl_vs_monte_carlo) {
  const DiagPosterior q = vae_posterior();
  COURSE_CHECK(check_eq_6_7_diag_vs_monte_carlo(q, kKl, 8));
  const McEstimate e = mc_kl(diagonal_gaussian(q.mu, q.log_var), standard_normal(8), kKl, 8);
  for (const auto& w : kWrongDiagKls) COURSE_CHECK_REJECTS(check_monte_carlo("6.7", "", w.kl(q.mu, q.log_var), e), w.name);
}

BOOST_AUTO_TEST_CASE(eq_6_7_diagonal_kl_vs_quadrature_in_one_dimension) {
  COURSE_CHECK(check_eq_6_7_diag_vs_quadrature());
  COURSE_CHECK(check_eq_6_7_diag_vs_quadrature(kl_diag_std_normal, -0.4, 1.2));
  for (const auto& w : kWrongDiagKls) COURSE_CHECK_REJECTS(check_eq_6_7_diag_vs_quadrature(w.kl), w.name);
}

// ---- (6.8) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_8_gradient_matches_central_differences) {
  const DiagPosterior q = vae_posterior();
  COURSE_CHECK(check_eq_6_8_gradient(q));
  COURSE_CHECK_REJECTS(check_eq_6_8_gradient(q, [](const VecD& mu, const VecD& lv) {
    const Eigen::ArrayXd s = (0.5 * lv.array()).exp();
    return KlDiagGradient{mu, (s - 1.0 / s).matrix()};
  }), "the derivative with respect to sigma (sigma - 1/sigma)");
  COURSE_CHECK_REJECTS(check_eq_6_8_gradient(q, [](const VecD& mu, const VecD& lv) {
    return KlDiagGradient{mu, (lv.array().exp() - 1.0).matrix()};
  }), "the derivative with respect to log sigma (sigma^2 - 1, a missing 1/2)");
  COURSE_CHECK_REJECTS(check_eq_6_8_gradient(q, [](const VecD& mu, const VecD& lv) {
    return KlDiagGradient{2.0 * mu, 0.5 * (lv.array().exp() - 1.0).matrix()};
  }), "2 mu for mu");
  COURSE_CHECK_REJECTS(check_eq_6_8_gradient(q, [](const VecD& mu, const VecD& lv) {
    return KlDiagGradient{mu, 0.5 * (1.0 - lv.array().exp()).matrix()};
  }), "a flipped sign in dKL/dlog sigma^2");
}

// ---- (6.9) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_9_kl_is_nonnegative_and_zero_only_for_equal_distributions) {
  const Pair& p = pair();
  COURSE_CHECK(check_eq_6_9_eigenvalue_form(p));
  COURSE_CHECK(check_eq_6_9_nonnegative());
  COURSE_CHECK(check_eq_6_9_zero_iff_equal());
  COURSE_CHECK(check_eq_6_9_mean_shift(p));
  COURSE_CHECK_REJECTS(check_eq_6_9_eigenvalue_form(p, kl_s0_inverse), "S0^-1 in place of S1^-1");
  COURSE_CHECK_REJECTS(check_eq_6_9_nonnegative(kl_flipped_log_det), "log det S0 / det S1 (negative for some pairs)");
  COURSE_CHECK_REJECTS(check_eq_6_9_zero_iff_equal(kl_missing_k), "a missing - k (KL(q || q) = k/2)");
  COURSE_CHECK_REJECTS(check_eq_6_9_mean_shift(p, kl_missing_half), "a missing 1/2");
}

// ---- (6.10) ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_6_10_kl_is_not_symmetric) {
  COURSE_CHECK(check_eq_6_10_forward());
  COURSE_CHECK(check_eq_6_10_reverse());
  COURSE_CHECK(check_eq_6_10_not_symmetric());
  auto symmetrised = [](const VecD& m0, const MatD& S0, const VecD& m1, const MatD& S1) {
    return 0.5 * (kl_gaussian(m0, S0, m1, S1) + kl_gaussian(m1, S1, m0, S0));
  };
  COURSE_CHECK_REJECTS(check_eq_6_10_not_symmetric(symmetrised), "a symmetrised divergence");
  COURSE_CHECK_REJECTS(check_eq_6_10_forward(symmetrised), "a symmetrised divergence");
}

BOOST_AUTO_TEST_SUITE_END()
