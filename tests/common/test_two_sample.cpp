// The MMD two-sample check (course/two_sample.hpp).
#include <cmath>

#include "check_test.hpp"
#include "course/two_sample.hpp"

using namespace course;

BOOST_AUTO_TEST_SUITE(two_sample)

BOOST_AUTO_TEST_CASE(mmd_of_a_sample_with_itself_is_zero_and_the_threshold_is_gretton_et_al_s) {
  Rng rng(1);
  const MatD X = rng.normal_matrix<double>(2, 300);
  COURSE_CHECK(check_identity("mmd", "MMD_b(X, X) = 0", mmd_biased(X, X, 0.5), 0.0, 1e-7));
  // sqrt(2/m) (1 + sqrt(2 log(1/alpha))) at m = 4000, alpha = 1e-6.
  COURSE_CHECK(check_identity("mmd", "threshold", mmd_threshold(4000, 1e-6),
                              std::sqrt(2.0 / 4000.0) * (1.0 + std::sqrt(2.0 * std::log(1e6)))));
  // One pair by hand: m = 1, k(x, y) = exp(-|x - y|^2 / (2 h^2)), MMD_b^2 = 2 - 2 k.
  MatD a(1, 1), b(1, 1);
  a << 0.0;
  b << 1.0;
  COURSE_CHECK(check_identity("mmd", "MMD_b of two points", mmd_biased(a, b, 0.5), std::sqrt(2.0 - 2.0 * std::exp(-2.0))));
}

BOOST_AUTO_TEST_CASE(two_samples_of_one_distribution_pass_and_different_ones_fail) {
  Rng rng(2);
  const MatD X = rng.normal_matrix<double>(2, 3000), Y = rng.normal_matrix<double>(2, 3000);
  COURSE_CHECK(check_two_sample("mmd", "N(0, I) vs N(0, I)", X, Y, 0.5));
  // The bound is distribution-free and so conservative: at m = 3000 a mean shift of 0.5 standard
  // deviations passes it (MMD_b 0.149 against 0.162); a shift of 1 does not.
  COURSE_CHECK_REJECTS(check_two_sample("mmd", "N(0, I) vs N(1, I)", X, MatD(Y.array() + 1.0), 0.5), "a shifted mean");
  COURSE_CHECK_REJECTS(check_two_sample("mmd", "N(0, I) vs N(0, 4 I)", X, MatD(2.0 * Y), 0.5), "a doubled scale");
  MatD bad = Y;
  bad(0, 7) = std::nan("");
  COURSE_CHECK_REJECTS(check_two_sample("mmd", "a NaN sample", X, bad, 0.5), "a NaN in the sample");
}

BOOST_AUTO_TEST_CASE(mmd_is_the_same_for_any_thread_count) {
  Rng rng(3);
  const MatD X = rng.normal_matrix<double>(2, 1000), Y = rng.normal_matrix<double>(2, 1000);
  set_threads(1);
  const double one = mmd_biased(X, Y, 0.3);
  set_threads(2);
  const double two = mmd_biased(X, Y, 0.3);
  set_threads(0);
  BOOST_TEST(one == two);
}

BOOST_AUTO_TEST_SUITE_END()
