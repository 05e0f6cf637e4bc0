// Chapter 7: every tagged equation of docs/07-reparameterization.md, and the wrong formula each
// check must reject. Statistical rows use fixed seeds and a false-failure rate of 1e-6.
#include <cstring>

#include "07_reparameterization/checks.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch07;

namespace {
// sigma = exp(log_var): log sigma^2 read as log sigma.
VecD log_var_read_as_log_sigma(const VecD& mu, const VecD& log_var, const VecD& eps) {
  return mu + (log_var.array().exp() * eps.array()).matrix();
}
// sigma = exp(log_var / 4): the square root taken twice.
VecD sqrt_of_sigma(const VecD& mu, const VecD& log_var, const VecD& eps) {
  return mu + ((0.25 * log_var.array()).exp() * eps.array()).matrix();
}
// Noise with the right mean and variance but the wrong shape: sqrt(3) (2 Phi(eps) - 1) is uniform.
VecD uniform_noise(const VecD& mu, const VecD& log_var, const VecD& eps) {
  VecD u(eps.size());
  for (Index i = 0; i < eps.size(); ++i) u(i) = std::sqrt(3.0) * (2.0 * normal_cdf(eps(i)) - 1.0);
  return mu + ((0.5 * log_var.array()).exp() * u.array()).matrix();
}
VecD x_of(const VecD& mu, const VecD& sigma, const VecD& eps) { return mu + (sigma.array() * eps.array()).matrix(); }
}  // namespace

BOOST_AUTO_TEST_SUITE(ch07_reparameterization)

BOOST_AUTO_TEST_CASE(eq_7_1_reparameterised_samples_have_the_moments_of_n_mu_sigma2) {
  COURSE_CHECK(check_eq_7_1_moments());
  COURSE_CHECK_REJECTS(check_eq_7_1_moments(log_var_read_as_log_sigma), "exp(log_var) * eps (log sigma^2 read as log sigma)");
  COURSE_CHECK_REJECTS(check_eq_7_1_moments(sqrt_of_sigma), "exp(log_var / 4) * eps (sqrt(sigma) for sigma)");
}

BOOST_AUTO_TEST_CASE(eq_7_1_reparameterised_samples_pass_a_kolmogorov_smirnov_test) {
  COURSE_CHECK(check_eq_7_1_goodness_of_fit());
  COURSE_CHECK_REJECTS(check_eq_7_1_goodness_of_fit(log_var_read_as_log_sigma), "exp(log_var) * eps");
  COURSE_CHECK_REJECTS(check_eq_7_1_goodness_of_fit(sqrt_of_sigma), "exp(log_var / 4) * eps");
  // Why a goodness-of-fit test: uniform noise scaled to unit variance has every moment the
  // moment check looks at, and only the distribution test tells it from a Gaussian.
  COURSE_CHECK(check_eq_7_1_moments(uniform_noise));
  COURSE_CHECK_REJECTS(check_eq_7_1_goodness_of_fit(uniform_noise), "uniform noise with the right mean and variance");
}

// A sampler that returns NaN (or inf) fails both checks of (7.1). The Kolmogorov-Smirnov statistic
// used to sort the NaNs away and report D = 0.
BOOST_AUTO_TEST_CASE(eq_7_1_non_finite_samples_fail_the_moment_and_goodness_of_fit_checks) {
  for (double bad : {double(NAN), double(INFINITY)}) {
    const Sampler all_bad = [bad](const VecD& mu, const VecD&, const VecD&) { return VecD(VecD::Constant(mu.size(), bad)); };
    COURSE_CHECK_REJECTS(check_eq_7_1_moments(all_bad), "a sampler that returns non-finite values");
    COURSE_CHECK_REJECTS(check_eq_7_1_goodness_of_fit(all_bad), "a sampler that returns non-finite values");
    // Right everywhere but in one coordinate of the draws with eps_0 > 3 (about 1 in 740).
    const Sampler rare_bad = [bad](const VecD& mu, const VecD& log_var, const VecD& eps) {
      VecD z = mu + ((0.5 * log_var.array()).exp() * eps.array()).matrix();
      if (eps(0) > 3.0) z(2) = bad;
      return z;
    };
    COURSE_CHECK_REJECTS(check_eq_7_1_goodness_of_fit(rare_bad), "a sampler with rare non-finite values");
    COURSE_CHECK_REJECTS(check_eq_7_1_moments(rare_bad), "a sampler with rare non-finite values");
  }
}

BOOST_AUTO_TEST_CASE(eq_7_2_toy_loss_closed_form_vs_monte_carlo) {
  COURSE_CHECK(check_eq_7_2_loss());
  COURSE_CHECK_REJECTS(check_eq_7_2_loss([](const VecD& mu, const VecD&, const VecD& c) { return (mu - c).squaredNorm(); }),
                       "||mu - c||^2 without the noise term ||sigma||^2");
  COURSE_CHECK_REJECTS(check_eq_7_2_loss([](const VecD& mu, const VecD& s, const VecD& c) { return (mu - c).squaredNorm() + s.sum(); }),
                       "sum sigma_i for sum sigma_i^2");
}

BOOST_AUTO_TEST_CASE(eq_7_3_gradient_of_the_toy_loss) {
  COURSE_CHECK(check_eq_7_3_gradient());
  COURSE_CHECK_REJECTS(check_eq_7_3_gradient([](const VecD& mu, const VecD& c) { return VecD(mu - c); }), "a missing factor 2");
  COURSE_CHECK_REJECTS(check_eq_7_3_gradient([](const VecD& mu, const VecD& c) { return VecD(2.0 * (c - mu)); }), "a flipped sign");
}

BOOST_AUTO_TEST_CASE(eq_7_4_pathwise_estimator_is_the_derivative_along_the_path) {
  COURSE_CHECK(check_eq_7_4_pathwise_is_the_path_derivative());
  COURSE_CHECK_REJECTS(check_eq_7_4_pathwise_is_the_path_derivative(
                           [](const VecD& mu, const VecD& s, const VecD& c, const VecD& e) { return VecD(x_of(mu, s, e) - c); }),
                       "a missing factor 2");
  COURSE_CHECK_REJECTS(check_eq_7_4_pathwise_is_the_path_derivative(
                           [](const VecD& mu, const VecD& s, const VecD& c, const VecD& e) { return VecD(2.0 * (c - x_of(mu, s, e))); }),
                       "a flipped sign");
  COURSE_CHECK_REJECTS(check_eq_7_4_pathwise_is_the_path_derivative(
                           [](const VecD& mu, const VecD&, const VecD& c, const VecD& e) { return VecD(2.0 * (mu + e - c)); }),
                       "x = mu + eps (sigma forgotten)");
}

BOOST_AUTO_TEST_CASE(eq_7_4_pathwise_estimator_is_unbiased) {
  COURSE_CHECK(check_eq_7_4_pathwise_unbiased());
  COURSE_CHECK_REJECTS(check_eq_7_4_pathwise_unbiased(
                           [](const VecD& mu, const VecD& s, const VecD& c, const VecD& e) { return VecD(x_of(mu, s, e) - c); }),
                       "a missing factor 2");
  COURSE_CHECK_REJECTS(check_eq_7_4_pathwise_unbiased(
                           [](const VecD& mu, const VecD& s, const VecD& c, const VecD& e) { return VecD(2.0 * (c - x_of(mu, s, e))); }),
                       "a flipped sign");
}

BOOST_AUTO_TEST_CASE(eq_7_5_score_function_estimator_is_f_times_the_score) {
  COURSE_CHECK(check_eq_7_5_score_is_f_times_grad_log_density());
  COURSE_CHECK_REJECTS(check_eq_7_5_score_is_f_times_grad_log_density(
                           [](const VecD& mu, const VecD& s, const VecD& c, const VecD& x) {
                             return VecD((x - c).squaredNorm() * ((x - mu).array() / s.array()).matrix());
                           }),
                       "the score (x - mu) / sigma (sigma for sigma^2)");
  COURSE_CHECK_REJECTS(check_eq_7_5_score_is_f_times_grad_log_density(
                           [](const VecD& mu, const VecD& s, const VecD& c, const VecD& x) {
                             return VecD((x - c).squaredNorm() * ((mu - x).array() / s.array().square()).matrix());
                           }),
                       "the score (mu - x) / sigma^2 (a flipped sign)");
}

BOOST_AUTO_TEST_CASE(eq_7_5_score_function_estimator_is_unbiased) {
  COURSE_CHECK(check_eq_7_5_score_unbiased());
  COURSE_CHECK_REJECTS(check_eq_7_5_score_unbiased([](const VecD& mu, const VecD& s, const VecD& c, const VecD& e) {
                         const VecD x = x_of(mu, s, e);
                         return VecD((x - c).squaredNorm() * ((x - mu).array() / s.array()).matrix());
                       }),
                       "the score (x - mu) / sigma: biased when sigma != 1");
  COURSE_CHECK_REJECTS(check_eq_7_5_score_unbiased([](const VecD& mu, const VecD& s, const VecD&, const VecD& e) {
                         const VecD x = x_of(mu, s, e);
                         return VecD(((x - mu).array() / s.array().square()).matrix());
                       }),
                       "the score alone, without f(x) (mean 0)");
}

BOOST_AUTO_TEST_CASE(eq_7_6_pathwise_variance_is_4_sigma2) {
  COURSE_CHECK(check_eq_7_6_pathwise_variance());
  COURSE_CHECK_REJECTS(check_eq_7_6_pathwise_variance(pathwise_estimator(), [](const VecD& s) { return VecD(4.0 * s); }),
                       "4 sigma_i (sigma for sigma^2)");
  COURSE_CHECK_REJECTS(check_eq_7_6_pathwise_variance(pathwise_estimator(),
                                                      [](const VecD& s) { return VecD(2.0 * s.array().square().matrix()); }),
                       "2 sigma_i^2 (Var[2X] = 2 Var X)");
  COURSE_CHECK_REJECTS(check_eq_7_6_pathwise_variance([](const VecD& mu, const VecD&, const VecD& c, const VecD&) {
                         return VecD(2.0 * (mu - c));
                       }),
                       "the estimator 2 (mu - c), which ignores the draw (variance 0)");
}

BOOST_AUTO_TEST_CASE(eq_7_7_score_function_variance_closed_form) {
  // The algebra: the moment-by-moment form equals the simplified one, for d = 1..5.
  Rng rng(770);
  for (Index d = 1; d <= 5; ++d) {
    const VecD a = 3.0 * rng.normal_matrix<double>(d, 1);
    VecD simplified(d);
    for (Index i = 0; i < d; ++i)
      simplified(i) = std::pow(a.squaredNorm() + double(d - 1), 2) + 10.0 * a.squaredNorm() + 4.0 * a(i) * a(i) +
                      8.0 * double(d) + 7.0;
    COURSE_CHECK(check_identity("7.7", "simplified closed form, d = " + std::to_string(d),
                                MatD(score_function_variance(a)), MatD(simplified)));
  }
  // The measurement, at the lecture's start and near the target.
  for (const ToyPoint& p : {lecture_point(0.0, 0.0), lecture_point(5.5, 4.0)}) {
    const McVecEstimate measured = score_variance_estimate(p);
    COURSE_CHECK(check_eq_7_7_score_variance(p, measured, [](const VecD& a) { return score_function_variance(a); }));
    COURSE_CHECK_REJECTS(check_eq_7_7_score_variance(p, measured, [](const VecD& a) { return score_function_variance(a, 1.0, 1.0); }),
                         "E[eps^4] = E[eps^6] = 1 (eps^2 treated as 1)");
    COURSE_CHECK_REJECTS(check_eq_7_7_score_variance(p, measured,
                                                     [](const VecD& a) {
                                                       VecD v(a.size());
                                                       for (Index i = 0; i < a.size(); ++i)
                                                         v(i) = score_function_variance(VecD::Constant(1, a(i)))(0);
                                                       return v;
                                                     }),
                         "the one-dimensional formula (the other coordinate's part of ||x - c||^2 dropped)");
    COURSE_CHECK_REJECTS(check_eq_7_7_score_variance(p, measured,
                                                     [](const VecD& a) {
                                                       return VecD(score_function_variance(a) + 4.0 * a.array().square().matrix());
                                                     }),
                         "the second moment E[g_i^2] for the variance");
  }
}

BOOST_AUTO_TEST_CASE(eq_7_7_monte_carlo_is_bitwise_identical_with_1_and_2_threads) {
  const int threads_before = omp_get_max_threads();
  set_threads(1);
  const CheckRow one = check_eq_7_7_score_variance(lecture_point(0.0, 0.0), Index(1) << 17);
  set_threads(2);
  const CheckRow two = check_eq_7_7_score_variance(lecture_point(0.0, 0.0), Index(1) << 17);
  set_threads(threads_before);
  // Graded under exercise 7.3: determinism alone would give points to any deterministic output,
  // a NaN included, so the row must also be right.
  COURSE_CHECK(one);
  BOOST_TEST(std::memcmp(&one.numeric, &two.numeric, sizeof(double)) == 0);
  BOOST_TEST(std::memcmp(&one.error, &two.error, sizeof(double)) == 0);
  BOOST_TEST(one.detail == two.detail);
}

BOOST_AUTO_TEST_CASE(eq_7_8_variance_of_a_mean_of_n_draws) {
  for (bool score : {false, true}) {
    COURSE_CHECK(check_eq_7_8_average(score));
    COURSE_CHECK_REJECTS(check_eq_7_8_average(score, 16, [](const VecD& v, Index n) { return VecD(v / std::sqrt(double(n))); }),
                         "Var / sqrt(N)");
  }
}

BOOST_AUTO_TEST_CASE(eq_7_9_sgd_step_is_a_descent_step_on_the_mean_pathwise_gradient) {
  Rng rng(790);
  const VecD mu = rng.normal_matrix<double>(2, 1), c = lecture_target();
  const MatD eps = rng.normal_matrix<double>(2, 5);
  VecD expected = mu;
  for (Index k = 0; k < 5; ++k) expected -= 0.05 * 2.0 * (mu + eps.col(k) - c) / 5.0;
  COURSE_CHECK(check_identity("7.9", "mu - lr mean_k 2 (mu + eps_k - c)", MatD(expected), MatD(sgd_step(mu, c, eps, 0.05))));
}

BOOST_AUTO_TEST_CASE(eq_7_9_sgd_error_has_the_derived_mean_and_variance) {
  const McVecEstimate measured = sgd_noise_estimate();
  COURSE_CHECK(check_eq_7_9_sgd_noise(measured));
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_noise(measured, [](const SgdSetting& s) {
                         return s.lr / double(s.batch) * (1.0 - std::pow(1.0 - 2.0 * s.lr, 2 * s.steps));
                       }),
                       "the variance lr / N without the factor 1 / (1 - lr)");
  // Wrong steps are far off: 2^12 runs suffice to reject them.
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_noise([](const VecD& mu, const VecD& c, const MatD& eps, double lr) {
                         return VecD(mu - lr * 2.0 * (double(eps.cols()) * (mu - c) + eps.rowwise().sum()));
                       }, Index(1) << 12),
                       "the N pathwise gradients summed, not averaged (an N times larger step)");
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_noise([](const VecD& mu, const VecD& c, const MatD& eps, double lr) {
                         return VecD(mu + lr * 2.0 * (mu + eps.rowwise().mean() - c));
                       }, Index(1) << 12),
                       "an ascent step");
}

// After T = 100 steps the mean term is 1e-9: only a short run sees a wrong contraction factor.
BOOST_AUTO_TEST_CASE(eq_7_9_sgd_error_mean_after_a_few_steps) {
  COURSE_CHECK(check_eq_7_9_sgd_transient());
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_transient([](const VecD& e0, const SgdSetting& s) {
                         return VecD(std::pow(1.0 - s.lr, s.steps) * e0);
                       }),
                       "(1 - lr)^T for (1 - 2 lr)^T");
}

// The driver behind the chapter's SGD figures is checked against exercise 7.4 on common noise.
BOOST_AUTO_TEST_CASE(eq_7_9_figure_driver_takes_the_exercise_steps) {
  COURSE_CHECK(check_eq_7_9_sgd_driver());
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_driver(pathwise_estimator(), [](const VecD& mu, const VecD& c, const MatD& eps, double lr) {
                         return VecD(mu - lr * 2.0 * (double(eps.cols()) * (mu - c) + eps.rowwise().sum()));
                       }),
                       "the N gradients summed, not averaged");
}

BOOST_AUTO_TEST_CASE(eq_7_9_sgd_with_pathwise_gradients_reaches_the_target) {
  COURSE_CHECK(check_eq_7_9_sgd_converges());
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_converges(sgd_step, 791, 0), "the start point (no training)");
  COURSE_CHECK_REJECTS(check_eq_7_9_sgd_converges([](const VecD& mu, const VecD& c, const MatD& eps, double lr) {
                         return VecD(mu + lr * 2.0 * (mu + eps.rowwise().mean() - c));
                       }),
                       "an ascent step");
}

BOOST_AUTO_TEST_SUITE_END()
