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
