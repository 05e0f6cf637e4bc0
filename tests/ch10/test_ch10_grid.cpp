// Chapter 10, section 7: the convolutional VQ-VAE and the prior over its grid of codes
// (eqs. 10.7-10.11), and the wrong formula each check must reject.
#include <cmath>
#include <limits>

#include "10_vq_vae/grid_checks.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch10;

BOOST_AUTO_TEST_SUITE(ch10_vq_vae)

BOOST_AUTO_TEST_CASE(eq_10_7_conv_vq_vae_backward_vs_central_differences) {
  SmallConvVq s = small_conv_vq_vae();
  COURSE_CHECK(check_eq_10_7_conv_whole_model(s));
  // Wrong backward passes through the conv model: the decoder's gradient not sent straight
  // through to the encoder, and the commitment gradient with 1 + beta.
  auto no_straight_through = [](const MatD& dRec, const MatD& Ze, const MatD& E, const std::vector<Index>& codes, double beta,
                                Index B) {
    VqGradients g = vq_gradients(dRec, Ze, E, codes, beta, B);
    g.Ze -= dRec;
    return g;
  };
  COURSE_CHECK_REJECTS(check_eq_10_7_conv_whole_model(s, no_straight_through), "no straight-through gradient");
  auto one_plus_beta = [](const MatD& dRec, const MatD& Ze, const MatD& E, const std::vector<Index>& codes, double beta, Index B) {
    VqGradients g = vq_gradients(dRec, Ze, E, codes, beta, B);
    g.Ze = dRec + (g.Ze - dRec) * (1.0 + beta) / beta;
    return g;
  };
  COURSE_CHECK_REJECTS(check_eq_10_7_conv_whole_model(s, one_plus_beta), "commitment gradient with 1 + beta");
}

BOOST_AUTO_TEST_CASE(eq_10_8_chain_rule_and_normalised_conditionals) {
  SmallPrior s = small_prior();
  COURSE_CHECK(check_eq_10_8_chain_rule(s));
  COURSE_CHECK(check_eq_10_8_normalised(s));
  // A missing normaliser: the raw logit of the code.
  auto raw = [](const MatD& logits, const std::vector<Index>& codes) {
    double t = 0;
    for (Index q = 0; q < logits.cols(); ++q) t += logits(codes[std::size_t(q)], q);
    return t;
  };
  COURSE_CHECK_REJECTS(check_eq_10_8_chain_rule(s, raw), "log p without the normaliser");
  COURSE_CHECK_REJECTS(check_eq_10_8_normalised(s, raw), "log p without the normaliser");
  // A non-causal first layer (the centre tap left on): the one-pass conditional at q sees k_q.
  SmallPrior leaky = small_prior({causal_mask(5, true), causal_mask(3, true)});
  COURSE_CHECK_REJECTS(check_eq_10_8_chain_rule(leaky), "mask A with its centre tap on");
}

BOOST_AUTO_TEST_CASE(eq_10_8_prior_gradient_vs_central_differences) {
  SmallPrior s = small_prior();
  COURSE_CHECK(check_eq_10_8_prior_gradient(s));
  // Rejects: the gradient summed over the grids instead of averaged (3 times too large).
  COURSE_CHECK_REJECTS(check_eq_10_8_prior_gradient(s, [](GridPrior<double>& p, const std::vector<Index>& codes, Index grids) {
                         p.loss_and_gradient(codes, grids);
                         for (auto& q : p.net.parameters()) q.g() *= double(grids);
                       }),
                       "the prior's gradient not averaged over the grids");
  // Rejects: a softmax gradient without the one-hot (the gradient of log sum exp alone), emulated by
  // the gradient of another grid's codes.
  COURSE_CHECK_REJECTS(check_eq_10_8_prior_gradient(s, [](GridPrior<double>& p, const std::vector<Index>& codes, Index grids) {
                         std::vector<Index> other(codes.rbegin(), codes.rend());
                         p.loss_and_gradient(other, grids);
                       }),
                       "the gradient of another grid's codes");
}

BOOST_AUTO_TEST_CASE(eq_10_8_grid_log_likelihood_edge_cases) {
  // Equal logits: every code has probability 1/K.
  const MatD equal = MatD::Constant(6, 4, 2.5);
  COURSE_CHECK(check_identity("10.8", "equal logits give -N log K", -4.0 * std::log(6.0), grid_log_likelihood(equal, {0, 5, 2, 2})));
  // Large logits: finite, and equal to the shift-invariant value.
  MatD big = MatD::Zero(3, 2);
  big << 1000.0, -1000.0, 999.0, -1001.0, 0.0, -1002.0;
  const double expect = (0.0 - std::log(1.0 + std::exp(-1.0) + std::exp(-1000.0))) +
                        (-1.0 - std::log(1.0 + std::exp(-1.0) + std::exp(-2.0)));
  COURSE_CHECK(check_identity("10.8", "logits of 1e3: finite, shift invariant", expect, grid_log_likelihood(big, {0, 1})));
  // The unshifted log-sum-exp overflows there: a check with it must fail.
  double naive = 0;
  for (Index q = 0; q < 2; ++q) naive += big(q == 0 ? 0 : 1, q) - std::log(big.col(q).array().exp().sum());
  COURSE_CHECK_REJECTS(check_identity("10.8", "unshifted log-sum-exp", expect, naive), "log-sum-exp without the max shift");
}

BOOST_AUTO_TEST_CASE(eq_10_9_prior_is_exactly_causal) {
  SmallPrior s = small_prior();
  COURSE_CHECK(check_eq_10_9_causal(s));
  SmallPrior centre_on = small_prior({causal_mask(5, true), causal_mask(3, true)});
  COURSE_CHECK_REJECTS(check_eq_10_9_causal(centre_on), "mask A with its centre tap on");
  MatD right = causal_mask(3, true);
  right(1, 2) = 1.0;  // the tap to the right of the centre: the next position in raster order
  SmallPrior peeks = small_prior({causal_mask(5, false), right});
  COURSE_CHECK_REJECTS(check_eq_10_9_causal(peeks), "mask B that reads the next position");
  // The masks themselves: A has (k*k - 1) / 2 taps, B one more.
  BOOST_TEST(causal_mask(5, false).sum() == 12.0);
  BOOST_TEST(causal_mask(3, true).sum() == 5.0);
  BOOST_TEST(causal_mask(3, true)(1, 1) == 1.0);
}

BOOST_AUTO_TEST_CASE(eq_10_10_codebook_usage_statistics) {
  COURSE_CHECK(check_eq_10_10_uniform(128));
  COURSE_CHECK(check_eq_10_10_one_code(128));
  COURSE_CHECK(check_eq_10_10_skewed());
  // Entropy in nats reported as bits.
  auto nats = [](const std::vector<Index>& codes, Index K) {
    CodebookUsage u = codebook_usage(codes, K);
    u.entropy_bits *= std::log(2.0);
    u.perplexity = std::exp(u.entropy_bits);
    return u;
  };
  COURSE_CHECK_REJECTS(check_eq_10_10_uniform(128, nats), "entropy in nats");
  COURSE_CHECK_REJECTS(check_eq_10_10_skewed(1010, nats), "entropy in nats");
  // Counts normalised by K instead of by the number of codes.
  auto by_K = [](const std::vector<Index>& codes, Index K) {
    CodebookUsage u = codebook_usage(codes, K);
    u.entropy_bits = 0;
    for (Index k = 0; k < K; ++k)
      if (u.counts(k) > 0) u.entropy_bits -= u.counts(k) / double(K) * std::log2(u.counts(k) / double(K));
    u.perplexity = std::exp2(u.entropy_bits);
    return u;
  };
  COURSE_CHECK_REJECTS(check_eq_10_10_uniform(128, by_K), "probabilities normalised by K");
  COURSE_CHECK_REJECTS(check_eq_10_10_skewed(1010, by_K), "probabilities normalised by K");
}

BOOST_AUTO_TEST_CASE(eq_10_11_one_hot_kl_to_uniform_is_log_k) {
  COURSE_CHECK(check_eq_10_11_kl_one_hot(128));
  COURSE_CHECK_REJECTS(check_identity("10.11", "KL to uniform taken as 0", std::log(128.0), 0.0), "KL(q || uniform) = 0");
}

BOOST_AUTO_TEST_CASE(the_conv_vq_vae_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the layer stack's promise for the convolutional model (conv, conv-transpose,
  // the EMA codebook and its restarts). 28 x 28 sprites, 4 channels, D = 3, K = 8, batch 20 (three
  // blocks of the convolutions' per-sample passes), a restart window of 2 batches, 1 epoch of 60.
  const ImageSet sprites = make_sprites(60, 91);
  GridConfig c;
  c.channels = 4, c.dim = 3, c.codes = 8, c.batch = 20, c.epochs = 1, c.window = 2, c.seed = 92;
  auto values = [](ConvVqVae<float>& m) {
    auto v = test::values_of(m.parameters());
    v.push_back(test::bits_of<float>(m.codebook.E));
    return v;
  };
  Rng init(c.seed, 7);  // train_conv_vq_vae's initialisation
  ConvVqVae<float> start(c, init);
  test::check_bitwise_equal_for_1_and_2_threads(values(start), [&] {
    GridRun run;
    ConvVqVae<float> m = train_conv_vq_vae(sprites, c, run, nullptr);
    return values(m);
  });
}

BOOST_AUTO_TEST_SUITE_END()
