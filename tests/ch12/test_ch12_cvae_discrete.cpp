// Chapter 12: every tagged equation of docs/12-cvae-discrete.md, and the wrong formulas each check
// must reject. Statistical checks use fixed seeds and false-failure rates <= 1e-6 (checks.hpp).
#include <cmath>

#include "12_cvae_discrete/checks.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch12;

namespace {

// The planted wrong formulas, each written as a student might.
double elbo_with_standard_prior(const ConditionalLinearGaussian& m, const VecD& x, const VecD& y, const VecD& mean,
                                const MatD& chol) {
  ConditionalLinearGaussian wrong = m;
  wrong.P.setZero();  // KL(q || N(0, I)) instead of KL(q || N(P y, I))
  return conditional_elbo(wrong, x, y, mean, chol);
}
double elbo_decoder_ignores_y(const ConditionalLinearGaussian& m, const VecD& x, const VecD& y, const VecD& mean,
                              const MatD& chol) {
  ConditionalLinearGaussian wrong = m;
  wrong.V.setZero();  // decoder mean W z + mu
  return conditional_elbo(wrong, x, y, mean, chol);
}

// Gumbel-max with Gaussian noise, and without the log.
Index argmax_with_normal_noise(const VecD& log_pi, Rng& rng) {
  Index k = 0;
  (log_pi + rng.normal_matrix<double>(log_pi.size(), 1)).maxCoeff(&k);
  return k;
}
Index argmax_of_pi_plus_gumbel(const VecD& log_pi, Rng& rng) {
  return gumbel_max_sample(log_pi.array().exp().matrix(), open_uniforms(log_pi.size(), rng));
}

// Gumbel-softmax without the temperature; the naive softmax (no max subtracted); the centre.
VecD softmax_without_temperature(const VecD& log_pi, const VecD& g, double) { return gumbel_softmax(log_pi, g, 1.0); }
VecD naive_gumbel_softmax(const VecD& log_pi, const VecD& g, double tau) {
  const VecD e = ((log_pi + g) / tau).array().exp();
  return e / e.sum();
}
VecD centre_of_simplex(const VecD& log_pi, const VecD&, double) {
  return VecD::Constant(log_pi.size(), 1.0 / double(log_pi.size()));
}

// The Concrete density with a factor missing or the wrong exponent.
double density_without_factorial(const VecD& y, const VecD& la, double tau) {
  return concrete_log_density(y, la, tau) - std::lgamma(double(y.size()));
}
double density_without_tau_power(const VecD& y, const VecD& la, double tau) {
  return concrete_log_density(y, la, tau) - double(y.size() - 1) * std::log(tau);
}
double density_with_exponent_minus_tau(const VecD& y, const VecD& la, double tau) {
  return concrete_log_density(y, la, tau) + y.array().log().sum();  // y^(-tau) for y^(-tau - 1)
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ch12_cvae_discrete)

BOOST_AUTO_TEST_CASE(eq_12_1_conditional_elbo_plus_posterior_kl_is_log_evidence) {
  const ConditionalSetup s = make_conditional_setup();
  COURSE_CHECK(check_eq_12_1_decomposition(s));
  COURSE_CHECK(check_eq_12_1_equality_at_posterior(s));
  COURSE_CHECK(check_eq_12_1_bound(s));
  COURSE_CHECK_REJECTS(check_eq_12_1_decomposition(s, elbo_with_standard_prior), "the prior KL against N(0, I), not p(z|y)");
  COURSE_CHECK_REJECTS(check_eq_12_1_decomposition(s, elbo_decoder_ignores_y), "a decoder mean without V y");
  COURSE_CHECK_REJECTS(check_eq_12_1_equality_at_posterior(s, elbo_with_standard_prior),
                       "the prior KL against N(0, I), at the posterior");
}

BOOST_AUTO_TEST_CASE(eq_12_3_gumbel_max_samples_the_categorical) {
  COURSE_CHECK(check_eq_12_3_gumbel_max());
  COURSE_CHECK_REJECTS(check_eq_12_3_gumbel_max(argmax_with_normal_noise), "g ~ N(0, 1) instead of Gumbel(0, 1)");
  COURSE_CHECK_REJECTS(check_eq_12_3_gumbel_max(argmax_of_pi_plus_gumbel), "argmax(pi + g): the log missing");
}

BOOST_AUTO_TEST_CASE(eq_12_4_concrete_density_integrates_to_one) {
  for (Index K : {2, 3})
    for (double tau : {0.5, 1.0, 2.0}) COURSE_CHECK(check_eq_12_4_normalised(K, tau));
  COURSE_CHECK_REJECTS(check_eq_12_4_normalised(3, 1.0, density_without_factorial), "(K - 1)! left out");
  COURSE_CHECK_REJECTS(check_eq_12_4_normalised(2, 0.5, density_without_tau_power), "tau^(K - 1) left out, K = 2");
  COURSE_CHECK_REJECTS(check_eq_12_4_normalised(3, 2.0, density_without_tau_power), "tau^(K - 1) left out, K = 3");
  COURSE_CHECK_REJECTS(check_eq_12_4_normalised(2, 0.5, density_with_exponent_minus_tau), "y^(-tau) for y^(-tau - 1)");
}

BOOST_AUTO_TEST_CASE(eq_12_4_gumbel_softmax_histogram_matches_the_concrete_density) {
  COURSE_CHECK(check_eq_12_4_histogram(2, 0.5));
  COURSE_CHECK(check_eq_12_4_histogram(3, 0.5));
  COURSE_CHECK(check_eq_12_4_histogram(3, 2.0));
  COURSE_CHECK_REJECTS(check_eq_12_4_histogram(2, 0.5, softmax_without_temperature), "a softmax without the temperature");
  COURSE_CHECK_REJECTS(check_eq_12_4_histogram(3, 2.0, softmax_without_temperature),
                       "a softmax without the temperature, K = 3");
  COURSE_CHECK_REJECTS(check_eq_12_4_histogram(3, 0.5, gumbel_softmax, density_with_exponent_minus_tau),
                       "the density with y^(-tau) for y^(-tau - 1)");
}

BOOST_AUTO_TEST_CASE(eq_12_5_temperature_limits_one_hot_and_centre) {
  COURSE_CHECK(check_eq_12_5_zero_temperature(0.05));
  COURSE_CHECK(check_eq_12_5_zero_temperature(1e-3));
  COURSE_CHECK(check_eq_12_5_infinite_temperature(1e4));
  COURSE_CHECK_REJECTS(check_eq_12_5_zero_temperature(0.05, softmax_without_temperature), "no temperature, tau -> 0");
  COURSE_CHECK_REJECTS(check_eq_12_5_zero_temperature(1e-3, naive_gumbel_softmax),
                       "exp without the max subtracted (overflow at tau = 1e-3)");
  COURSE_CHECK_REJECTS(check_eq_12_5_infinite_temperature(1e4, softmax_without_temperature), "no temperature, tau -> inf");
  COURSE_CHECK_REJECTS(check_eq_12_5_infinite_temperature(1e4, centre_of_simplex), "the centre itself at every tau");
}

BOOST_AUTO_TEST_CASE(eq_12_6_categorical_kl_to_uniform_matches_monte_carlo) {
  COURSE_CHECK(check_eq_12_6_kl_vs_monte_carlo());
  const MatD Q = kl_case();
  BOOST_TEST(std::isfinite(categorical_kl_to_uniform(Q)));
  const double log_K = std::log(double(Q.rows()));
  COURSE_CHECK_REJECTS(check_eq_12_6_kl_vs_monte_carlo([](const MatD& q) { return -categorical_kl_to_uniform(q); }),
                       "the sign flipped");
  COURSE_CHECK_REJECTS(check_eq_12_6_kl_vs_monte_carlo([&](const MatD& q) {
                         return categorical_kl_to_uniform(q) - double(q.cols()) * log_K;
                       }),
                       "the log K missing (the negative entropy alone)");
  COURSE_CHECK_REJECTS(check_eq_12_6_kl_vs_monte_carlo([&](const MatD& q) {
                         // KL(p || q) = sum_k (1/K) (log(1/K) - log q_k), over the columns without a zero.
                         double s = 0.0;
                         for (Index n = 0; n < q.cols(); ++n)
                           for (Index k = 0; k < q.rows(); ++k)
                             if (q(k, n) > 0) s += (-log_K - std::log(q(k, n))) / double(q.rows());
                         return s;
                       }),
                       "KL(p || q), the wrong way round");
}

BOOST_AUTO_TEST_CASE(eq_12_7_categorical_score_function) {
  COURSE_CHECK(check_eq_12_7_score_gradient());
  COURSE_CHECK(check_eq_12_7_reinforce_unbiased());
  const auto without_normaliser = [](const VecD& logits, Index k, double f_k) {
    return VecD(f_k * one_hot(k, logits.size()));
  };
  const auto flipped = [](const VecD& logits, Index k, double f_k) {
    return VecD(-categorical_score_function(logits, k, f_k));
  };
  COURSE_CHECK_REJECTS(check_eq_12_7_score_gradient(without_normaliser), "f_k 1_k: the log-normaliser's gradient missing");
  COURSE_CHECK_REJECTS(check_eq_12_7_score_gradient(flipped), "a flipped sign");
  COURSE_CHECK_REJECTS(check_eq_12_7_reinforce_unbiased(without_normaliser), "f_k 1_k as the estimator");
  COURSE_CHECK_REJECTS(check_eq_12_7_reinforce_unbiased(flipped), "a flipped sign, in the mean");
}

BOOST_AUTO_TEST_CASE(eq_12_8_relaxed_gradient_is_pathwise_and_biased) {
  const auto without_inverse_tau = [](const ToyObjective& o, const VecD& g, double tau) {
    return VecD(tau * relaxed_estimate(o, g, tau));
  };
  for (double tau : {0.5, 1.0, 2.0}) COURSE_CHECK(check_eq_12_8_pathwise_derivative(tau));
  // (At tau = 1 the factor is 1: the planted error shows at the other temperatures.)
  for (double tau : {0.5, 2.0})
    COURSE_CHECK_REJECTS(check_eq_12_8_pathwise_derivative(tau, without_inverse_tau), "the Jacobian without its 1 / tau");
  COURSE_CHECK(check_eq_12_8_quadrature_gradient(1.0));
  const VecD exact = toy_exact_gradient(toy_objective());
  for (double tau : {0.5, 1.0}) {
    COURSE_CHECK(check_eq_12_8_unbiased_for_relaxed(tau));
    COURSE_CHECK(check_eq_12_8_biased_for_discrete(tau, relaxed_by_quadrature(toy_objective(), tau).gradient));
    COURSE_CHECK_REJECTS(check_eq_12_8_biased_for_discrete(tau, exact), "the claim that the relaxation is unbiased");
  }
  COURSE_CHECK_REJECTS(check_eq_12_8_unbiased_for_relaxed(0.5, without_inverse_tau), "the Jacobian without 1 / tau, in the mean");
}

BOOST_AUTO_TEST_CASE(eq_12_9_straight_through_forward_is_exact_gradient_is_biased) {
  COURSE_CHECK(check_eq_12_9_forward_value_unbiased(0.5));
  COURSE_CHECK(check_eq_12_9_straight_through_biased(0.5));
  COURSE_CHECK(check_eq_12_9_straight_through_biased(1.0));
  for (double tau : {0.5, 1.0}) COURSE_CHECK(check_eq_12_9_straight_through_linear(tau));
  const ToyObjective o = toy_objective();
  const VecD c = linear_objective();
  COURSE_CHECK_REJECTS(check_eq_12_9_straight_through_linear(0.5, [&](const VecD& g, double tau) {
                         // The Jacobian taken at the one-hot z (it is 0 there).
                         const VecD y = softmax((o.logits + g) / tau);
                         Index k = 0;
                         y.maxCoeff(&k);
                         return gumbel_softmax_vjp(one_hot(k, 3), c, tau);
                       }),
                       "the Jacobian at the one-hot z");
  COURSE_CHECK_REJECTS(check_eq_12_9_straight_through_linear(0.5, [&](const VecD& g, double) {
                         // The true gradient's formula applied to the sample: (diag z - z pi^T) c.
                         const VecD pi = softmax(o.logits);
                         Index k = 0;
                         (o.logits + g).maxCoeff(&k);
                         return VecD(c(k) * one_hot(k, 3) - one_hot(k, 3) * pi.dot(c));
                       }),
                       "(diag z - z pi^T) c, a REINFORCE-like estimate of the true gradient");
  // REINFORCE is unbiased: the bias check must not report a bias for it.
  const auto reinforce = [](const ToyObjective& o, const VecD& g, double) { return reinforce_estimate(o, g); };
  COURSE_CHECK_REJECTS(check_eq_12_9_straight_through_biased(0.5, reinforce), "an unbiased estimator (REINFORCE)");
}

BOOST_AUTO_TEST_SUITE_END()
