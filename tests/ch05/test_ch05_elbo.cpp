// Chapter 5: every tagged equation of docs/05-elbo.md, and the wrong formula each check must reject.
#include <cmath>
#include <numbers>

#include "05_elbo/checks.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch05;

namespace {
const Setup& setup() {
  static const Setup s = make_setup(1);
  return s;
}
constexpr Index kSamples = 40000;
}  // namespace

BOOST_AUTO_TEST_SUITE(ch05_elbo)

BOOST_AUTO_TEST_CASE(eq_5_1_exact_evidence_and_posterior_satisfy_bayes_rule) {
  const Setup& s = setup();
  COURSE_CHECK(check_eq_5_1_bayes_rule(s.model, s.x, s.posterior, s.log_px));
  // Rejects: the posterior precision without the prior's I.
  const MatD no_prior = (s.model.W.transpose() * s.model.W / s.model.sigma2).inverse();
  Gaussian wrong = s.posterior;
  wrong.chol = no_prior.llt().matrixL();
  wrong.mean = no_prior * s.model.W.transpose() * (s.x - s.model.mu) / s.model.sigma2;
  COURSE_CHECK_REJECTS(check_eq_5_1_bayes_rule(s.model, s.x, wrong, s.log_px), "the posterior without the prior's I");
  // Rejects: sigma instead of sigma2 in the evidence's covariance.
  const MatD cov = s.model.W * s.model.W.transpose() + std::sqrt(s.model.sigma2) * MatD::Identity(6, 6);
  COURSE_CHECK_REJECTS(check_eq_5_1_bayes_rule(s.model, s.x, s.posterior, log_normal_density(s.x, s.model.mu, cov)),
                       "sigma for sigma2 in W W^T + sigma2 I");
}

BOOST_AUTO_TEST_CASE(eq_5_2_evidence_is_elbo_plus_kl_to_the_posterior) {
  const Setup& s = setup();
  for (const Gaussian& q : s.arbitrary) COURSE_CHECK(check_eq_5_2_decomposition(s, q, "arbitrary q"));
  COURSE_CHECK(check_eq_5_2_decomposition(s, standard_normal(2), "q = p(z)"));
  const Gaussian& q = s.arbitrary[0];
  const double elbo = elbo_closed_form(s.model, s.x, q);
  COURSE_CHECK_REJECTS(check_identity("5.2", "", s.log_px, elbo + kl_gaussians(s.posterior, q)),
                       "the KL the wrong way round, KL(p(z|x) || q)");
  const double wrong_elbo = expected_log_likelihood(s.model, s.x, q) + kl_to_prior(q);
  COURSE_CHECK_REJECTS(check_identity("5.2", "", s.log_px, wrong_elbo + kl_gaussians(q, s.posterior)),
                       "+KL(q || p(z)) in the ELBO (a flipped sign)");
}

BOOST_AUTO_TEST_CASE(eq_5_3_elbo_is_below_the_evidence_with_equality_at_the_posterior) {
  const Setup& s = setup();
  for (const Gaussian& q : s.arbitrary) COURSE_CHECK(check_eq_5_3_bound(s, q, "arbitrary q"));
  COURSE_CHECK(check_eq_5_3_equality_at_posterior(s));
  // Equality only there: a posterior with its mean moved by 1e-3 has a positive gap.
  Gaussian nudged = s.posterior;
  nudged.mean(0) += 1e-3;
  COURSE_CHECK(check_bound("5.3", "gap > 0 off the posterior", 1e-9, s.log_px - elbo_closed_form(s.model, s.x, nudged), 0.0));
  // Rejects, at the posterior: +KL(q || p(z)) in the ELBO, which exceeds log p(x) there.
  const Gaussian& p = s.posterior;
  COURSE_CHECK_REJECTS(check_bound("5.3", "", expected_log_likelihood(s.model, s.x, p) + kl_to_prior(p), s.log_px),
                       "+KL(q || p(z)) in the ELBO (exceeds log p(x))");
  // Rejects, at the posterior: the decoder evaluated at the mean only (no tr(W Sigma_q W^T) term).
  const double no_trace = elbo_closed_form(s.model, s.x, p) + (s.model.W * p.chol).squaredNorm() / (2.0 * s.model.sigma2);
  COURSE_CHECK_REJECTS(check_identity("5.3", "", s.log_px, no_trace), "the ELBO without tr(W Sigma_q W^T) / (2 sigma2)");
}

BOOST_AUTO_TEST_CASE(eq_5_4_closed_form_elbo_matches_its_monte_carlo_estimate) {
  const Setup& s = setup();
  const Gaussian& q = s.arbitrary[0];
  COURSE_CHECK(check_eq_5_4_closed_form_vs_monte_carlo(s, q, kSamples, 10));
  COURSE_CHECK(check_eq_5_4_closed_form_vs_monte_carlo(s, standard_normal(2), kSamples, 11));
  COURSE_CHECK(check_eq_5_4_reconstruction_term(s, s.arbitrary[1], kSamples, 12));
  const McEstimate e = estimate_elbo(s, q, kSamples, 10);
  const double closed = elbo_closed_form(s.model, s.x, q);
  const double trace_term = (s.model.W * q.chol).squaredNorm() / (2.0 * s.model.sigma2);
  COURSE_CHECK_REJECTS(check_monte_carlo("5.4", "", closed + trace_term, e), "the ELBO without tr(W Sigma_q W^T) / (2 sigma2)");
  // log det Sigma_q taken as sum_i log L_ii instead of 2 sum_i log L_ii: the KL changes by +1/2 sum log L_ii.
  const double half_log_det = 0.5 * q.chol.diagonal().array().log().sum();
  COURSE_CHECK_REJECTS(check_monte_carlo("5.4", "", closed - half_log_det, e), "log sigma for log sigma^2 in the KL");
  COURSE_CHECK_REJECTS(check_monte_carlo("5.4", "", closed + 2.0 * kl_to_prior(q), e), "+KL(q || p(z)) (a flipped sign)");
}

BOOST_AUTO_TEST_CASE(eq_5_4_monte_carlo_is_the_same_for_1_and_2_threads) {
  const Setup& s = setup();
  set_threads(1);
  const McEstimate one = estimate_elbo(s, s.arbitrary[0], 20000, 5);
  set_threads(2);
  const McEstimate two = estimate_elbo(s, s.arbitrary[0], 20000, 5);
  set_threads(0);
  // Graded under exercise 5.4: the estimate must also be right, or any deterministic output (a
  // NaN included) would earn the points.
  COURSE_CHECK(check_monte_carlo("5.4", "the estimate agrees with the closed form", elbo_closed_form(s.model, s.x, s.arbitrary[0]), one));
  BOOST_TEST(one.mean == two.mean);
  BOOST_TEST(one.se == two.se);
}

BOOST_AUTO_TEST_CASE(eq_5_5_gaussian_decoder_log_likelihood_is_scaled_squared_error) {
  Rng rng(3);
  const VecD x = rng.normal_matrix<double>(50, 1), x_mean = rng.normal_matrix<double>(50, 1);
  for (double s2 : {0.3, 1.0, 2.5}) COURSE_CHECK(check_eq_5_5_gaussian_decoder(x, x_mean, s2));
  const double s2 = 0.3, d = 50;
  const double truth = log_of_product_of_normal_densities(x, x_mean, s2);
  const double r2 = (x - x_mean).squaredNorm();
  COURSE_CHECK_REJECTS(check_identity("5.5", "", truth, -r2 / (2 * s2) - 0.5 * d * std::log(2 * std::numbers::pi * std::sqrt(s2))),
                       "sigma for sigma2 in the log");
  COURSE_CHECK_REJECTS(check_identity("5.5", "", truth, -r2 / s2 - 0.5 * d * std::log(2 * std::numbers::pi * s2)), "a missing 1/2");
  // The MSE view: two reconstructions differ in log-likelihood by -(difference of squared errors) / (2 sigma2).
  const VecD other = x_mean + 0.1 * VecD::Ones(50);
  COURSE_CHECK(check_identity("5.5", "difference = -(SE_a - SE_b) / (2 s2)",
                              -(r2 - (x - other).squaredNorm()) / (2 * s2),
                              gaussian_decoder_log_likelihood(x, x_mean, s2) - gaussian_decoder_log_likelihood(x, other, s2)));
}

BOOST_AUTO_TEST_CASE(eq_5_6_bernoulli_decoder_log_likelihood_is_minus_the_bce) {
  Rng rng(4);
  VecD x(200), p(200);
  for (Index j = 0; j < 200; ++j) x(j) = rng.bernoulli(0.4) ? 1.0 : 0.0, p(j) = rng.uniform(0.02, 0.98);
  COURSE_CHECK(check_eq_5_6_bernoulli_decoder(x, p, "random binary x"));
  const double truth = log_of_product_of_bernoullis(x, p);
  COURSE_CHECK_REJECTS(check_identity("5.6", "", truth, log_of_product_of_bernoullis(x, VecD(1.0 - p.array()))),
                       "p and 1 - p swapped");
  COURSE_CHECK_REJECTS(check_identity("5.6", "", truth, -bernoulli_decoder_log_likelihood(x, p)), "the BCE itself (the sign)");
}

BOOST_AUTO_TEST_CASE(eq_5_7_reparameterised_estimator_is_unbiased_for_any_sample_count) {
  const Setup& s = setup();
  COURSE_CHECK(check_eq_5_7_unbiased_for_any_sample_count(s, s.arbitrary[2], kSamples / 16, 13));
  // One draw at eps = 0 is log p(x, m) - log q(m): the decoder at the mean, not the ELBO.
  const Gaussian& q = s.arbitrary[2];
  const double at_mean = elbo_estimate(s.model, s.x, q, MatD::Zero(2, 1));
  COURSE_CHECK(check_identity("5.7", "eps = 0: log p(x, m) - log q(m)", log_joint(s.model, s.x, q.mean) - log_density(q, q.mean), at_mean));
  COURSE_CHECK_REJECTS(check_monte_carlo("5.7", "", at_mean, estimate_elbo(s, q, kSamples, 14)),
                       "the estimator evaluated at the mean (eps = 0)");
}

BOOST_AUTO_TEST_CASE(eq_5_8_mixture_evidence_is_elbo_plus_kl_by_exact_sums) {
  const IsotropicMixture mix = make_mixture();
  const VecD x = mixture_observation(mix);
  for (std::uint64_t i = 0; i < 3; ++i) {
    const VecD q = random_categorical(3, i);
    COURSE_CHECK(check_eq_5_8_mixture_decomposition(mix, x, q));
    COURSE_CHECK(check_eq_5_8_mixture_bound(mix, x, q));
  }
  COURSE_CHECK(check_eq_5_8_mixture_equality(mix, x));
  COURSE_CHECK(check_eq_5_8_mixture_evidence_by_direct_sum(mix, x));
  // The identities above hold for any log joint; only the direct sum sees a wrong one.
  COURSE_CHECK_REJECTS(check_eq_5_8_mixture_evidence_by_direct_sum(mix, x, [](const IsotropicMixture& m, const VecD& y) {
                         IsotropicMixture equal = m;
                         equal.weights.setOnes();  // log pi_c dropped from the log joint
                         return mixture_log_evidence(equal, y);
                       }),
                       "a log joint without log pi_c");
  COURSE_CHECK_REJECTS(check_eq_5_8_mixture_evidence_by_direct_sum(mix, x, [](const IsotropicMixture& m, const VecD& y) {
                         IsotropicMixture same = m;
                         same.variances.setConstant(m.variances.mean());  // one variance for all components
                         return mixture_log_evidence(same, y);
                       }),
                       "one shared variance for the components");
  const VecD q = random_categorical(3, 0), r = mixture_posterior(mix, x);
  COURSE_CHECK_REJECTS(check_identity("5.8", "", mixture_log_evidence(mix, x), mixture_elbo(mix, x, q) + kl_categorical(r, q)),
                       "KL(r || q) for KL(q || r)");
  const VecD a = mixture_log_joint(mix, x);
  COURSE_CHECK_REJECTS(check_identity("5.8", "", mixture_log_evidence(mix, x), q.dot(a) + kl_categorical(q, r)),
                       "an ELBO without the entropy -sum q log q");
}

BOOST_AUTO_TEST_CASE(eq_5_9_importance_weighted_bounds_increase_towards_the_evidence) {
  const Setup& s = setup();
  const Gaussian poor = poor_proposal(s.posterior);
  COURSE_CHECK(check_eq_5_9_one_sample_is_the_elbo(s, poor, kSamples, 14));
  COURSE_CHECK(check_eq_5_9_below_evidence(s, poor, 64, 1000, 15));
  COURSE_CHECK(check_eq_5_9_increasing(estimate_increase(s, poor, {1, 2, 4, 8}, 4000, 16)));
  COURSE_CHECK(check_eq_5_9_underflow(s));
  COURSE_CHECK(check_eq_5_9_weight_second_moment(s, poor, 200000, 17));
  COURSE_CHECK(check_identity("5.9", "E_q[(p/q)^2] = 1 when q = p", 0.0, log_second_moment_of_ratio(s.posterior, s.posterior)));
  COURSE_CHECK_REJECTS(check_monte_carlo("5.9", "", 1.0, estimate_weight_second_moment(s, poor, 200000, 17)),
                       "the first moment (1) for the second");
  // Rejects a missing 1/M: log sum_i w_i = L_M + log M exceeds log p(x).
  const McEstimate e = estimate_iw_bound(s, poor, 64, 1000, 15);
  COURSE_CHECK_REJECTS(check_bound("5.9", "", e.mean + std::log(64.0) - tolerance::z * e.se, s.log_px), "a missing 1/M");
  // Rejects the mean of the log-weights: every "L_M" is then the ELBO estimate and L_2M - L_M = 0.
  IncreaseEstimate flat;
  for (double M : {1.0, 2.0, 4.0}) flat.M.push_back(M), flat.mean.push_back(0.0), flat.se.push_back(0.0);
  COURSE_CHECK_REJECTS(check_eq_5_9_increasing(flat), "the mean of the log-weights (no increase)");
  // Rejects the naive log(mean(exp(log w))), which underflows to -inf.
  LinearGaussianModel m = s.model;
  m.sigma2 = 0.01;
  const VecD far = m.mu + VecD::Constant(6, 20.0);
  Rng rng(3);
  const MatD eps = rng.normal_matrix<double>(2, 8);
  double naive = 0.0;
  for (Index i = 0; i < 8; ++i) naive += std::exp(log_joint(m, far, eps.col(i)) - log_density(standard_normal(2), eps.col(i)));
  COURSE_CHECK_REJECTS(check_identity("5.9", "", check_eq_5_9_underflow(s).analytic, std::log(naive / 8.0)),
                       "log(mean(exp(log w))) without the shift");
}

BOOST_AUTO_TEST_CASE(eq_5_10_every_importance_weight_is_the_evidence_at_the_posterior) {
  const Setup& s = setup();
  COURSE_CHECK(check_eq_5_10_zero_variance(s, s.posterior, 1, 200));
  COURSE_CHECK(check_eq_5_10_zero_variance(s, s.posterior, 16, 50));
  Gaussian wrong_cov = s.posterior;
  wrong_cov.chol = MatD::Identity(2, 2);
  COURSE_CHECK_REJECTS(check_eq_5_10_zero_variance(s, wrong_cov, 1, 200), "the posterior mean with the prior's covariance");
}

BOOST_AUTO_TEST_SUITE_END()
