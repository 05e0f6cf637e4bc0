// Chapter 13: every tagged equation of docs/13-gan.md, and the wrong formula each check must reject
// (each planted below and asserted to FAIL).
#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <limits>

#include "13_gan/checks.hpp"
#include "13_gan/gan.hpp"
#include "check_test.hpp"
#include "course/nn.hpp"

using namespace course;
using namespace course::ch13;

namespace {

using nn::sigmoid;
using nn::softplus;

// ---- planted discriminator losses ----
// Labels swapped: the fakes called real.
DiscriminatorLoss labels_swapped(const VecD& real, const VecD& fake) { return discriminator_loss(fake, real); }
// log D(x~) for log(1 - D(x~)) in the fake term: L = -mean log D(x) + mean log D(x~)... as a student
// writes it, -mean log D(x) - mean log D(x~).
DiscriminatorLoss fake_term_log_d(const VecD& real, const VecD& fake) {
  DiscriminatorLoss L = discriminator_loss(real, fake);
  L.loss = 0.0;
  for (Index i = 0; i < real.size(); ++i) L.loss += softplus(-real(i)) / double(real.size());
  for (Index j = 0; j < fake.size(); ++j) {
    L.loss += softplus(-fake(j)) / double(fake.size());
    L.d_fake(j) = -sigmoid(-fake(j)) / double(fake.size());
  }
  return L;
}
// The gradient without its 1/n (the sum's gradient beside the mean's loss).
DiscriminatorLoss gradient_without_mean(const VecD& real, const VecD& fake) {
  DiscriminatorLoss L = discriminator_loss(real, fake);
  L.d_real *= double(real.size());
  L.d_fake *= double(fake.size());
  return L;
}
// sigmoid(s) for -(1 - sigmoid(s)) in the real logits' gradient.
DiscriminatorLoss real_gradient_sigmoid(const VecD& real, const VecD& fake) {
  DiscriminatorLoss L = discriminator_loss(real, fake);
  for (Index i = 0; i < real.size(); ++i) L.d_real(i) = sigmoid(real(i)) / double(real.size());
  return L;
}
// log sigmoid computed naively: log(1 / (1 + e^{-s})) overflows to log 0 = -inf at s = -800.
DiscriminatorLoss naive_logs(const VecD& real, const VecD& fake) {
  DiscriminatorLoss L = discriminator_loss(real, fake);
  L.loss = 0.0;
  for (Index i = 0; i < real.size(); ++i) L.loss -= std::log(1.0 / (1.0 + std::exp(-real(i)))) / double(real.size());
  for (Index j = 0; j < fake.size(); ++j) L.loss -= std::log(1.0 - 1.0 / (1.0 + std::exp(-fake(j)))) / double(fake.size());
  return L;
}

// ---- planted optimal discriminators and divergences ----
VecD upside_down(const VecD& q, const VecD& p) { return optimal_discriminator(p, q); }
VecD likelihood_ratio(const VecD& q, const VecD& p) { return (q.array() / p.array()).matrix(); }
VecD always_half(const VecD& q, const VecD&) { return VecD::Constant(q.size(), 0.5); }
VecD pm1_regression(const VecD& q, const VecD& p) { return ((q - p).array() / (q + p).array()).matrix(); }

double kl(const VecD& a, const VecD& b) {
  double s = 0.0;
  for (Index i = 0; i < a.size(); ++i)
    if (a(i) > 0.0) s += a(i) * std::log(a(i) / b(i));
  return s;
}
double jsd_without_half(const VecD& p, const VecD& q) { return 2.0 * jsd(p, q); }
double jsd_in_bits(const VecD& p, const VecD& q) { return jsd(p, q) / std::log(2.0); }
double kl_for_jsd(const VecD& p, const VecD& q) { return kl(p, q); }

// ---- planted generator losses ----
GeneratorLoss flipped(const GeneratorLoss& L) { return {-L.loss, -L.grad}; }
GeneratorLoss ns_flipped(const VecD& s) { return flipped(generator_loss_nonsaturating(s)); }
GeneratorLoss mm_flipped(const VecD& s) { return flipped(generator_loss_minimax(s)); }  // -log(1 - D), maximised form
// The non-saturating gradient written -sigmoid(s) (the minimax one's) beside the right loss.
GeneratorLoss ns_wrong_gradient(const VecD& s) {
  GeneratorLoss L = generator_loss_nonsaturating(s);
  L.grad = generator_loss_minimax(s).grad;
  return L;
}

// ---- planted mode counts ----
VecD squared_vs_radius(const MatD& X, const MatD& modes, double radius) {
  return samples_per_mode(X, modes, std::sqrt(radius));  // d^2 < r, i.e. d < sqrt(r)
}
VecD no_radius(const MatD& X, const MatD& modes, double) {
  return samples_per_mode(X, modes, std::numeric_limits<double>::infinity());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ch13_gan)

// ---- (13.1) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_13_1_discriminator_loss_gradient_vs_central_differences) {
  COURSE_CHECK(check_eq_13_1_loss_gradient());
  COURSE_CHECK_REJECTS(check_eq_13_1_loss_gradient(gradient_without_mean), "a gradient without its 1/n");
  COURSE_CHECK_REJECTS(check_eq_13_1_loss_gradient(real_gradient_sigmoid), "sigmoid(s) for the real logits' gradient");
}

BOOST_AUTO_TEST_CASE(eq_13_1_discriminator_loss_is_the_lectures_plus_minus_one_logistic_loss) {
  COURSE_CHECK(check_eq_13_1_pm1_labels());
  COURSE_CHECK_REJECTS(check_eq_13_1_pm1_labels(labels_swapped), "labels swapped (fakes called real)");
  COURSE_CHECK_REJECTS(check_eq_13_1_pm1_labels(fake_term_log_d), "log D(x~) for log(1 - D(x~)) in the fake term");
}

BOOST_AUTO_TEST_CASE(eq_13_1_discriminator_loss_is_stable_at_large_logits) {
  COURSE_CHECK(check_eq_13_1_stable());
  COURSE_CHECK_REJECTS(check_eq_13_1_stable(naive_logs), "log(sigmoid(s)) computed naively (log 0 at s = -800)");
  COURSE_CHECK_REJECTS(check_eq_13_1_stable(labels_swapped), "labels swapped");
}

BOOST_AUTO_TEST_CASE(eq_13_1_discriminator_network_gradient_vs_central_differences) {
  COURSE_CHECK(check_eq_13_1_network_gradient());
  COURSE_CHECK_REJECTS(check_eq_13_1_network_gradient(gradient_without_mean), "a gradient without its 1/n");
}

// ---- (13.2) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_13_2_optimal_discriminator_maximises_the_value) {
  COURSE_CHECK(check_eq_13_2_maximises_value());
  COURSE_CHECK_REJECTS(check_eq_13_2_maximises_value(upside_down), "D* upside down, p / (q + p)");
  COURSE_CHECK_REJECTS(check_eq_13_2_maximises_value(likelihood_ratio), "the likelihood ratio q / p");
}

BOOST_AUTO_TEST_CASE(eq_13_2_trained_logistic_discriminator_agrees_with_the_optimal_one) {
  COURSE_CHECK(check_eq_13_2_trained_discriminator());
  COURSE_CHECK_REJECTS(check_eq_13_2_trained_discriminator(upside_down), "D* upside down");
  COURSE_CHECK_REJECTS(check_eq_13_2_trained_discriminator(always_half), "D* = 1/2 everywhere");
  COURSE_CHECK_REJECTS(check_eq_13_2_trained_discriminator(pm1_regression),
                       "(q - p) / (q + p), the best +1/-1 output under squared error");
}

BOOST_AUTO_TEST_CASE(eq_13_2_optimal_discriminator_is_one_half_when_the_generator_is_perfect) {
  COURSE_CHECK(check_eq_13_2_half_when_equal());
  COURSE_CHECK_REJECTS(check_eq_13_2_half_when_equal(pm1_regression), "(q - p) / (q + p) (0 when p = q)");
}

// ---- (13.3) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_13_3_value_at_the_optimal_discriminator_is_minus_log4_plus_2_jsd_discrete) {
  COURSE_CHECK(check_eq_13_3_discrete());
  COURSE_CHECK_REJECTS(check_eq_13_3_discrete(optimal_discriminator, jsd_without_half), "a JSD without its 1/2");
  COURSE_CHECK_REJECTS(check_eq_13_3_discrete(optimal_discriminator, jsd_in_bits), "the JSD in bits (log2)");
  COURSE_CHECK_REJECTS(check_eq_13_3_discrete(optimal_discriminator, kl_for_jsd), "KL(q || p) for the JSD");
  COURSE_CHECK_REJECTS(check_eq_13_3_discrete(upside_down), "D* upside down");
}

BOOST_AUTO_TEST_CASE(eq_13_3_value_at_the_optimal_discriminator_quadrature_vs_monte_carlo_jsd) {
  COURSE_CHECK(check_eq_13_3_continuous());
  COURSE_CHECK_REJECTS(check_eq_13_3_continuous(optimal_discriminator, 1.0), "V = -log 4 + JSD (without the 2)");
  COURSE_CHECK_REJECTS(check_eq_13_3_continuous(upside_down), "D* upside down");
}

BOOST_AUTO_TEST_CASE(eq_13_3_jsd_limits_equal_and_disjoint) {
  COURSE_CHECK(check_eq_13_3_limits());
  COURSE_CHECK_REJECTS(check_eq_13_3_limits(optimal_discriminator, jsd_in_bits), "the JSD in bits (log 2 -> 1)");
  COURSE_CHECK_REJECTS(check_eq_13_3_limits(optimal_discriminator, jsd_without_half), "a JSD without its 1/2");
}

// ---- (13.4) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_13_4_generator_loss_gradients_vs_central_differences) {
  COURSE_CHECK(check_eq_13_4_loss_gradient(generator_loss_nonsaturating, "non-saturating"));
  COURSE_CHECK(check_eq_13_4_loss_gradient(generator_loss_minimax, "minimax"));
  COURSE_CHECK_REJECTS(check_eq_13_4_loss_gradient(ns_wrong_gradient, "non-saturating"),
                       "-sigmoid(s) (the minimax gradient) for the non-saturating one");
  GenLossFn sign_only = [](const VecD& s) {
    GeneratorLoss L = generator_loss_minimax(s);
    L.grad = -L.grad;
    return L;
  };
  COURSE_CHECK_REJECTS(check_eq_13_4_loss_gradient(sign_only, "minimax"), "a flipped gradient sign");
}

BOOST_AUTO_TEST_CASE(eq_13_4_generator_parameter_gradient_through_both_networks) {
  COURSE_CHECK(check_eq_13_4_generator_gradient(generator_loss_nonsaturating, "non-saturating"));
  COURSE_CHECK(check_eq_13_4_generator_gradient(generator_loss_minimax, "minimax"));
  COURSE_CHECK_REJECTS(check_eq_13_4_generator_gradient(ns_wrong_gradient, "non-saturating"),
                       "the minimax gradient beside the non-saturating loss");
}

// ---- (13.5) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_13_5_generator_gradients_in_the_fake_closed_forms) {
  COURSE_CHECK(check_eq_13_5_closed_forms());
  COURSE_CHECK_REJECTS(check_eq_13_5_closed_forms(mm_flipped), "-log(1 - D) for log(1 - D)");
  COURSE_CHECK_REJECTS(check_eq_13_5_closed_forms(generator_loss_minimax, ns_flipped), "+log D for -log D");
  COURSE_CHECK_REJECTS(check_eq_13_5_closed_forms(generator_loss_nonsaturating, generator_loss_minimax),
                       "the two losses exchanged");
}

BOOST_AUTO_TEST_CASE(eq_13_5_minimax_gradient_saturates_as_d_over_one_minus_d) {
  COURSE_CHECK(check_eq_13_5_ratio());
  COURSE_CHECK_REJECTS(check_eq_13_5_ratio(mm_flipped), "-log(1 - D) (the maximised form)");
  COURSE_CHECK_REJECTS(check_eq_13_5_ratio(generator_loss_minimax, ns_wrong_gradient),
                       "the minimax gradient for the non-saturating one (ratio 1)");
}

// ---- (13.6) -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eq_13_6_samples_per_mode_on_a_hand_made_set) {
  COURSE_CHECK(check_eq_13_6_counts_exact());
  COURSE_CHECK_REJECTS(check_eq_13_6_counts_exact(squared_vs_radius), "the squared distance against the radius");
  COURSE_CHECK_REJECTS(check_eq_13_6_counts_exact(no_radius), "no radius (every sample counted at its nearest mode)");
}

BOOST_AUTO_TEST_CASE(eq_13_6_share_on_each_mode_of_a_perfect_sampler) {
  COURSE_CHECK(check_eq_13_6_shares(ring_samples(4000, 136), "the ring's own samples"));
  COURSE_CHECK_REJECTS(check_eq_13_6_shares(ring_samples(4000, 136, true), "modes 0, 2, 5 dropped"),
                       "a sampler that drops three modes");
  Rng rng(137);
  COURSE_CHECK_REJECTS(check_eq_13_6_shares(rng.normal_matrix<double>(2, 4000), "N(0, I)"),
                       "the Gaussian fit N(0, I) (every mode, blurred)");
  // (No radius at all moves each share from 0.1236 to 0.125, one standard error: the exact count
  // check above rejects that mistake; this one rejects samplers.)
}

BOOST_AUTO_TEST_CASE(eq_13_6_coverage_threshold_counts_all_modes_of_a_perfect_sampler) {
  // A perfect sampler covers all 8 modes except with probability <= 1e-6 (the threshold's
  // definition); the sampler with three modes dropped covers exactly the other 5.
  const GaussianMixture2D g = ring_data();
  const ModeCoverage perfect = mode_coverage(g, ring_samples(4000, 138));
  const ModeCoverage dropped = mode_coverage(g, ring_samples(4000, 138, true));
  COURSE_CHECK(check_identity("13.6", "modes covered: perfect sampler 8, three dropped 5",
                              MatD((VecD(2) << perfect.covered, dropped.covered).finished()),
                              MatD((VecD(2) << 8.0, 5.0).finished())));
  // The threshold is the largest c with P(count < c) <= 1e-6 / 8 for count ~ Binomial(4000, share):
  // a threshold at level 1e-6 without the Bonferroni 1/8 is one count too high, and fails.
  const double share = 0.125 * (1.0 - std::exp(-4.5));
  const boost::math::binomial_distribution<double> binom(4000.0, share);
  const double c = perfect.min_count;
  BOOST_TEST(boost::math::cdf(binom, c - 1.0) <= 1e-6 / 8.0);
  BOOST_TEST(boost::math::cdf(binom, c) > 1e-6 / 8.0);
}

BOOST_AUTO_TEST_SUITE_END()
