// Chapter 14: every tagged equation of docs/14-diffusion.md, and the wrong formula each check must
// reject (each planted below and asserted to FAIL).
#include <cmath>

#include "14_diffusion/checks.hpp"
#include "14_diffusion/noise_predictor.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch14;

namespace {

// The lecture's eq. 15: mean alpha_t x instead of sqrt(alpha_t) x.
MatD lecture_eq15_step(const MatD& X, double beta, const MatD& Xi) { return (1.0 - beta) * X + std::sqrt(beta) * Xi; }
// beta_t xi for sqrt(beta_t) xi.
MatD beta_for_sqrt_beta_step(const MatD& X, double beta, const MatD& Xi) { return std::sqrt(1.0 - beta) * X + beta * Xi; }

// The noise predictor trained once for the tests (--quick size), shared by the test cases.
const TrainedPredictor& trained() {
  static const TrainedPredictor p = train_noise_predictor(chapter_data(), chapter_schedule(), quick_training(), 14);
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ch14_diffusion)

// ---- (14.1) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_1_forward_step_has_mean_sqrt_alpha_x_and_variance_beta) {
  COURSE_CHECK(check_eq_14_1_forward_step());
  COURSE_CHECK_REJECTS(check_eq_14_1_forward_step(lecture_eq15_step), "the lecture's eq. 15 mean alpha_t x");
  COURSE_CHECK_REJECTS(check_eq_14_1_forward_step(beta_for_sqrt_beta_step), "beta_t xi for sqrt(beta_t) xi");
}

// ---- (14.2) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_2_forward_chain_preserves_unit_variance) {
  COURSE_CHECK(check_eq_14_2_variance_preserved());
  COURSE_CHECK_REJECTS(check_eq_14_2_variance_preserved(lecture_eq15_step),
                       "the lecture's eq. 15 chain (mean alpha_t x: the variance shrinks towards 1/2)");
  COURSE_CHECK_REJECTS(check_eq_14_2_variance_preserved(beta_for_sqrt_beta_step), "beta_t xi for sqrt(beta_t) xi");
}

// ---- (14.3) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_3_marginal_q_xt_given_x0_matches_the_chain) {
  COURSE_CHECK(check_eq_14_3_marginal_vs_chain());
  COURSE_CHECK_REJECTS(check_eq_14_3_marginal_vs_chain([](const VecD& beta) {
                         NoiseSchedule s = make_schedule(beta);
                         double sum = 0.0;
                         for (Index t = 0; t < beta.size(); ++t) s.alpha_bar(t) = 1.0 - (sum += beta(t));
                         return s;
                       }), "alpha_bar_t = 1 - sum_s beta_s");
  COURSE_CHECK_REJECTS(check_eq_14_3_marginal_vs_chain([](const VecD& beta) {
                         NoiseSchedule s = make_schedule(beta);
                         double prod = 1.0;
                         for (Index t = 0; t < beta.size(); ++t) s.alpha_bar(t) = 1.0 - (prod *= beta(t));
                         return s;
                       }), "alpha_bar from the product of the betas");
  COURSE_CHECK_REJECTS(check_eq_14_3_marginal_vs_chain(make_schedule, [](const MatD& X0, double ab, const MatD& E) {
                         return MatD(ab * X0 + std::sqrt(1.0 - ab) * E);
                       }), "alpha_bar_t x_0 for sqrt(alpha_bar_t) x_0 (a missing sqrt)");
  COURSE_CHECK_REJECTS(check_eq_14_3_marginal_vs_chain(make_schedule, [](const MatD& X0, double ab, const MatD& E) {
                         return MatD(std::sqrt(ab) * X0 + (1.0 - ab) * E);
                       }), "(1 - alpha_bar_t) as the standard deviation");
}

BOOST_AUTO_TEST_CASE(eq_14_3_marginal_is_the_chapman_kolmogorov_integral) {
  COURSE_CHECK(check_eq_14_3_chapman_kolmogorov());
  COURSE_CHECK_REJECTS(check_eq_14_3_chapman_kolmogorov([](const MatD& X0, double ab, const MatD& E) {
                         return MatD(ab * X0 + std::sqrt(1.0 - ab) * E);
                       }), "alpha_bar_t x_0 for sqrt(alpha_bar_t) x_0");
  COURSE_CHECK_REJECTS(check_eq_14_3_chapman_kolmogorov([](const MatD& X0, double ab, const MatD& E) {
                         return MatD(std::sqrt(ab) * X0 + (1.0 - ab) * E);
                       }), "(1 - alpha_bar_t) as the standard deviation");
}

// ---- (14.4) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_4_posterior_mean_and_variance_match_bayes_rule_by_quadrature) {
  COURSE_CHECK(check_eq_14_4_posterior_vs_bayes());
  COURSE_CHECK(check_eq_14_4_posterior_vs_bayes(posterior_coefficients, -1.3, 1.5));
  // t = 1: alpha_bar_0 = 1, the posterior is the point x_0.
  const PosteriorCoefficients c1 = posterior_coefficients(chapter_schedule(), 1);
  COURSE_CHECK(check_identity("14.4", "t = 1: x0 coefficient 1", c1.x0, 1.0));
  COURSE_CHECK(check_identity("14.4", "t = 1: xt coefficient 0, variance 0", c1.xt + c1.variance, 0.0));
  COURSE_CHECK_REJECTS(check_eq_14_4_posterior_vs_bayes([](const NoiseSchedule& s, int t) {
                         PosteriorCoefficients c = posterior_coefficients(s, t);
                         c.variance = s.beta(t - 1);
                         return c;
                       }), "beta_t as the posterior variance");
  COURSE_CHECK_REJECTS(check_eq_14_4_posterior_vs_bayes([](const NoiseSchedule& s, int t) {
                         PosteriorCoefficients c = posterior_coefficients(s, t);
                         c.xt *= std::sqrt(s.alpha(t - 1));
                         return c;
                       }), "alpha_t for sqrt(alpha_t) in the x_t coefficient");
  COURSE_CHECK_REJECTS(check_eq_14_4_posterior_vs_bayes([](const NoiseSchedule& s, int t) {
                         PosteriorCoefficients c = posterior_coefficients(s, t);
                         c.x0 *= std::sqrt(s.alpha_bar(t - 2));
                         return c;
                       }), "alpha_bar_{t-1} for its square root in the x_0 coefficient");
}

// ---- (14.5) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_5_elbo_is_a_sum_of_gaussian_kls_term_by_term) {
  const TinyChain c = tiny_chain();
  const McVecEstimate mc = elbo_terms_monte_carlo(c, 200000, 145);
  const VecD terms = elbo_terms(c);
  COURSE_CHECK(check_eq_14_5_elbo_terms(c, terms, mc));
  COURSE_CHECK(check_eq_14_5_factorisation(c));
  // Every term is a KL (>= 0) except the reconstruction term L_0.
  for (Index k = 1; k < terms.size(); ++k) COURSE_CHECK(check_bound("14.5", "KL term >= 0", 0.0, terms(k)));

  const auto kl_no_half = [](const VecD& m0, const MatD& S0, const VecD& m1, const MatD& S1) {
    return 2.0 * ch06::kl_gaussian(m0, S0, m1, S1);
  };
  COURSE_CHECK_REJECTS(check_eq_14_5_elbo_terms(c, elbo_terms(c, posterior_coefficients, kl_no_half), mc),
                       "chapter 6's KL without its 1/2");
  VecD no_prior = terms;
  no_prior(no_prior.size() - 1) = 0.0;
  COURSE_CHECK_REJECTS(check_eq_14_5_elbo_terms(c, no_prior, mc), "L_T left out of the ELBO");
  const PosteriorFn beta_variance = [](const NoiseSchedule& s, int t) {
    PosteriorCoefficients p = posterior_coefficients(s, t);
    p.variance = s.beta(t - 1);
    return p;
  };
  COURSE_CHECK_REJECTS(check_eq_14_5_elbo_terms(c, elbo_terms(c, beta_variance),
                                                elbo_terms_monte_carlo(c, 200000, 145, beta_variance)),
                       "beta_t as the posterior variance (closed form and paths alike)");
  COURSE_CHECK_REJECTS(check_eq_14_5_factorisation(c, beta_variance), "beta_t as the posterior variance");
}

// ---- (14.6) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_6_noise_parameterisation_of_the_mean_and_the_weighted_loss) {
  COURSE_CHECK(check_eq_14_6_mean_from_eps());
  COURSE_CHECK(check_eq_14_6_kl_is_weighted_noise_error());
  COURSE_CHECK_REJECTS(check_eq_14_6_mean_from_eps([](const MatD& Xt, const MatD& E, const NoiseSchedule& s, int t) {
                         return MatD((Xt - s.beta(t - 1) / (1.0 - s.alpha_bar(t - 1)) * E) / std::sqrt(s.alpha(t - 1)));
                       }), "beta_t / (1 - alpha_bar_t) (a missing sqrt)");
  COURSE_CHECK_REJECTS(check_eq_14_6_mean_from_eps([](const MatD& Xt, const MatD& E, const NoiseSchedule& s, int t) {
                         return MatD(Xt - s.beta(t - 1) / std::sqrt(1.0 - s.alpha_bar(t - 1)) * E);
                       }), "a missing 1 / sqrt(alpha_t)");
  COURSE_CHECK_REJECTS(check_eq_14_6_kl_is_weighted_noise_error(2.0), "the weight without its 1/2");
  COURSE_CHECK_REJECTS(check_eq_14_6_kl_is_weighted_noise_error(1.0, [](const MatD& Xt, const MatD& E,
                                                                        const NoiseSchedule& s, int t) {
                         return MatD((Xt - s.beta(t - 1) / (1.0 - s.alpha_bar(t - 1)) * E) / std::sqrt(s.alpha(t - 1)));
                       }), "beta_t / (1 - alpha_bar_t) in the mean");
}

// ---- (14.7) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_7_tweedie_optimal_noise_predictor_is_the_scaled_score) {
  COURSE_CHECK(check_eq_14_7_tweedie());
  COURSE_CHECK_REJECTS(check_eq_14_7_tweedie([](const MatD& E, double ab) { return MatD(-E / (1.0 - ab)); }),
                       "dividing by 1 - alpha_bar_t");
  COURSE_CHECK_REJECTS(check_eq_14_7_tweedie([](const MatD& E, double ab) { return MatD(E / std::sqrt(1.0 - ab)); }),
                       "a flipped sign");
  COURSE_CHECK_REJECTS(check_eq_14_7_tweedie(score_from_eps, true), "the data's score grad log q_0 for q_t's");
}

BOOST_AUTO_TEST_CASE(eq_14_7_learned_noise_predictor_points_along_the_score) {
  const NoiseSchedule s = chapter_schedule();
  const int t = kScoreCheckTime;
  COURSE_CHECK(check_eq_14_7_learned_score(exact_eps(chapter_data(), s), t, "exact predictor"));
  COURSE_CHECK(check_eq_14_7_learned_score(predictor_fn(trained()), t, "trained MLP (quick)"));
  // The best linear predictor: the data's Gaussian fit N(0, I) has q_t = N(0, I), eps = sqrt(1 - ab) x.
  COURSE_CHECK_REJECTS(check_eq_14_7_learned_score([&](const MatD& X, int tt) {
                         return MatD(std::sqrt(1.0 - s.alpha_bar(tt - 1)) * X);
                       }, t, "linear"), "the best linear noise predictor (a Gaussian fit)");
}

// ---- (14.8) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_14_8_the_radial_cdf_of_the_data_is_right) {
  // The table integrates to 1, and fresh data passes its own goodness-of-fit test.
  COURSE_CHECK(check_identity("14.8", "radial CDF at r = 4 is 1", data_radius_cdf(3.9999), 1.0, 1e-8));
  Rng rng(1480);
  COURSE_CHECK(check_eq_14_8_radii(chapter_data().sample(kMmdSamples, rng), "fresh data"));
  // A ring 3% too wide is rejected.
  COURSE_CHECK_REJECTS(check_eq_14_8_radii(1.03 * chapter_data().sample(kMmdSamples, rng), "data x 1.03"),
                       "radii 3% too large");
}

namespace {
// The planted reverse steps.
MatD reverse_alpha_for_sqrt_alpha(const MatD& Xt, const MatD& E, const NoiseSchedule& s, int t, const MatD& Xi) {
  const double beta = s.beta(t - 1), alpha = s.alpha(t - 1), ab = s.alpha_bar(t - 1);
  return (Xt - beta / std::sqrt(1.0 - ab) * E) / alpha + std::sqrt(posterior_coefficients(s, t).variance) * Xi;
}
MatD reverse_variance_for_sd(const MatD& Xt, const MatD& E, const NoiseSchedule& s, int t, const MatD& Xi) {
  return mean_from_eps(Xt, E, s, t) + posterior_coefficients(s, t).variance * Xi;
}
}  // namespace

BOOST_AUTO_TEST_CASE(eq_14_8_reverse_chain_samples_pass_a_two_sample_test) {
  const MatD exact = exact_samples(1481);
  COURSE_CHECK(check_eq_14_8_samples(exact, "exact-predictor chain"));
  COURSE_CHECK(check_eq_14_8_radii(exact, "exact-predictor chain"));
  const MatD wrong_mean = exact_samples(1481, reverse_alpha_for_sqrt_alpha);
  COURSE_CHECK_REJECTS(check_eq_14_8_radii(wrong_mean, "alpha_t"), "alpha_t for sqrt(alpha_t) in the reverse mean");
  const MatD wrong_noise = exact_samples(1481, reverse_variance_for_sd);
  COURSE_CHECK_REJECTS(check_eq_14_8_radii(wrong_noise, "beta~ noise"), "beta~_t for sqrt(beta~_t) as the noise scale");
  Rng rng(1482);
  const MatD noise = rng.normal_matrix<double>(2, kMmdSamples);
  COURSE_CHECK_REJECTS(check_eq_14_8_samples(noise, "x_T"), "no reverse chain: x_T ~ N(0, I), the data's Gaussian fit");
  COURSE_CHECK_REJECTS(check_eq_14_8_radii(noise, "x_T"), "no reverse chain: x_T ~ N(0, I)");
}

BOOST_AUTO_TEST_CASE(eq_14_8_trained_ddpm_samples_pass_a_two_sample_test) {
  Rng rng(1483);
  // 2,000 samples of the quick model (the chapter's default run checks 4,000 of a longer-trained one).
  const MatD samples = run_reverse(chapter_schedule(), predictor_fn(trained()), 2000, rng);
  COURSE_CHECK(check_eq_14_8_samples(samples, "trained MLP (quick)"));
  COURSE_CHECK(check_eq_14_8_radii(samples, "trained MLP (quick)"));
}

BOOST_AUTO_TEST_SUITE_END()
