// The harness itself: every check must pass on a right answer and fail on a wrong one.
#include <cmath>

#include "check_test.hpp"

using namespace course;

BOOST_AUTO_TEST_SUITE(check_harness)

BOOST_AUTO_TEST_CASE(identity_passes_equal_sides_and_fails_a_relative_error_above_tolerance) {
  COURSE_CHECK(check_identity("0.1", "equal", 1234.5, 1234.5 * (1 + 1e-12)));
  COURSE_CHECK_REJECTS(check_identity("0.1", "off by 1e-9", 1.0, 1.0 + 1e-9), "a difference of 1e-9");
  COURSE_CHECK_REJECTS(check_identity("0.1", "NaN", NAN, NAN), "NaN on both sides");
}

BOOST_AUTO_TEST_CASE(matrix_identity_reports_the_worst_entry_and_rejects_shape_mismatch) {
  MatD a = MatD::Identity(3, 3), b = a;
  b(2, 1) = 1e-6;
  const CheckRow r = check_identity("0.2", "I = I", a, b);
  BOOST_TEST(!r.pass);
  BOOST_TEST(r.detail.find("(2, 1)") != std::string::npos);
  COURSE_CHECK_REJECTS(check_identity("0.2", "shapes", MatD::Zero(2, 3), MatD::Zero(3, 2)), "a transposed matrix");
}

BOOST_AUTO_TEST_CASE(bound_check_is_one_sided) {
  COURSE_CHECK(check_bound("0.3", "1 <= 2", 1.0, 2.0));
  COURSE_CHECK_REJECTS(check_bound("0.3", "2 <= 1", 2.0, 1.0), "a reversed inequality");
}

BOOST_AUTO_TEST_CASE(gradient_check_accepts_the_gradient_and_rejects_a_missing_factor_two) {
  // f(x) = sum_i x_i^2 sin(x_i), f'(x_i) = 2 x_i sin(x_i) + x_i^2 cos(x_i).
  auto f = [](const VecD& x) { return (x.array().square() * x.array().sin()).sum(); };
  VecD x(4);
  x << 0.3, -1.2, 2.5, 7.0;
  const VecD g = (2 * x.array() * x.array().sin() + x.array().square() * x.array().cos()).matrix();
  COURSE_CHECK(check_gradient("0.4", "d/dx x^2 sin x", f, x, g));
  const VecD missing_two = (x.array() * x.array().sin() + x.array().square() * x.array().cos()).matrix();
  const CheckRow wrong = check_gradient("0.4", "missing 2", f, x, missing_two);
  COURSE_CHECK_REJECTS(wrong, "a missing factor 2");
  BOOST_TEST(wrong.detail.find("Detected 4 bad gradient component(s)") != std::string::npos, wrong.detail);
  BOOST_TEST(wrong.detail.find("<-- bad") != std::string::npos);
  COURSE_CHECK_REJECTS(check_gradient("0.4", "sign", f, x, VecD(-g)), "a flipped sign");
}

BOOST_AUTO_TEST_CASE(gradient_check_over_matrix_blocks_restores_the_parameters) {
  // L(W) = 1/2 ||W a||^2, dL/dW = (W a) a^T.
  MatD W(2, 3);
  W << 1, 2, 3, -1, 0.5, 0.25;
  VecD a(3);
  a << 0.2, -0.7, 1.1;
  const MatD W0 = W;
  const MatD G = (W * a) * a.transpose();
  COURSE_CHECK(check_gradient("0.5", "dL/dW", [&] { return 0.5 * (W * a).squaredNorm(); }, {grad_block("W", W, G)}));
  BOOST_TEST((W - W0).norm() == 0.0);
  const MatD Gt = G.transpose();  // 3 x 2: a shape mistake is an error before any arithmetic
  BOOST_CHECK_THROW(grad_block("W", W, Gt), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(monte_carlo_check_states_its_false_failure_rate_and_rejects_a_biased_formula) {
  BOOST_TEST(std::abs(false_failure_rate(5.0) - 5.733e-7) < 1e-9);
  BOOST_TEST(std::abs(z_for_false_failure_rate(5.733031438470704e-7) - 5.0) < 1e-6);
  // E[e^2] = 1 for e ~ N(0,1).
  const McEstimate est = monte_carlo(200000, 7, [](Rng& r) { const double e = r.normal(); return e * e; });
  COURSE_CHECK(check_monte_carlo("0.6", "E[e^2] = 1", 1.0, est));
  COURSE_CHECK_REJECTS(check_monte_carlo("0.6", "E[e^2] = 0.98", 0.98, est), "a value off by 2%");
  const CheckRow r = check_monte_carlo("0.6", "E[e^2] = 1", 1.0, est);
  BOOST_TEST(r.detail.find("false-failure rate 5.7e-07") != std::string::npos, r.detail);
}

BOOST_AUTO_TEST_CASE(monte_carlo_results_do_not_depend_on_the_thread_count) {
  auto draw = [](Rng& r) { return std::exp(r.normal()); };
  set_threads(1);
  const McEstimate one = monte_carlo(50000, 11, draw);
  set_threads(2);
  const McEstimate two = monte_carlo(50000, 11, draw);
  BOOST_TEST(one.mean == two.mean);  // bitwise
  BOOST_TEST(one.se == two.se);
}

BOOST_AUTO_TEST_CASE(vector_monte_carlo_check_is_bonferroni_corrected) {
  const McVecEstimate est = monte_carlo_vec(100000, 3, 5, [](Rng& r, Eigen::Ref<VecD> out) {
    out(0) = r.normal();
    out(1) = 2.0 + r.normal();
    out(2) = r.uniform();
  });
  VecD truth(3);
  truth << 0.0, 2.0, 0.5;
  COURSE_CHECK(check_monte_carlo("0.7", "means", truth, est));
  truth(2) = 0.51;
  COURSE_CHECK_REJECTS(check_monte_carlo("0.7", "means", truth, est), "a wrong third mean");
}

// ---- A NaN or an infinity fails every check kind, wherever it enters -------------------------
// The wrong code this guards against: an exercise that returns NaN (0/0, log of a negative
// variance) and a check whose comparisons are all false on NaN, so that "not greater than the
// tolerance" is read as a pass (a KS statistic that sorts NaNs away, Eigen's maxCoeff skipping a
// NaN entry, a hand-built row that sets pass itself).
namespace {
const double kNonFinite[] = {NAN, INFINITY, -INFINITY};
}

BOOST_AUTO_TEST_CASE(non_finite_values_fail_identity_and_bound_checks) {
  for (double bad : kNonFinite) {
    COURSE_CHECK_REJECTS(check_identity("0.8", "lhs", bad, 1.0), "a non-finite left side");
    COURSE_CHECK_REJECTS(check_identity("0.8", "rhs", 1.0, bad), "a non-finite right side");
    COURSE_CHECK_REJECTS(check_identity("0.8", "both", bad, bad), "non-finite on both sides");
    COURSE_CHECK_REJECTS(check_identity("0.8", "tol", 1.0, 1.0, bad), "a non-finite tolerance");
    MatD a = MatD::Identity(3, 3), b = a;
    b(1, 2) = bad;
    COURSE_CHECK_REJECTS(check_identity("0.8", "matrix rhs", a, b), "a non-finite matrix entry (rhs)");
    COURSE_CHECK_REJECTS(check_identity("0.8", "matrix lhs", b, a), "a non-finite matrix entry (lhs)");
    COURSE_CHECK_REJECTS(check_bound("0.8", "lower", bad, 1.0), "a non-finite lower side");
    COURSE_CHECK_REJECTS(check_bound("0.8", "upper", 0.0, bad), "a non-finite upper side");
    COURSE_CHECK_REJECTS(check_row("0.8", "custom", "statistic", 1.0, bad, 0.0, 1.0), "a non-finite custom row");
    COURSE_CHECK_REJECTS(check_row("0.8", "custom", "statistic", 1.0, 0.5, bad, 1.0), "a non-finite custom error");
  }
}

BOOST_AUTO_TEST_CASE(non_finite_values_fail_gradient_checks) {
  auto f = [](const VecD& x) { return 0.5 * x.squaredNorm(); };
  const VecD x = (VecD(3) << 0.5, -1.0, 2.0).finished();
  for (double bad : kNonFinite) {
    VecD g = x;
    g(1) = bad;
    COURSE_CHECK_REJECTS(check_gradient("0.9", "analytic", f, x, g), "a non-finite analytic entry");
    COURSE_CHECK_REJECTS(check_gradient("0.9", "loss", [bad](const VecD&) { return bad; }, x, x), "a non-finite loss");
    // A loss that goes non-finite on one side of one coordinate only.
    COURSE_CHECK_REJECTS(check_gradient("0.9", "one side", [&](const VecD& y) { return y(2) > 2.0 ? bad : f(y); }, x, x),
                         "a loss that is non-finite at x + h e_3");
  }
}

BOOST_AUTO_TEST_CASE(non_finite_values_fail_monte_carlo_checks) {
  const McEstimate ok = monte_carlo(20000, 3, [](Rng& r) { return r.normal(); });
  COURSE_CHECK(check_monte_carlo("0.10", "E e = 0", 0.0, ok));
  for (double bad : kNonFinite) {
    COURSE_CHECK_REJECTS(check_monte_carlo("0.10", "analytic", bad, ok), "a non-finite closed form");
    // One non-finite draw among 20000.
    const McEstimate one_bad = monte_carlo(20000, 3, [bad](Rng& r) { const double e = r.normal(); return e > 3.5 ? bad : e; });
    COURSE_CHECK_REJECTS(check_monte_carlo("0.10", "one draw", 0.0, one_bad), "a sampler with one non-finite draw");
    McEstimate se = ok;
    se.se = bad;
    COURSE_CHECK_REJECTS(check_monte_carlo("0.10", "se", 0.0, se), "a non-finite standard error");

    const McVecEstimate v = monte_carlo_vec(20000, 4, 5, [bad](Rng& r, Eigen::Ref<VecD> out) {
      for (Index k = 0; k < 4; ++k) out(k) = r.normal();
      if (out(3) > 3.5) out(3) = bad;  // the last entry: Eigen's maxCoeff may skip it
    });
    COURSE_CHECK_REJECTS(check_monte_carlo("0.10", "vector draw", VecD::Zero(4), v), "one non-finite entry of a vector draw");
    const McVecEstimate fine = monte_carlo_vec(20000, 4, 5, [](Rng& r, Eigen::Ref<VecD> out) {
      for (Index k = 0; k < 4; ++k) out(k) = r.normal();
    });
    COURSE_CHECK(check_monte_carlo("0.10", "vector", VecD::Zero(4), fine));
    for (Index k = 0; k < 4; ++k) {
      VecD analytic = VecD::Zero(4);
      analytic(k) = bad;
      COURSE_CHECK_REJECTS(check_monte_carlo("0.10", "vector analytic", analytic, fine), "a non-finite closed-form entry");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_hand_built_row_with_a_non_finite_side_fails_in_the_table) {
  CheckRow r = check_row("0.11", "custom", "statistic", 1.0, 0.5, 0.5, 1.0);
  BOOST_TEST(r.passed());
  r.numeric = NAN;  // a chapter that sets the fields itself and forgets the NaN
  BOOST_TEST(!r.passed());
  CheckTable t;
  BOOST_TEST(!t.add(r).pass);
  BOOST_TEST(t.failures() == 1);
}

BOOST_AUTO_TEST_CASE(format_number_shows_small_numbers) {
  BOOST_TEST(format_number(1e-9) == "1e-09");  // std::to_string prints "0.000000"
  BOOST_TEST(format_number(0.25, 2) == "0.25");
  BOOST_TEST(format_number(0.5, 2) == "0.5");
}

BOOST_AUTO_TEST_CASE(table_counts_failures) {
  CheckTable t;
  t.add(check_identity("1", "a", 1, 1));
  t.add(check_identity("2", "b", 1, 2));
  BOOST_TEST(t.failures() == 1);
  BOOST_TEST(!t.all_pass());
  std::ostringstream os;
  t.print(os, "title");
  BOOST_TEST(os.str().find("1 of 2 checks pass") != std::string::npos);
  BOOST_TEST(os.str().find("FAILED [2]") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
