// Chapter 12's networks: the gradients of the CVAE's and the Gumbel-softmax VAE's batch losses.
#include <cmath>

#include "12_cvae_discrete/network_checks.hpp"
#include "12_cvae_discrete/training.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch12;

BOOST_AUTO_TEST_SUITE(ch12_networks)

BOOST_AUTO_TEST_CASE(eq_12_2_cvae_minibatch_gradient_of_every_parameter) {
  SmallCvae s = small_cvae();
  const NetworkGradient g = cvae_gradient(s);
  COURSE_CHECK(check_eq_12_2_cvae_gradient(s, g));
  // Rejects: the KL's d/dlog_var without its 1/2 (added to the log-variance biases of the
  // encoder's last layer, parameter block 3), and a decoder gradient summed over the batch.
  NetworkGradient wrong = g;
  s.model.encode(s.X, s.Y);
  const MatD lv = s.model.log_var();
  wrong.blocks[3].tail(3) += (0.5 * (lv.array().exp() - 1.0)).rowwise().sum().matrix() / double(s.X.cols());
  COURSE_CHECK_REJECTS(check_eq_12_2_cvae_gradient(s, wrong), "the KL's d/dlog_var without its 1/2");
  NetworkGradient summed = g;
  for (std::size_t k = 4; k < summed.blocks.size(); ++k) summed.blocks[k] *= double(s.X.cols());
  COURSE_CHECK_REJECTS(check_eq_12_2_cvae_gradient(s, summed), "a decoder gradient summed, not averaged, over the batch");
}

BOOST_AUTO_TEST_CASE(eq_12_10_gumbel_softmax_vae_minibatch_gradient_of_every_parameter) {
  SmallDvae s = small_dvae();
  const NetworkGradient g = dvae_gradient(s);
  COURSE_CHECK(check_eq_12_10_dvae_gradient(s, g));
  // Rejects: the categorical KL's gradient left out (the gradient of a model with KL weight 0
  // against the loss with weight 1), and the encoder's gradient with tau^2 too much.
  SmallDvae no_kl = s;
  no_kl.model.config.beta = 0.0;
  const NetworkGradient without_kl = dvae_gradient(no_kl);
  COURSE_CHECK_REJECTS(check_eq_12_10_dvae_gradient(s, without_kl), "the categorical KL's gradient left out");
  NetworkGradient scaled = g;
  for (std::size_t k = 0; k < 4; ++k) scaled.blocks[k] *= s.tau * s.tau;
  COURSE_CHECK_REJECTS(check_eq_12_10_dvae_gradient(s, scaled), "the encoder's gradient with a factor tau^2 (tau for 1/tau)");
}

BOOST_AUTO_TEST_CASE(eq_12_6_network_kl_from_logits_equals_the_closed_form) {
  SmallDvae s = small_dvae();
  COURSE_CHECK(check_eq_12_6_network_kl(s));
  // Rejects: the log K missing (the negative entropy alone), N log K per image.
  const NetworkKl no_log_k = [](Dvae<double>& m, const MatD& Theta) -> VecD {
    return m.kl_to_uniform(Theta).array() - double(m.config.groups) * std::log(double(m.config.classes));
  };
  COURSE_CHECK_REJECTS(check_eq_12_6_network_kl(s, no_log_k), "the KL without its log K");
}

BOOST_AUTO_TEST_CASE(eq_12_3_network_discrete_elbo_unbiased_against_enumeration) {
  SmallDvae s = small_dvae();
  COURSE_CHECK(check_eq_12_3_discrete_elbo_unbiased(s));
  // Rejects: Gaussian noise in place of Gumbel noise (the code is then not a draw from q).
  const CodeNoise gaussian = [](Index rows, Index cols, Rng& rng) { return rng.normal_matrix<double>(rows, cols); };
  COURSE_CHECK_REJECTS(check_eq_12_3_discrete_elbo_unbiased(s, gaussian), "Gaussian noise for Gumbel noise");
}

BOOST_AUTO_TEST_CASE(gumbel_softmax_vae_straight_through_forward_sees_one_hot_codes) {
  // Not an equation: in straight-through mode the decoder's input is the one-hot code of the
  // relaxed sample (eq. 12.9), and its backward pass still runs through the relaxed sample.
  SmallDvae s = small_dvae();
  s.model.config.straight_through = true;
  s.model.forward(s.X, s.G, s.tau);
  const MatD& Yin = s.model.Yin;
  BOOST_TEST((Yin.array() == 0.0 || Yin.array() == 1.0).all());
  BOOST_TEST((Yin.colwise().sum().array() == 3.0).all());  // one class per group, 3 groups
  BOOST_TEST((s.model.group_one_hot(s.model.Ysoft).array() == Yin.array()).all());
}

namespace {
// The Wilson interval's defining equation at an endpoint p: |rate - p| - z sqrt(p (1 - p) / n).
double wilson_residual(const Accuracy& a, double p) {
  return std::abs(a.rate - p) - kWilsonZ * std::sqrt(p * (1 - p) / double(a.n));
}
Accuracy of(int right, int n) {
  std::vector<int> predicted(std::size_t(n), 0), wanted(std::size_t(n), 1);
  for (int i = 0; i < right; ++i) wanted[std::size_t(i)] = 0;
  return accuracy(predicted, wanted);
}
}  // namespace

BOOST_AUTO_TEST_CASE(sample_accuracy_wilson_interval_solves_its_equation) {
  // Not an equation of the doc: the interval the chapter reports beside each accuracy. Both ends
  // solve |rate - p| = z sqrt(p (1 - p) / n); the likely wrong formula, Wald's rate +- z se (se at
  // the estimate, not at p), does not (residual 2e-3 at 81 / 100) and collapses to [0, 0] at 0 / 20.
  const Accuracy a = of(81, 100);
  BOOST_TEST(a.rate == 0.81);
  BOOST_TEST(a.lower < a.rate);
  BOOST_TEST(a.upper > a.rate);
  BOOST_TEST(std::abs(wilson_residual(a, a.lower)) < 1e-12);
  BOOST_TEST(std::abs(wilson_residual(a, a.upper)) < 1e-12);
  const double wald_lower = a.rate - kWilsonZ * a.se;
  BOOST_TEST(std::abs(wilson_residual(a, wald_lower)) > 1e-3);  // the check rejects Wald's interval
  const Accuracy none = of(0, 20);
  BOOST_TEST(std::abs(none.lower) < 1e-12);
  BOOST_TEST(none.upper > 0.1);
  BOOST_TEST(std::abs(wilson_residual(none, none.upper)) < 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()
