// Chapter 3: every tagged equation of docs/03-denoising-autoencoders.md, and the wrong formula
// each check must reject.
#include <sstream>

#include "03_denoising_ae/checks.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch03;

namespace {
const LinearProblem& linear() {
  static const LinearProblem p = make_linear_problem(1);
  return p;
}
const GaussianProblem& gaussian() {
  static const GaussianProblem g = make_gaussian_problem();
  return g;
}
// Planted wrong formulas.
MatD noise_with_variance_sigma(const MatD& X, double sigma, Rng& rng) { return gaussian_corruption(X, sigma * sigma, rng); }
MatD keep_with_probability_nu(const MatD& X, double nu, Rng& rng) { return masking_corruption(X, 1.0 - nu, rng); }
MatD inverted_dropout_mask(const MatD& X, double nu, Rng& rng) { return masking_corruption(X, nu, rng) / (1.0 - nu); }
DaeLoss noisy_target_loss(const MatD& W, const MatD& Xn, const MatD&) { return linear_dae_loss(W, Xn, Xn); }
MatD weights_with_sigma_not_squared(const MatD& S, double sigma) { return linear_dae_weights(S, std::sqrt(sigma)); }
MatD identity_weights(const MatD& S, double) { return MatD::Identity(S.rows(), S.cols()); }
}  // namespace

BOOST_AUTO_TEST_SUITE(ch03_denoising_ae)

BOOST_AUTO_TEST_CASE(eq_3_1_gaussian_corruption_has_mean_x_and_variance_sigma_squared) {
  COURSE_CHECK(check_eq_3_1_gaussian_moments(0.5));
  COURSE_CHECK_REJECTS(check_eq_3_1_gaussian_moments(0.5, noise_with_variance_sigma), "noise of standard deviation sigma^2");
}

BOOST_AUTO_TEST_CASE(eq_3_1_masking_corruption_keeps_each_entry_with_probability_one_minus_nu) {
  COURSE_CHECK(check_eq_3_1_masking_moments(0.3));
  COURSE_CHECK_REJECTS(check_eq_3_1_masking_moments(0.3, keep_with_probability_nu), "keeping entries with probability nu");
  COURSE_CHECK_REJECTS(check_eq_3_1_masking_moments(0.3, inverted_dropout_mask), "rescaling kept entries by 1/(1-nu)");
}

BOOST_AUTO_TEST_CASE(eq_3_2_dae_loss_gradient_matches_central_differences) {
  COURSE_CHECK(check_eq_3_2_gradient(linear()));
  const LinearProblem& p = linear();
  auto clean_input = [](const MatD& W, const MatD& Xn, const MatD& X) {
    DaeLoss l = linear_dae_loss(W, Xn, X);
    l.grad = (W * Xn - X) * X.transpose() / double(X.cols());
    return l;
  };
  COURSE_CHECK_REJECTS(check_eq_3_2_gradient(p, clean_input), "the clean X in place of Xn in (1/n) R Xn^T");
  auto no_one_over_n = [](const MatD& W, const MatD& Xn, const MatD& X) {
    DaeLoss l = linear_dae_loss(W, Xn, X);
    l.grad *= double(X.cols());
    return l;
  };
  COURSE_CHECK_REJECTS(check_eq_3_2_gradient(p, no_one_over_n), "a missing 1/n");
  auto twice = [](const MatD& W, const MatD& Xn, const MatD& X) {
    DaeLoss l = linear_dae_loss(W, Xn, X);
    l.grad *= 2.0;
    return l;
  };
  COURSE_CHECK_REJECTS(check_eq_3_2_gradient(p, twice), "a factor 2 (the loss's 1/2 forgotten)");
}

BOOST_AUTO_TEST_CASE(eq_3_3_training_with_noise_adds_sigma_squared_over_2_times_the_squared_weights) {
  COURSE_CHECK(check_eq_3_3_tikhonov(linear(), true));
  COURSE_CHECK(check_eq_3_3_tikhonov(linear(), false));
  const LinearProblem& p = linear();
  COURSE_CHECK_REJECTS(check_eq_3_3_tikhonov(p, true, linear_dae_loss, gaussian_corruption, p.sigma),
                       "sigma instead of sigma^2 in the penalty");
  COURSE_CHECK_REJECTS(check_eq_3_3_tikhonov(p, true, linear_dae_loss, gaussian_corruption, 0.0), "no penalty at all");
  COURSE_CHECK_REJECTS(check_eq_3_3_tikhonov(p, true, noisy_target_loss), "the noisy input as the target");
}

BOOST_AUTO_TEST_CASE(eq_3_4_gradient_descent_on_the_expected_loss_reaches_the_closed_form) {
  COURSE_CHECK(check_eq_3_4_gradient_descent(linear()));
  COURSE_CHECK_REJECTS(check_eq_3_4_gradient_descent(linear(), weights_with_sigma_not_squared), "sigma instead of sigma^2");
  COURSE_CHECK_REJECTS(check_eq_3_4_gradient_descent(linear(), identity_weights), "W = I (no noise)");
}

BOOST_AUTO_TEST_CASE(eq_3_4_noisy_gradient_has_mean_zero_at_the_closed_form) {
  const LinearProblem& p = linear();
  COURSE_CHECK(check_eq_3_4_noisy_gradient_vanishes(p, linear_dae_weights(p.S, p.sigma)));
  COURSE_CHECK_REJECTS(check_eq_3_4_noisy_gradient_vanishes(p, weights_with_sigma_not_squared(p.S, p.sigma)),
                       "W* with sigma instead of sigma^2");
  COURSE_CHECK_REJECTS(check_eq_3_4_noisy_gradient_vanishes(p, identity_weights(p.S, p.sigma)), "W = I");
}

BOOST_AUTO_TEST_CASE(eq_3_5_gaussian_optimal_dae_error_is_orthogonal_to_the_input) {
  COURSE_CHECK(check_eq_3_5_optimal_dae(gaussian()));
  COURSE_CHECK_REJECTS(check_eq_3_5_optimal_dae(gaussian(), weights_with_sigma_not_squared), "sigma instead of sigma^2");
  COURSE_CHECK_REJECTS(check_eq_3_5_optimal_dae(gaussian(), linear_dae_weights, false), "forgetting to centre at mu");
}

BOOST_AUTO_TEST_CASE(eq_3_6_tweedie_dae_residual_over_sigma_squared_is_the_smoothed_score) {
  COURSE_CHECK(check_eq_3_6_tweedie_gaussian(gaussian()));
  const GaussianMixture2D g = chapter_mixture();
  COURSE_CHECK(check_eq_3_6_tweedie_mixture(g, 0.3));
  COURSE_CHECK(check_eq_3_6_tweedie_mixture(g, 0.05));
  // Rejects the score of the clean density at finite sigma (the limit is not reached yet).
  const GaussianProblem& gp = gaussian();
  const MatD lhs = (gaussian_optimal_dae(gp.mu, gp.Sigma, gp.sigma, gp.points) - gp.points) / (gp.sigma * gp.sigma);
  COURSE_CHECK_REJECTS(check_identity("3.6", "", gaussian_score(gp.mu, gp.Sigma, gp.points), lhs),
                       "the clean score grad log p instead of grad log p_sigma");
  COURSE_CHECK_REJECTS(check_eq_3_6_tweedie_mixture(g, 0.3, 0.0), "the unsmoothed mixture score");
}

// The chapter's ring has equal weights and equal variances: a posterior mean that drops log w_c or
// the normaliser -log(v_c + sigma^2) of the smoothed components passes on it. An uneven mixture
// does not cancel them.
BOOST_AUTO_TEST_CASE(eq_3_6_tweedie_on_a_mixture_with_unequal_weights_and_variances) {
  GaussianMixture2D g;
  g.weights = {0.5, 0.3, 0.2};
  g.means = {Eigen::Vector2d(1.0, 0.5), Eigen::Vector2d(-1.0, 1.0), Eigen::Vector2d(0.5, -1.5)};
  g.variances = {0.04, 0.3, 0.8};
  COURSE_CHECK(check_eq_3_6_tweedie_mixture(g, 0.3));
  COURSE_CHECK(check_eq_3_6_tweedie_mixture(g, 0.05));
  GaussianMixture2D equal_weights = g;
  equal_weights.weights = {1.0 / 3, 1.0 / 3, 1.0 / 3};
  // The score of the right mixture against the posterior mean of a wrong one fails.
  const MatD x = tweedie_points();
  MatD lhs(2, x.cols()), rhs(2, x.cols());
  for (Index j = 0; j < x.cols(); ++j) {
    lhs.col(j) = (mixture_posterior_mean(equal_weights, 0.3, x.col(j)) - x.col(j)) / 0.09;
    rhs.col(j) = g.score(x.col(j), 0.09);
  }
  COURSE_CHECK_REJECTS(check_identity("3.6", "", rhs, lhs), "the posterior mean without the weights");
}

BOOST_AUTO_TEST_CASE(eq_3_7_dae_score_error_shrinks_like_sigma_squared) {
  for (double s : {0.1, 0.03, 0.01}) COURSE_CHECK(check_eq_3_7_small_noise_limit(gaussian(), s));
  COURSE_CHECK_REJECTS(check_eq_3_7_small_noise_limit(gaussian(), 0.03, 1.0), "dividing r*(x) - x by sigma, not sigma^2");
  COURSE_CHECK_REJECTS(check_eq_3_7_small_noise_limit(gaussian(), 0.03, 2.0, weights_with_sigma_not_squared),
                       "sigma instead of sigma^2 in r*");
}

BOOST_AUTO_TEST_CASE(eq_3_8_nonlinear_dae_on_a_mixture_points_along_the_smoothed_score) {
  const GaussianMixture2D g = chapter_mixture();
  const double sigma = 0.3;
  const MixtureDaeRun dae = train_mixture_dae(g, sigma, 1500, 3);
  const MatD points = score_test_points(g, sigma);
  const MatD estimate = dae_score(dae, points);
  COURSE_CHECK(check_eq_3_8_score_cosine(g, sigma, estimate));
  COURSE_CHECK_REJECTS(check_eq_3_8_score_cosine(g, sigma, linear_dae_score(g, sigma, points), "best linear DAE"),
                       "the best linear DAE's field");
  COURSE_CHECK_REJECTS(check_eq_3_8_score_cosine(g, sigma, MatD(-estimate), "flipped"), "the flipped field x - r(x)");
  // The cosine is blind to scale; the scale row is not.
  COURSE_CHECK(check_eq_3_8_score_scale(g, sigma, estimate));
  COURSE_CHECK(check_eq_3_8_score_cosine(g, sigma, MatD(sigma * estimate), "(r(x)-x)/sigma"));
  COURSE_CHECK_REJECTS(check_eq_3_8_score_scale(g, sigma, MatD(sigma * estimate), "(r(x)-x)/sigma"),
                       "(r(x) - x) / sigma for / sigma^2 (a field off by a factor sigma)");
}

// Not an equation of this chapter, but the tool under it: the MLP's backward pass (the DAE of
// section 4) against central differences, in double.
BOOST_AUTO_TEST_CASE(mlp_backward_matches_central_differences) {
  Rng rng(9);
  for (auto out : {nn::Activation::Identity, nn::Activation::Sigmoid}) {
    Mlp<double> net = nn::mlp<double>({4, 6, 5, 4}, nn::Activation::Tanh, out, rng);
    const MatD X = rng.normal_matrix<double>(4, 7), T = rng.uniform_matrix<double>(4, 7, 0.0, 1.0);
    net.zero_grad();
    const MatD R = net.forward(X);
    net.backward(nn::mse_backward<double>(R, T), false);
    std::vector<GradBlock> blocks;
    std::vector<MatD> gW;
    std::vector<VecD> gb;
    std::vector<nn::Linear<double>*> layers;
    for (std::size_t l = 0; l < net.size(); l += 2) layers.push_back(&net.at<nn::Linear<double>>(l));
    for (auto* layer : layers) {
      gW.push_back(layer->dW);
      gb.push_back(layer->db);
    }
    for (std::size_t l = 0; l < layers.size(); ++l) {
      blocks.push_back(grad_block("W" + std::to_string(l), layers[l]->W, gW[l]));
      blocks.push_back(grad_block("b" + std::to_string(l), layers[l]->b, gb[l]));
    }
    COURSE_CHECK(check_gradient("mlp", "MLP backward vs central differences",
                                [&] { return nn::mse_loss<double>(MatD(net.forward(X)), T); }, blocks));
  }
}

BOOST_AUTO_TEST_CASE(the_image_denoising_autoencoder_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the layer stack's promise. The chapter's 784-h-784 DAE (h = 32) on 100
  // sprites, masking noise drawn from each batch's own stream, 2 epochs of batch 20.
  const ImageSet sprites = make_sprites(100, 61);
  const Corruption corrupt = [](const MatD& X, Rng& rng) { return masking_corruption(X, 0.3, rng); };
  Rng init(62);  // train_image_dae's initialisation
  Mlp<float> start = nn::mlp<float>({sprites.dim(), 32, sprites.dim()}, nn::Activation::ReLU, nn::Activation::Sigmoid, init);
  std::ostringstream log;
  test::check_bitwise_equal_for_1_and_2_threads(test::values_of(start.parameters()), [&] {
    ImageDaeRun run = train_image_dae(sprites, corrupt, 32, 2, 20, 1e-3, 62, log, "DAE");
    return test::values_of(run.net.parameters());
  });
}

BOOST_AUTO_TEST_SUITE_END()
