// Chapter 4: every tagged equation of docs/04-sparse-and-dropout-autoencoders.md, and the wrong
// formula each check must reject.
#include "04_sparse_dropout_ae/checks.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch04;

namespace {
const Problem& problem() {
  static const Problem p = make_problem(1);
  return p;
}
const DropoutRegression& regression() {
  static const DropoutRegression r = make_dropout_regression(3);
  return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ch04_sparse_dropout_ae)

BOOST_AUTO_TEST_CASE(eq_4_1_kl_penalty_is_a_sum_of_bernoulli_divergences) {
  COURSE_CHECK(check_eq_4_1_kl_penalty(problem()));
  COURSE_CHECK(check_eq_4_1_zero_at_target(problem()));
  auto reversed = [](double rho, const MatD& H, double beta) {  // KL(rho_hat || rho)
    const VecD q = H.rowwise().mean();
    return beta * (q.array() * (q.array() / rho).log() + (1 - q.array()) * ((1 - q.array()) / (1 - rho)).log()).sum();
  };
  COURSE_CHECK_REJECTS(check_eq_4_1_kl_penalty(problem(), reversed), "the reversed KL(rho_hat || rho)");
  auto one_term = [](double rho, const MatD& H, double beta) {
    return beta * (rho * (rho / H.rowwise().mean().array()).log()).sum();
  };
  COURSE_CHECK_REJECTS(check_eq_4_1_kl_penalty(problem(), one_term), "a missing (1 - rho) term");
  auto cross_entropy = [](double rho, const MatD& H, double beta) {
    const VecD q = H.rowwise().mean();
    return beta * (-rho * q.array().log() - (1 - rho) * (1 - q.array()).log()).sum();
  };
  COURSE_CHECK_REJECTS(check_eq_4_1_zero_at_target(problem(), cross_entropy), "the cross-entropy without the entropy of rho");
}

BOOST_AUTO_TEST_CASE(eq_4_2_kl_gradient_wrt_preactivations_matches_central_differences) {
  COURSE_CHECK(check_eq_4_2_kl_gradient(problem()));
  auto times_B = [](double rho, const MatD& H, double beta) { return MatD(kl_sparsity_gradient(rho, H, beta) * double(H.cols())); };
  COURSE_CHECK_REJECTS(check_eq_4_2_kl_gradient(problem(), times_B), "a missing 1/B");
  auto no_sigmoid_prime = [](double rho, const MatD& H, double beta) {
    const VecD q = H.rowwise().mean();
    const VecD d = beta * ((1 - rho) / (1 - q.array()) - rho / q.array()).matrix();
    return MatD(d.replicate(1, H.cols()) / double(H.cols()));
  };
  COURSE_CHECK_REJECTS(check_eq_4_2_kl_gradient(problem(), no_sigmoid_prime), "dP/dH returned as dP/dZ (no sigmoid')");
  auto reversed = [](double rho, const MatD& H, double beta) {  // gradient of KL(rho_hat || rho)
    const VecD q = H.rowwise().mean();
    const VecD d = beta * ((q.array() / rho).log() - ((1 - q.array()) / (1 - rho)).log()).matrix();
    return MatD(d.asDiagonal() * MatD(H.array() * (1 - H.array())) / double(H.cols()));
  };
  COURSE_CHECK_REJECTS(check_eq_4_2_kl_gradient(problem(), reversed), "the gradient of the reversed KL");
}

BOOST_AUTO_TEST_CASE(eq_4_3_sparse_autoencoder_backprop_matches_central_differences) {
  COURSE_CHECK(check_eq_4_3_sparse_network_gradient(problem()));
  const Problem& p = problem();
  Regulariser none;
  COURSE_CHECK_REJECTS(check_network_gradient("4.3", "", p.sigmoid_ae, p.X, kl_regulariser(p), none),
                       "a backward pass that forgets the sparsity penalty");
  Regulariser twice = kl_regulariser(p);
  twice.beta *= 2.0;
  COURSE_CHECK_REJECTS(check_network_gradient("4.3", "", p.sigmoid_ae, p.X, kl_regulariser(p), twice),
                       "the penalty's gradient counted twice");
}

// The gradient check above runs without dropout; training runs with it. This one runs the training
// pass itself, mask and all.
BOOST_AUTO_TEST_CASE(eq_4_6_dropout_backward_pass_matches_central_differences_of_the_masked_loss) {
  const Problem& p = problem();
  COURSE_CHECK(check_eq_4_6_dropout_network_gradient(p));
  COURSE_CHECK_REJECTS(check_eq_4_6_dropout_network_gradient(p, 0.4, 46, 47), "a backward pass with another mask than its forward pass");
  COURSE_CHECK_REJECTS(check_eq_4_6_dropout_network_gradient(p, 0.4, 46, 46, false), "the gradient of the loss without the mask");
}

BOOST_AUTO_TEST_CASE(eq_4_4_l1_subgradient_away_from_zero_and_at_zero) {
  COURSE_CHECK(check_eq_4_4_l1_subgradient(problem()));
  COURSE_CHECK(check_eq_4_4_subgradient_at_zero(problem()));
  auto l2 = [](const MatD& H, double lambda) { return MatD(H * (lambda / double(H.cols()))); };
  COURSE_CHECK_REJECTS(check_eq_4_4_l1_subgradient(problem(), l2), "H instead of sign(H)");
  auto flipped = [](const MatD& H, double lambda) { return MatD(-l1_subgradient(H, lambda)); };
  COURSE_CHECK_REJECTS(check_eq_4_4_l1_subgradient(problem(), flipped), "a flipped sign");
  auto no_B = [](const MatD& H, double lambda) { return MatD(l1_subgradient(H, lambda) * double(H.cols())); };
  COURSE_CHECK_REJECTS(check_eq_4_4_l1_subgradient(problem(), no_B), "a missing 1/B");
  auto ratio = [](const MatD& H, double lambda) { return MatD(H.cwiseQuotient(H.cwiseAbs()) * (lambda / double(H.cols()))); };
  COURSE_CHECK_REJECTS(check_eq_4_4_subgradient_at_zero(problem(), ratio), "h / |h| (NaN at h = 0)");
}

BOOST_AUTO_TEST_CASE(eq_4_4_l1_autoencoder_backprop_matches_central_differences) {
  COURSE_CHECK(check_eq_4_4_l1_network_gradient(problem()));
  const Problem& p = problem();
  Regulariser flipped = l1_regulariser(p);
  flipped.lambda = -flipped.lambda;
  COURSE_CHECK_REJECTS(check_network_gradient("4.4", "", p.tanh_ae, p.X, l1_regulariser(p), flipped),
                       "the L1 subgradient with a flipped sign");
  Regulariser none;
  COURSE_CHECK_REJECTS(check_network_gradient("4.4", "", p.tanh_ae, p.X, l1_regulariser(p), none),
                       "a backward pass that forgets the L1 penalty");
}

BOOST_AUTO_TEST_CASE(eq_4_5_trained_sparse_autoencoder_has_mean_activation_near_rho) {
  // 16-dimensional data in [0, 1] (sums of two of four random prototypes), 8 sigmoid units,
  // rho = 0.1, beta = 3, 40 epochs of 1024 samples: a second of training.
  Rng rng(5);
  const MatF prototypes = rng.uniform_matrix<float>(16, 4, 0.0, 1.0);
  MatF X(16, 1024), Xt(16, 256);
  for (MatF* M : {&X, &Xt})
    for (Index i = 0; i < M->cols(); ++i)
      M->col(i) = 0.5f * (prototypes.col(Index(rng.below(4))) + prototypes.col(Index(rng.below(4))));
  TrainConfig cfg;
  cfg.hidden = 8;
  cfg.epochs = 40;
  cfg.batch = 64;
  cfg.lr = 3e-3;
  cfg.reg.kind = Regulariser::Kind::KL;
  cfg.reg.rho = 0.1;
  cfg.reg.beta = 3.0;
  const auto sparse = train_ae(X, cfg);
  COURSE_CHECK(check_eq_4_5_mean_activation(mean_activation(sparse.ae, Xt), 0.1, 3.0, "held-out samples"));
  // The same network trained without the penalty is not sparse: the check can fail.
  cfg.reg.kind = Regulariser::Kind::None;
  const auto plain = train_ae(X, cfg);
  COURSE_CHECK_REJECTS(check_eq_4_5_mean_activation(mean_activation(plain.ae, Xt), 0.1, 3.0, "held-out samples"),
                       "an autoencoder trained without the sparsity penalty");
}

BOOST_AUTO_TEST_CASE(eq_4_6_inverted_dropout_keeps_the_mean) {
  COURSE_CHECK(check_eq_4_6_dropout_mean(0.3));
  COURSE_CHECK(check_eq_4_6_dropout_mean(0.7));
  COURSE_CHECK(check_eq_4_6_kept_fraction(0.3));
  // drop_rate = 0 is the identity.
  Rng rng(1);
  COURSE_CHECK(check_identity("4.6", "drop_rate 0 keeps everything", MatD::Ones(3, 4), inverted_dropout_mask(3, 4, 0.0, rng)));
  auto unscaled = [](Index r, Index c, double delta, Rng& g) {
    return MatD(inverted_dropout_mask(r, c, delta, g) * (1.0 - delta));
  };
  COURSE_CHECK_REJECTS(check_eq_4_6_dropout_mean(0.3, unscaled), "a mask without the 1/(1 - delta) scaling");
  auto by_delta = [](Index r, Index c, double delta, Rng& g) {
    return MatD(inverted_dropout_mask(r, c, delta, g) * (1.0 - delta) / delta);
  };
  COURSE_CHECK_REJECTS(check_eq_4_6_dropout_mean(0.3, by_delta), "scaling by 1/delta");
  auto keep_delta = [](Index r, Index c, double delta, Rng& g) { return inverted_dropout_mask(r, c, 1.0 - delta, g); };
  COURSE_CHECK_REJECTS(check_eq_4_6_kept_fraction(0.3, keep_delta), "keeping with probability delta");
}

BOOST_AUTO_TEST_CASE(eq_4_7_dropout_is_adaptive_l2_regularisation) {
  const DropoutRegression& r = regression();
  const McEstimate est = dropout_loss_estimate(r);
  COURSE_CHECK(check_eq_4_7_dropout_is_adaptive_l2(r, expected_dropout_loss(r), est));
  const double d = r.delta, clean = clean_loss(r), pen = adaptive_penalty(r);
  COURSE_CHECK_REJECTS(check_eq_4_7_dropout_is_adaptive_l2(r, clean + d * pen, est), "delta instead of delta/(1 - delta)");
  COURSE_CHECK_REJECTS(check_eq_4_7_dropout_is_adaptive_l2(r, clean + d / ((1 - d) * (1 - d)) * pen, est),
                       "delta/(1 - delta)^2");
  const double ridge = double(r.X.cols()) * r.w.squaredNorm();
  COURSE_CHECK_REJECTS(check_eq_4_7_dropout_is_adaptive_l2(r, clean + d / (1 - d) * ridge, est),
                       "a plain ridge n delta/(1 - delta) ||w||^2 (not adapted to the data)");
  auto unscaled = [](Index rows, Index cols, double delta, Rng& g) {
    return MatD(inverted_dropout_mask(rows, cols, delta, g) * (1.0 - delta));
  };
  COURSE_CHECK_REJECTS(check_eq_4_7_dropout_is_adaptive_l2(r, expected_dropout_loss(r), dropout_loss_estimate(r, unscaled)),
                       "dropout without the 1/(1 - delta) scaling");
}

BOOST_AUTO_TEST_CASE(eq_4_7_dropout_on_the_code_is_adaptive_l2_on_the_decoder) {
  const Problem& p = problem();
  COURSE_CHECK(check_eq_4_7_dropout_autoencoder(p, 0.3));
  COURSE_CHECK_REJECTS(check_eq_4_7_dropout_autoencoder(p, 0.3, expected_dropout_ae_loss(p, 0.3, 1.0)),
                       "the penalty without the 1/2 of the loss's normalisation");
  COURSE_CHECK_REJECTS(check_eq_4_7_dropout_autoencoder(p, 0.3, expected_dropout_ae_loss(p, 0.3, 0.0)),
                       "no penalty (dropout changes nothing in expectation)");
}

BOOST_AUTO_TEST_CASE(the_sparse_dropout_autoencoder_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the layer stack's promise. A 40-24-40 AE with the KL penalty and dropout on
  // the code (masks from each batch's own stream), 2 epochs of batch 20 on 200 random samples.
  const MatF X = Rng(51).uniform_matrix<float>(40, 200, 0.0, 1.0);
  TrainConfig cfg;
  cfg.hidden = 24;
  cfg.reg.kind = Regulariser::Kind::KL;
  cfg.reg.beta = 0.5;
  cfg.reg.drop_rate = 0.3;
  cfg.epochs = 2;
  cfg.batch = 20;
  cfg.seed = 52;
  Rng init(cfg.seed);
  OneLayerAe<float> start(X.rows(), cfg.hidden, cfg.code, init);  // train_ae's initialisation
  test::check_bitwise_equal_for_1_and_2_threads(test::values_of(start.params()), [&] {
    TrainedAe<float> t = train_ae(X, cfg);
    return test::values_of(t.ae.params());
  });
}

BOOST_AUTO_TEST_SUITE_END()
