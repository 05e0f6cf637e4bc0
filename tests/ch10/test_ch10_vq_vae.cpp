// Chapter 10: every tagged equation of docs/10-vq-vae.md, and the wrong formula each check must
// reject.
#include "10_vq_vae/checks.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch10;

namespace {
const VqProblem& problem() {
  static const VqProblem p = make_vq_problem();
  return p;
}
MatD decoder_gradient(const VqProblem& p) { return reconstruction_gradient(p, quantise(p.E, p.codes)); }
// The commitment gradient 2 (z_n - e_{k_n}) / B, unscaled by beta, for planting wrong formulas.
MatD residual_gradient(const VqProblem& p) { return 2.0 * (p.Ze - quantise(p.E, p.codes)) / double(p.B); }
// The codebook gradient assembled from a per-vector term f(z_n - e_{k_n}).
MatD codebook_gradient(const VqProblem& p, double scale) {
  MatD g = MatD::Zero(p.D, p.K);
  for (Index n = 0; n < p.Ze.cols(); ++n)
    g.col(p.codes[std::size_t(n)]) += scale * (p.E.col(p.codes[std::size_t(n)]) - p.Ze.col(n)) / double(p.B);
  return g;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ch10_vq_vae)

BOOST_AUTO_TEST_CASE(eq_10_1_nearest_code_has_the_smallest_distance) {
  COURSE_CHECK(check_eq_10_1_nearest(problem()));
  // The brute-force definition agrees code for code.
  const VqProblem& p = problem();
  const std::vector<Index> codes = nearest_codes(p.Ze, p.E);
  BOOST_TEST(codes == p.codes);
  auto argmax = [](const MatD& Z, const MatD& E) {
    std::vector<Index> c(std::size_t(Z.cols()));
    for (Index n = 0; n < Z.cols(); ++n) (E.colwise() - Z.col(n)).colwise().squaredNorm().maxCoeff(&c[std::size_t(n)]);
    return c;
  };
  COURSE_CHECK_REJECTS(check_eq_10_1_nearest(p, argmax), "argmax instead of argmin");
  auto no_code_norm = [](const MatD& Z, const MatD& E) {
    std::vector<Index> c(std::size_t(Z.cols()));
    const MatD scores = -2.0 * E.transpose() * Z;  // ||e_j||^2 forgotten
    for (Index n = 0; n < Z.cols(); ++n) scores.col(n).minCoeff(&c[std::size_t(n)]);
    return c;
  };
  COURSE_CHECK_REJECTS(check_eq_10_1_nearest(p, no_code_norm), "the expansion -2 z.e_j without ||e_j||^2");
}

BOOST_AUTO_TEST_CASE(eq_10_2_codebook_and_commitment_terms) {
  const VqProblem& p = problem();
  const VqLoss loss = vq_loss(p.Ze, p.E, p.codes, p.beta, p.B);
  COURSE_CHECK(check_eq_10_2_codebook_term(p, loss));
  COURSE_CHECK(check_eq_10_2_commitment_term(p, loss));
  const double q = quantisation_error(p.Ze, p.E, p.codes, p.B);
  COURSE_CHECK_REJECTS(check_eq_10_2_codebook_term(p, VqLoss{p.beta * q, q}), "beta on the codebook term");
  COURSE_CHECK_REJECTS(check_eq_10_2_commitment_term(p, VqLoss{p.beta * q, q}), "beta on the codebook term");
  COURSE_CHECK_REJECTS(check_eq_10_2_commitment_term(p, VqLoss{q, q}), "no beta at all");
  COURSE_CHECK_REJECTS(check_eq_10_2_codebook_term(p, VqLoss{q * double(p.B) / double(p.Ze.cols()), 0.0}),
                       "a mean over the N = M B vectors instead of the B images");
  double unsquared = 0.0;
  for (Index n = 0; n < p.Ze.cols(); ++n) unsquared += (p.Ze.col(n) - p.E.col(p.codes[std::size_t(n)])).norm();
  COURSE_CHECK_REJECTS(check_eq_10_2_codebook_term(p, VqLoss{unsquared / double(p.B), 0.0}), "unsquared distances");
}

BOOST_AUTO_TEST_CASE(eq_10_3_straight_through_encoder_gradient) {
  const VqProblem& p = problem();
  const MatD dRec = decoder_gradient(p);
  const VqGradients g = vq_gradients(dRec, p.Ze, p.E, p.codes, p.beta, p.B);
  COURSE_CHECK(check_eq_10_3_encoder_gradient(p, g.Ze));
  // With beta = 0 the straight-through estimator passes the decoder's gradient unchanged.
  COURSE_CHECK(check_identity("10.3", "beta = 0: dL/dz_e = dRec/dz_q exactly", dRec,
                              vq_gradients(dRec, p.Ze, p.E, p.codes, 0.0, p.B).Ze, 1e-15));
  const MatD r = residual_gradient(p);
  COURSE_CHECK_REJECTS(check_eq_10_3_encoder_gradient(p, MatD(dRec + 0.5 * p.beta * r)), "a missing factor 2");
  COURSE_CHECK_REJECTS(check_eq_10_3_encoder_gradient(p, MatD(dRec + r)), "beta on the codebook term (none here)");
  COURSE_CHECK_REJECTS(check_eq_10_3_encoder_gradient(p, MatD(dRec + (1.0 + p.beta) * r)),
                       "the codebook term's gradient through sg[z_e]");
  COURSE_CHECK_REJECTS(check_eq_10_3_encoder_gradient(p, MatD(dRec - p.beta * r)), "a flipped sign (e - z_e)");
  COURSE_CHECK_REJECTS(check_eq_10_3_encoder_gradient(p, MatD(p.beta * r)), "the decoder gradient dropped (no straight-through)");
}

BOOST_AUTO_TEST_CASE(eq_10_4_codebook_gradient) {
  const VqProblem& p = problem();
  const VqGradients g = vq_gradients(decoder_gradient(p), p.Ze, p.E, p.codes, p.beta, p.B);
  COURSE_CHECK(check_eq_10_4_codebook_gradient(p, g.E));
  COURSE_CHECK_REJECTS(check_eq_10_4_codebook_gradient(p, codebook_gradient(p, 1.0)), "a missing factor 2");
  COURSE_CHECK_REJECTS(check_eq_10_4_codebook_gradient(p, codebook_gradient(p, -2.0)), "a flipped sign (z_e - e)");
  COURSE_CHECK_REJECTS(check_eq_10_4_codebook_gradient(p, codebook_gradient(p, 2.0 * p.beta)), "beta on the codebook term");
  COURSE_CHECK_REJECTS(check_eq_10_4_codebook_gradient(p, codebook_gradient(p, 2.0 * (1.0 + p.beta))),
                       "the commitment term's gradient through sg[e]");
}

BOOST_AUTO_TEST_CASE(eq_10_3_eq_10_4_whole_model_backward_vs_central_differences) {
  SmallVqVae s = small_vq_vae();
  // At the checked point every sg is the identity, so the surrogate is the model's own loss, and
  // the model picks the brute-force codes the surrogate holds fixed.
  s.model.zero_grad();
  const auto step = s.model.forward_backward(s.X, s.beta);
  BOOST_TEST(step.codes == s.codes);
  COURSE_CHECK(check_identity("10.2", "surrogate loss at the checked point = the model's loss", step.total(),
                              vq_vae_surrogate_loss(s)));
  COURSE_CHECK(check_eq_10_3_whole_model(s, vq_vae_gradient(s)));

  auto commitment_one_plus_beta = [](const MatD& dRec, const MatD& Ze, const MatD& E, const std::vector<Index>& codes,
                                     double beta, Index images) {
    return vq_gradients(dRec, Ze, E, codes, 1.0 + beta, images);  // (10.4)'s part does not depend on beta
  };
  COURSE_CHECK_REJECTS(check_eq_10_3_whole_model(s, vq_vae_gradient(s, commitment_one_plus_beta)),
                       "the commitment gradient with 1 + beta (the codebook term's gradient through sg[z_e])");
  auto not_straight_through = [](const MatD& dRec, const MatD& Ze, const MatD& E, const std::vector<Index>& codes,
                                 double beta, Index images) {
    return vq_gradients(MatD::Zero(dRec.rows(), dRec.cols()), Ze, E, codes, beta, images);
  };
  COURSE_CHECK_REJECTS(check_eq_10_3_whole_model(s, vq_vae_gradient(s, not_straight_through)),
                       "the decoder's gradient not passed straight through to the encoder");
  auto decoder_gradient_to_codes = [](const MatD& dRec, const MatD& Ze, const MatD& E, const std::vector<Index>& codes,
                                      double beta, Index images) {
    VqGradients g = vq_gradients(dRec, Ze, E, codes, beta, images);
    for (Index n = 0; n < Ze.cols(); ++n) g.E.col(codes[std::size_t(n)]) += dRec.col(n);
    return g;
  };
  COURSE_CHECK_REJECTS(check_eq_10_3_whole_model(s, vq_vae_gradient(s, decoder_gradient_to_codes)),
                       "the decoder's gradient at z_q also sent to e_k (the codebook leaking into the decoder input)");
}

BOOST_AUTO_TEST_CASE(eq_10_5_ema_update_at_decay_zero_is_a_lloyd_step) {
  const LloydProblem lp = make_lloyd_problem();
  COURSE_CHECK(check_eq_10_5_ema_is_lloyd(lp));
  COURSE_CHECK(check_eq_10_5_lloyd_descends(lp));
  // The moving averages: with decay 0.5, counts and sums are halfway between old and new.
  {
    EmaCodebook cb{lp.E0, VecD::Constant(6, 4.0), lp.E0 * 4.0};
    const std::vector<Index> codes = nearest_by_brute_force(lp.Z, lp.E0);
    VecD n_k = VecD::Zero(6);
    for (Index k : codes) n_k(k) += 1.0;
    ema_codebook_update(cb, lp.Z, codes, 0.5);
    COURSE_CHECK(check_identity("10.5", "decay 0.5: counts = (4 + n_k) / 2", MatD(0.5 * (VecD::Constant(6, 4.0) + n_k)),
                                MatD(cb.counts), 1e-12));
  }
  auto swapped = [](EmaCodebook& cb, const MatD& Z, const std::vector<Index>& codes, double decay) {
    ema_codebook_update(cb, Z, codes, 1.0 - decay);  // gamma and 1 - gamma swapped
  };
  COURSE_CHECK_REJECTS(check_eq_10_5_ema_is_lloyd(lp, swapped), "gamma and 1 - gamma swapped");
  auto by_total = [](EmaCodebook& cb, const MatD& Z, const std::vector<Index>& codes, double decay) {
    ema_codebook_update(cb, Z, codes, decay);
    for (Index k = 0; k < cb.E.cols(); ++k) cb.E.col(k) = cb.sums.col(k) / cb.counts.sum();
  };
  COURSE_CHECK_REJECTS(check_eq_10_5_ema_is_lloyd(lp, by_total), "dividing the sums by the total count");
}

// At decay 0 a missing (1 - decay) on the new statistics cannot show; at 0.9 it does.
BOOST_AUTO_TEST_CASE(eq_10_5_ema_moving_averages_at_decay_0_9) {
  const LloydProblem lp = make_lloyd_problem();
  COURSE_CHECK(check_eq_10_5_ema_moving_averages(lp));
  auto sums_without_one_minus_decay = [](EmaCodebook& cb, const MatD& Z, const std::vector<Index>& codes, double decay) {
    MatD batch_sum = MatD::Zero(cb.E.rows(), cb.E.cols());
    VecD n_k = VecD::Zero(cb.E.cols());
    for (Index n = 0; n < Z.cols(); ++n) batch_sum.col(codes[std::size_t(n)]) += Z.col(n), n_k(codes[std::size_t(n)]) += 1.0;
    cb.counts = decay * cb.counts + (1.0 - decay) * n_k;
    cb.sums = decay * cb.sums + batch_sum;
    for (Index k = 0; k < cb.E.cols(); ++k) cb.E.col(k) = cb.sums.col(k) / cb.counts(k);
  };
  COURSE_CHECK_REJECTS(check_eq_10_5_ema_moving_averages(lp, 0.9, sums_without_one_minus_decay), "the new sums without (1 - decay)");
  COURSE_CHECK_REJECTS(check_eq_10_5_ema_moving_averages(lp, 0.9, [](EmaCodebook& cb, const MatD& Z, const std::vector<Index>& c, double d) {
                         ema_codebook_update(cb, Z, c, 1.0 - d);
                       }),
                       "decay and 1 - decay swapped");
}

BOOST_AUTO_TEST_CASE(eq_10_6_perplexity_is_between_1_and_K) {
  COURSE_CHECK(check_eq_10_6_uniform(16));
  COURSE_CHECK(check_eq_10_6_one_code(16));
  COURSE_CHECK(check_eq_10_6_range(16));
  auto entropy = [](const VecD& c) {
    double h = 0;
    for (Index k = 0; k < c.size(); ++k)
      if (c(k) > 0) h -= c(k) / c.sum() * std::log(c(k) / c.sum());
    return h;
  };
  auto base2 = [&](const VecD& c) { return std::pow(2.0, entropy(c)); };
  COURSE_CHECK_REJECTS(check_eq_10_6_uniform(16, base2), "2^H with H in nats");
  auto no_minus = [&](const VecD& c) { return std::exp(-entropy(c)); };
  COURSE_CHECK_REJECTS(check_eq_10_6_uniform(16, no_minus), "exp(sum p log p): a missing minus sign");
  COURSE_CHECK_REJECTS(check_eq_10_6_range(16, 12, no_minus), "exp(sum p log p): a missing minus sign");
  auto nan_zero = [](const VecD& c) {
    const Eigen::ArrayXd p = c.array() / c.sum();
    return std::exp(-(p * p.log()).sum());  // 0 log 0 = 0 * -inf = NaN
  };
  COURSE_CHECK_REJECTS(check_eq_10_6_one_code(16, nan_zero), "0 log 0 evaluated as NaN");
}

BOOST_AUTO_TEST_CASE(the_mlp_vq_vae_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the layer stack's promise, for both codebook updates (its own Adam on the
  // codebook loss, or the EMA) and the dead-code restarts. 784-32-(2 x 3) codes of K = 8 on 100
  // sprites, batch 20, a restart window of 2 batches, 2 epochs. The codebook must agree too.
  const ImageSet sprites = make_sprites(100, 81);
  for (CodebookUpdate update : {CodebookUpdate::Loss, CodebookUpdate::Ema}) {
    VqConfig c;
    c.hidden = 32, c.positions = 2, c.dim = 3, c.codes = 8;
    c.batch = 20, c.epochs = 2, c.window = 2, c.seed = 82;
    c.update = update;
    auto values = [](VqVae<float>& m) {
      auto v = test::values_of(m.params());
      v.push_back(test::bits_of<float>(m.codebook.E));
      return v;
    };
    Rng init(c.seed);  // train_vq_vae's initialisation
    VqVae<float> start(sprites.dim(), c, init);
    test::check_bitwise_equal_for_1_and_2_threads(values(start), [&] {
      VqRun run;
      VqVae<float> m = train_vq_vae<float>(sprites, c, run, nullptr, "VQ-VAE");
      return values(m);
    });
  }
}

BOOST_AUTO_TEST_SUITE_END()
