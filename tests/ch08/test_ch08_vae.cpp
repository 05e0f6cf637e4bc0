// Chapter 8: every tagged equation of docs/08-vae.md, and the wrong formula each check must reject.
#include "08_vae/checks.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch08;

namespace {
const PpcaProblem& ppca() {
  static const PpcaProblem p = ppca_problem();
  return p;
}
const LinearVaeRun& ppca_run() {
  static const LinearVaeRun r = train_ppca(ppca());
  return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ch08_vae)

BOOST_AUTO_TEST_CASE(eq_8_1_reparameterized_sample_has_mean_mu_and_variance_exp_log_var) {
  COURSE_CHECK(check_eq_8_1_reparameterization());
  // Rejects: exp(log_var) as the standard deviation (sigma^2 for sigma), and log_var itself.
  reparameterize(MatD::Zero(1, 1), MatD::Zero(1, 1), MatD::Zero(1, 1));
  COURSE_CHECK_REJECTS(check_eq_8_1_reparameterization([](const MatD& mu, const MatD& lv, const MatD& eps) {
                         return MatD(mu + (lv.array().exp() * eps.array()).matrix());
                       }, 20000),
                       "z = mu + exp(log_var) eps (sigma^2 for sigma)");
  COURSE_CHECK_REJECTS(check_eq_8_1_reparameterization([](const MatD& mu, const MatD& lv, const MatD& eps) {
                         return MatD(mu + (lv.array() * eps.array()).matrix());
                       }, 20000),
                       "z = mu + log_var eps");
}

BOOST_AUTO_TEST_CASE(eq_8_2_closed_form_kl_matches_monte_carlo) {
  const SmallGaussian g;
  const McEstimate mc = kl_monte_carlo(g);
  COURSE_CHECK(check_eq_8_2_kl(kl_closed_form(g), mc));
  const VecD mu = g.mu, lv = g.log_var;
  const double L = double(mu.size());
  COURSE_CHECK_REJECTS(check_eq_8_2_kl(mu.squaredNorm() + lv.array().exp().sum() - L - lv.sum(), mc), "a missing 1/2");
  COURSE_CHECK_REJECTS(check_eq_8_2_kl(0.5 * (mu.squaredNorm() + (0.5 * lv.array()).exp().sum() - L - lv.sum()), mc),
                       "sigma for sigma^2: exp(log_var / 2)");
  COURSE_CHECK_REJECTS(check_eq_8_2_kl(0.5 * (mu.squaredNorm() + lv.array().exp().sum() - L + lv.sum()), mc),
                       "+ log_var for - log_var");
}

BOOST_AUTO_TEST_CASE(eq_8_2_batched_kl_is_chapter_6s_kl_diag_std_normal) {
  COURSE_CHECK(check_eq_8_2_kl_is_chapter_6s());
  COURSE_CHECK_REJECTS(check_eq_8_2_kl_is_chapter_6s([](const VecD& mu, const VecD& lv) {
                         return mu.squaredNorm() + lv.array().exp().sum() - double(mu.size()) - lv.sum();
                       }),
                       "chapter 6's KL without its 1/2");
}

BOOST_AUTO_TEST_CASE(eq_8_3_bernoulli_nll_from_logits_and_its_gradient) {
  const BernoulliCase c = bernoulli_case();
  const BernoulliNll nll = bernoulli_nll(c.x, c.a);
  COURSE_CHECK(check_eq_8_3_value(c, nll.value));
  COURSE_CHECK(check_eq_8_3_gradient(c, nll.grad));
  COURSE_CHECK(check_eq_8_3_stable(bernoulli_nll(VecD::Constant(1, 0.0), VecD::Constant(1, 1000.0)).value, 1000.0));
  COURSE_CHECK(check_eq_8_3_stable(bernoulli_nll(VecD::Constant(1, 1.0), VecD::Constant(1, -1000.0)).value, 1000.0));
  // Rejects: the gradient with its sign flipped (x - sigmoid(a)), and the naive log(1 + exp(a)).
  COURSE_CHECK_REJECTS(check_eq_8_3_gradient(c, -nll.grad), "x - sigmoid(a) (a flipped sign)");
  COURSE_CHECK_REJECTS(check_eq_8_3_gradient(c, VecD(nll.grad + c.x)), "sigmoid(a) without the - x");
  COURSE_CHECK_REJECTS(check_eq_8_3_stable(std::log1p(std::exp(1000.0)), 1000.0), "log1p(exp(a)) overflowing at a = 1000");
  COURSE_CHECK_REJECTS(check_eq_8_3_value(c, (c.a.array().exp().log1p() - c.x.array() * c.a.array()).sum() + 0.5),
                       "a constant off");
}

BOOST_AUTO_TEST_CASE(eq_8_4_encoder_gradient_through_the_reparameterization_and_the_kl) {
  const EncoderCase c = encoder_case();
  const VecD dz = encoder_case_dl_dz(c);
  const EncoderGradient g = encoder_gradient(dz, c.mu, c.log_var, c.eps);
  COURSE_CHECK(check_eq_8_4_encoder_gradient(c, g));
  const Eigen::ArrayXd sigma = (0.5 * c.log_var.array()).exp(), s2 = c.log_var.array().exp();
  EncoderGradient no_kl{dz, (dz.array() * c.eps.array() * sigma * 0.5).matrix()};
  COURSE_CHECK_REJECTS(check_eq_8_4_encoder_gradient(c, no_kl), "the KL part left out");
  EncoderGradient no_half{g.mu, (dz.array() * c.eps.array() * sigma + 0.5 * (s2 - 1.0)).matrix()};
  COURSE_CHECK_REJECTS(check_eq_8_4_encoder_gradient(c, no_half), "d sigma / d log_var = sigma (a missing 1/2)");
  EncoderGradient sigma_kl{g.mu, (dz.array() * c.eps.array() * sigma * 0.5 + 0.5 * (sigma - 1.0)).matrix()};
  COURSE_CHECK_REJECTS(check_eq_8_4_encoder_gradient(c, sigma_kl), "sigma for sigma^2 in the KL's gradient");
}

BOOST_AUTO_TEST_CASE(eq_8_5_minibatch_gradient_of_every_parameter_bernoulli) {
  SmallVae s = small_vae(Likelihood::Bernoulli);
  const VaeGradient g = vae_gradient(s);
  COURSE_CHECK(check_eq_8_5_minibatch_gradient(s, g));
  // Rejects: the KL's log-variance gradient without its 1/2 (added to the log_var biases), and a
  // decoder gradient not divided by the batch size.
  VaeGradient wrong = g;
  const MatD lv = s.vae.log_var();
  wrong.blocks[3].bottomRows(3) += (0.5 * (lv.array().exp() - 1.0)).rowwise().sum().matrix() / double(s.X.cols());
  COURSE_CHECK_REJECTS(check_eq_8_5_minibatch_gradient(s, wrong), "the KL's d/dlog_var without its 1/2");
  VaeGradient no_mean = g;
  no_mean.blocks[6] *= double(s.X.cols());
  COURSE_CHECK_REJECTS(check_eq_8_5_minibatch_gradient(s, no_mean), "a decoder gradient summed, not averaged, over the batch");
}

BOOST_AUTO_TEST_CASE(eq_8_5_minibatch_gradient_of_every_parameter_gaussian) {
  SmallVae s = small_vae(Likelihood::Gaussian);
  const VaeGradient g = vae_gradient(s);
  COURSE_CHECK(check_eq_8_5_minibatch_gradient(s, g));
  // Rejects: d/d log sigma^2 without the D/2 log sigma^2 term's gradient.
  VaeGradient wrong = g;
  wrong.blocks[8](0, 0) -= 0.5 * double(s.X.rows());
  COURSE_CHECK_REJECTS(check_eq_8_5_minibatch_gradient(s, wrong), "the log-normaliser's D/2 left out of d/dlog sigma^2");
}

BOOST_AUTO_TEST_CASE(eq_8_6_log_mean_exp_is_stable_and_exact) {
  const VecD w = (VecD(4) << -1.0, 0.5, 2.0, -3.0).finished();
  COURSE_CHECK(check_identity("8.6", "log mean exp, moderate values", std::log(w.array().exp().mean()), log_mean_exp(w), 1e-12));
  COURSE_CHECK(check_identity("8.6", "log mean exp near -1000", -1000.0 + std::log(w.array().exp().mean()),
                              log_mean_exp(VecD(w.array() - 1000.0)), 1e-12));
  COURSE_CHECK(check_identity("8.6", "log mean exp near +1000", 1000.0 + std::log(w.array().exp().mean()),
                              log_mean_exp(VecD(w.array() + 1000.0)), 1e-12));
  COURSE_CHECK_REJECTS(check_identity("8.6", "", std::log(w.array().exp().mean()), std::log(w.array().exp().sum()), 1e-12),
                       "log sum exp (the log k left out)");
  COURSE_CHECK_REJECTS(check_identity("8.6", "", -1000.0 + std::log(w.array().exp().mean()),
                                      std::log((w.array() - 1000.0).exp().mean()), 1e-12),
                       "the direct formula underflowing at -1000");
}

BOOST_AUTO_TEST_CASE(eq_8_6_importance_weighted_bound_lies_between_the_elbo_and_log_px) {
  LinearDecoderVae m = linear_decoder_vae();
  const IwEstimates iw = importance_weighted(m.vae, m.X, {1, 10, 100, 1000}, 1);
  const VecD log_px = exact_log_px(m);
  COURSE_CHECK(check_eq_8_6_l1_is_the_elbo(iw));
  for (Index c = 0; c < 4; ++c) COURSE_CHECK(check_eq_8_6_below_log_px(iw, c, log_px));
  // L_1 < L_10; beyond M = 10 this small model's L_M is within 0.3 nats of log p(x), and the further
  // increases are below 5 SE for 200 images (the chapter program checks them on Fashion-MNIST).
  COURSE_CHECK(check_eq_8_6_grows(iw, 0));
  // Rejects: log sum w (no 1/M): it overshoots log p(x).
  const IwEstimates summed = importance_weighted(m.vae, m.X, {1, 10, 100, 1000}, 1, [](const VecD& lw) {
    const double mx = lw.maxCoeff();
    return mx + std::log((lw.array() - mx).exp().sum());
  });
  COURSE_CHECK_REJECTS(check_eq_8_6_below_log_px(summed, 3, log_px), "log sum_i w_i (the 1/M left out)");
  // Rejects: an ELBO whose closed-form KL lacks its 1/2 (the L_1 - ELBO check sees the bias).
  IwEstimates biased = iw;
  m.vae.encode(m.X);
  biased.elbo -= kl_to_standard_normal<double>(MatD(m.vae.mu()), MatD(m.vae.log_var()));
  COURSE_CHECK_REJECTS(check_eq_8_6_l1_is_the_elbo(biased), "the ELBO with KL missing its 1/2 (twice the KL)");
}

BOOST_AUTO_TEST_CASE(eq_8_7_linear_vae_gradient) {
  COURSE_CHECK(check_eq_8_7_gradient(ppca()));
  COURSE_CHECK(check_eq_8_7_gradient(ppca(), 2.5));
}

BOOST_AUTO_TEST_CASE(eq_8_7_linear_vae_recovers_probabilistic_pca) {
  const PpcaProblem& p = ppca();
  const LinearVaeRun& r = ppca_run();
  const double s2 = std::exp(r.model.log_noise_var);
  COURSE_CHECK(check_eq_8_7_noise(s2, sigma2_ml(p)));
  COURSE_CHECK(check_eq_8_7_subspace(r.model.W, p.U.leftCols(p.k)));
  const double elbo = -linear_vae_loss(r.model, p.S);
  COURSE_CHECK(check_eq_8_7_tight(elbo, ppca_log_likelihood(r.model.W, s2, p.S), "own log p(x)"));
  const MatD W_ml = p.U.leftCols(p.k) * (p.lambda.head(p.k).array() - sigma2_ml(p)).sqrt().matrix().asDiagonal();
  COURSE_CHECK(check_eq_8_7_tight(elbo, ppca_log_likelihood(W_ml, sigma2_ml(p), p.S), "pPCA maximum likelihood"));
  COURSE_CHECK_REJECTS(check_eq_8_7_noise(s2, p.lambda.mean()), "the mean of all eigenvalues");
  COURSE_CHECK_REJECTS(check_eq_8_7_noise(s2, p.lambda(p.k - 1)), "the smallest kept eigenvalue");
  COURSE_CHECK_REJECTS(check_eq_8_7_subspace(r.model.W, p.U.middleCols(1, p.k)), "the subspace of eigenvectors 2..k+1");
  // Early in training the bound is not yet tight.
  const LinearVaeRun early = train_linear_vae(p.S, p.k, 30, true, 0.0, 1.0, 7);
  COURSE_CHECK_REJECTS(check_eq_8_7_tight(-linear_vae_loss(early.model, p.S),
                                          ppca_log_likelihood(W_ml, sigma2_ml(p), p.S), ""),
                       "the linear VAE after 30 iterations");
}

BOOST_AUTO_TEST_CASE(eq_8_8_directions_below_the_noise_collapse) {
  const PpcaProblem& p = ppca();
  for (double s2 : {0.25, 1.2, 4.0}) {
    const LinearVaeRun r = train_fixed_noise(p, s2);
    COURSE_CHECK(check_eq_8_8_active_units(r, p, s2));
    // Rejects: counting lambda_j > sigma (sigma for sigma^2); at sigma^2 = 1.2 both counts are 4.
    const double predicted_with_sigma = expected_active(p.lambda, std::sqrt(s2), 6);
    if (s2 != 1.2) COURSE_CHECK_REJECTS(check_identity("8.8", "", predicted_with_sigma, r.active_units.back(), 0.0),
                         "#{lambda_j > sigma} (sigma for sigma^2)");
  }
}

// The VAEs of chapters 8 and 9 train with the course's Adam: tests/common/test_optim.cpp compares
// it step by step with the textbook update and rejects it without bias correction.

BOOST_AUTO_TEST_CASE(importance_weighted_estimates_are_bitwise_independent_of_the_thread_count) {
  // Not an equation: image i draws from Rng(seed, i) and blocks of images write disjoint rows, so
  // 1 and 2 threads give the same bits (a shared stream or a shared workspace would not).
  LinearDecoderVae m = linear_decoder_vae();
  set_threads(1);
  const IwEstimates one = importance_weighted(m.vae, m.X, {1, 10, 100}, 3);
  set_threads(2);
  const IwEstimates two = importance_weighted(m.vae, m.X, {1, 10, 100}, 3);
  set_threads(0);
  BOOST_TEST(one.L.allFinite());
  BOOST_TEST((one.L.array() == two.L.array()).all());
  BOOST_TEST((one.elbo.array() == two.elbo.array()).all());
}

BOOST_AUTO_TEST_CASE(vae_training_is_bitwise_independent_of_the_thread_count) {
  // Not an equation: the performance design (fixed row blocks) promises the same bits, for every
  // parameter block (tests/support/thread_test.hpp).
  VaeConfig c;
  c.input = 40;
  c.hidden = 30;
  c.latent = 4;
  auto model = [&] {
    Rng init(5);
    return Vae<float>(c, init);
  };
  Vae<float> start = model();
  test::check_bitwise_equal_for_1_and_2_threads(test::values_of(start.parameters()), [&] {
    Vae<float> v = model();
    Adam<float> adam(v.parameters(), 1e-3f);
    Rng rng(6);
    for (int step = 0; step < 5; ++step) {
      const MatF X = rng.uniform_matrix<float>(40, 16, 0.0, 1.0), eps = rng.normal_matrix<float>(4, 16);
      v.zero_grad();
      v.forward(X, eps);
      v.backward(X);
      adam.step();
    }
    return test::values_of(v.parameters());
  });
}

BOOST_AUTO_TEST_SUITE_END()
