// The checks of docs/10-vq-vae.md, section 7: the convolutional VQ-VAE's backward pass, and the
// autoregressive prior over its grid of codes (eqs. 10.7-10.11). Small instances, in double.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "10_vq_vae/grid.hpp"
#include "course/check.hpp"

namespace course::ch10 {

// A small ConvVqVae<double> (8 x 8 images, 3 channels, D = 3, K = 5, a 2 x 2 grid, B = 2) at a
// point where no ReLU pre-activation is within 1e-3 of its kink, with the values of its
// stop-gradients frozen, as for the MLP model (checks.hpp, SmallVqVae):
//   L(theta) = Rec(dec(z_e + sg[e_k - z_e])) + (1/B) sum ||sg[z_n] - e_{k_n}||^2
//                                             + (beta/B) sum ||z_n - sg[e_{k_n}]||^2      (10.7)
struct SmallConvVq {
  ConvVqVae<double> model;
  ConvVqVae<long double> shadow;  // the same network in long double, for the loss
  MatD X;
  std::vector<Index> codes;
  MatD Ze, E, offset;
  // The loss at the checked point, subtracted (in long double) before the loss is returned as a
  // double: a loss of ~90 rounded to double would put 90 * 1e-16 / 2e-5 ~ 5e-10 of rounding into
  // every central difference, above the harness's absolute floor; the difference is exact enough.
  long double base = 0;
};
SmallConvVq small_conv_vq_vae(std::uint64_t seed = 1007);
// The loss (10.7) at the current parameters, minus its value at the checked point (see `base`).
double conv_vq_surrogate_loss(SmallConvVq& s);
// Eq. 10.7: every parameter block's gradient by one forward_backward (with `gradients` in place of
// vq_gradients, so a test can plant a wrong backward) vs central differences of the loss above.
CheckRow check_eq_10_7_conv_whole_model(SmallConvVq& s, const VqGradientsFn& gradients = vq_gradients);

// A small prior (K = 5 codes on a 4 x 4 grid, embedding 3, 4 channels) in double and random grids.
struct SmallPrior {
  GridPrior<double> prior;
  std::vector<Index> codes;  // 3 grids
  Index grids = 3;
  PriorMasks masks;  // the masks the prior was built with
};
SmallPrior small_prior(const PriorMasks& masks = exercise_masks(), std::uint64_t seed = 1008);

// Eq. 10.8, the chain rule: log p(grid) from one pass of the network (grid_log_likelihood of its
// logits) = sum_q log p(k_q | k_<q), each conditional from its own pass with every code at
// positions >= q redrawn at random, normalised here by a direct log-sum-exp.
CheckRow check_eq_10_8_chain_rule(SmallPrior& s,
                                  const std::function<double(const MatD&, const std::vector<Index>&)>& loglik =
                                      grid_log_likelihood);
// Eq. 10.8: the conditionals at a position sum to one over the K codes, sum_k exp(log p(k | k_<q)).
CheckRow check_eq_10_8_normalised(SmallPrior& s,
                                  const std::function<double(const MatD&, const std::vector<Index>&)>& loglik =
                                      grid_log_likelihood);
// Eq. 10.8, training the prior: the gradient of the mean negative log-likelihood of the grids,
// -(1/B) sum_b log p(grid_b), from GridPrior::loss_and_gradient (softmax minus one-hot at every
// position, back through the masked network) vs central differences of that loss computed
// directly from the network's logits. Rejects a gradient not averaged over the grids, or a
// softmax without its normaliser. `backward` (a test plants a wrong one) fills the gradients.
using PriorBackwardFn = std::function<void(GridPrior<double>&, const std::vector<Index>&, Index)>;
CheckRow check_eq_10_8_prior_gradient(SmallPrior& s, const PriorBackwardFn& backward = [](GridPrior<double>& p,
                                                                                          const std::vector<Index>& codes,
                                                                                          Index grids) {
  p.loss_and_gradient(codes, grids);
});

// Eq. 10.9, causality exactly: changing the code at any position j leaves the logits at every
// position i <= j bit for bit unchanged (the largest change is 0).
CheckRow check_eq_10_9_causal(SmallPrior& s);

// Eq. 10.10 on known answers: K equally used codes, one code, and a skewed sample against a direct sum.
CheckRow check_eq_10_10_uniform(Index K, const std::function<CodebookUsage(const std::vector<Index>&, Index)>& usage =
                                             codebook_usage);
CheckRow check_eq_10_10_one_code(Index K, const std::function<CodebookUsage(const std::vector<Index>&, Index)>& usage =
                                              codebook_usage);
CheckRow check_eq_10_10_skewed(std::uint64_t seed = 1010,
                               const std::function<CodebookUsage(const std::vector<Index>&, Index)>& usage = codebook_usage);
// Eq. 10.11: a VQ-VAE read as a VAE whose q(k | x) is one-hot: KL(q || uniform over K) = log K,
// summed directly over the K codes (0 log 0 = 0).
CheckRow check_eq_10_11_kl_one_hot(Index K);

std::vector<CheckRow> grid_checks();

}  // namespace course::ch10
