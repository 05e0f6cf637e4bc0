// Chapter 10's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch10 asserts each one (and that each rejects the
// likely wrong formula named beside it).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "10_vq_vae/vq_vae.hpp"
#include "course/check.hpp"
#include "course/error.hpp"
#include "course/exercises/ch10_vq_vae.hpp"
#include "course/nn.hpp"
#include "course/rng.hpp"

namespace course::ch10 {

// A small quantisation problem in double: B = 5 images, M = 4 code positions of dimension D = 3
// (N = 20 encoder vectors), K = 6 codes, and a linear decoder from the M D code to 10 pixel logits
// with a binary cross-entropy reconstruction loss.
struct VqProblem {
  Index B = 5, M = 4, D = 3, K = 6, pixels = 10;
  double beta = 0.25;
  MatD Ze;                    // D x N encoder outputs
  MatD E;                     // D x K codebook
  std::vector<Index> codes;   // the nearest code of each column, by brute force
  nn::Linear<double> decoder; // M D -> pixels
  MatD X;                     // pixels x B targets in [0, 1]
};

// argmin_j ||z_n - e_j||^2 by brute force (no expansion): the definition (eq. 10.1).
std::vector<Index> nearest_by_brute_force(const MatD& Ze, const MatD& E);

VqProblem make_vq_problem(std::uint64_t seed = 10);

// (1/B) sum_n ||z_n - e_{k_n}||^2 with the given codes: the quantisation error per image.
double quantisation_error(const MatD& Ze, const MatD& E, const std::vector<Index>& codes, Index images);

// The decoder's reconstruction loss -log p(x | z_q) (per image) and its gradient at z_q.
double reconstruction_loss(const VqProblem& p, const MatD& Zq);
MatD reconstruction_gradient(const VqProblem& p, const MatD& Zq);

// The codebook vectors the codes point to: z_q (D x N).
MatD quantise(const MatD& E, const std::vector<Index>& codes);

CheckRow failed_row(const std::string& id, const std::string& claim, const std::string& kind,
                           const std::string& why);

// (10.1) Every assigned squared distance is the smallest: max_n (||z_n - e_{k_n}||^2 -
// min_j ||z_n - e_j||^2) <= 1e-12. Wrong formulas it rejects: argmax, and the expansion
// -2 z.e_j without ||e_j||^2.
CheckRow check_eq_10_1_nearest(
    const VqProblem& p, const std::function<std::vector<Index>(const MatD&, const MatD&)>& assign = nearest_codes);

// (10.2) The codebook term is the per-image quantisation error (1/B) sum_n min_j ||z_n - e_j||^2.
// Wrong formulas it rejects: beta on the codebook term, a mean over the N vectors, no square.
CheckRow check_eq_10_2_codebook_term(const VqProblem& p, const VqLoss& loss);
// (10.2) Forward, sg is the identity: the commitment term is beta times the codebook term.
// Wrong formulas it rejects: beta on the codebook term instead (ratio 1/beta), no beta at all.
CheckRow check_eq_10_2_commitment_term(const VqProblem& p, const VqLoss& loss);

// (10.3) The encoder receives the decoder's gradient at z_q plus 2 beta (z_e - e) / B: against
// central differences of  Rec(z_e + sg[e_k - z_e]) + beta/B ||z_e - sg[e_k]||^2  in z_e, with the
// codes and e held fixed (the straight-through forward pass). Wrong formulas it rejects: a missing
// 2, beta missing or on the wrong term, the gradient through sg (2 (1 + beta)), a flipped sign,
// the decoder gradient dropped.
CheckRow check_eq_10_3_encoder_gradient(const VqProblem& p, const MatD& dZe);

// (10.4) The codebook receives 2 (e_k - z_e) / B from the codebook term: against central
// differences of (1/B) sum_n ||sg[z_n] - e_{k_n}||^2 in e with z_e and the codes fixed.
// Wrong formulas it rejects: a missing 2, a flipped sign, beta on this term, the commitment
// term's gradient leaking through sg (factor 1 + beta).
CheckRow check_eq_10_4_codebook_gradient(const VqProblem& p, const MatD& dE);

// (10.3, 10.4) The backward pass of the whole training model, VqVae (vq_vae.hpp): encoder MLP,
// nearest-code quantisation, straight-through, decoder MLP, loss (10.2). A small VqVae<double>
// (8 pixels, H = 6, M = 2, D = 3, K = 5, B = 4 images) and its analytic gradient with respect to
// every parameter block, against central differences of the loss as defined with stop-gradients:
//   L(theta) = Rec(dec(z_e + sg[e_k - z_e]))  +  (1/B) sum_n ||sg[z_n] - e_{k_n}||^2
//                                            +  (beta/B) sum_n ||z_n - sg[e_{k_n}]||^2,
// where every sg[.] is a value frozen at the checked point and the codes k_n are held fixed (so a
// tie between two codes cannot matter). Perturbing an encoder parameter moves the decoder's input
// with z_e (straight-through) and the commitment term; perturbing e moves only the codebook term;
// perturbing a decoder parameter moves only Rec.
struct SmallVqVae {
  VqVae<double> model;
  MatD X;                    // pixels x B targets in [0, 1]
  double beta = 0.25;
  std::vector<Index> codes;  // k_n at the checked point, by brute force; held fixed
  MatD Ze;                   // D x N: z_e at the checked point, the value of sg[z_e]
  MatD E;                    // D x K: the codebook at the checked point, the value of sg[e]
  MatD offset;               // D x N: e_{k_n} - z_n at the checked point, the value of sg[e_k - z_e]
};

// Central differences are wrong at a ReLU kink, so the point is drawn again (next seed) until every
// hidden pre-activation, of the encoder and of the decoder (at z_q), is at least 0.01 away from 0,
// and the codes use at least 3 of the K = 5 codes and leave at least one unused (whose gradient
// must be 0).
SmallVqVae small_vq_vae(std::uint64_t seed = 103);

// The surrogate loss above at the model's current parameters. Evaluated in long double, as chapter
// 8's whole-model check is: in double the rounding error of a loss of ~6 divided by 2h = 2e-5 is
// ~1e-10, the size of the harness's absolute floor for gradients below 1e-4.
double vq_vae_surrogate_loss(const SmallVqVae& s);

// The analytic gradient of every block, by one forward_backward of the model (with `gradients` in
// place of vq_gradients, so a test can plant a wrong backward): enc1.W, enc1.b, enc2.W, enc2.b, e,
// dec1.W, dec1.b, dec2.W, dec2.b.
struct VqVaeGradient {
  std::vector<MatD> blocks;
};
VqVaeGradient vq_vae_gradient(SmallVqVae& s, const VqGradientsFn& gradients = vq_gradients);

// Wrong backward passes it rejects: the commitment gradient with 1 + beta (the codebook term's
// gradient through sg[z_e]), the decoder's gradient not passed straight through to the encoder,
// the decoder's gradient at z_q also sent to the codes (z_q = e_k differentiated through sg).
CheckRow check_eq_10_3_whole_model(SmallVqVae& s, const VqVaeGradient& g);

// The data of the EMA check: 200 points around 6 centres in D = 2, and a codebook of K = 6 picked
// among the points (a k-means initialisation).
struct LloydProblem {
  MatD Z;   // 2 x 200
  MatD E0;  // 2 x 6
};
LloydProblem make_lloyd_problem(std::uint64_t seed = 11);
// One Lloyd step: each code moves to the mean of the points nearest to it (an empty code stays).
MatD lloyd_step(const MatD& Z, const MatD& E);

// (10.5) With decay 0, one EMA update from any state equals one Lloyd step. Wrong formulas it
// rejects: gamma and 1 - gamma swapped (nothing moves), dividing by the total count.
CheckRow check_eq_10_5_ema_is_lloyd(
    const LloydProblem& p,
    const std::function<void(EmaCodebook&, const MatD&, const std::vector<Index>&, double)>& update = ema_codebook_update);
// (10.5) The moving averages themselves at decay 0.9 (at decay 0 the old state is forgotten and a
// missing (1 - decay) on the new statistics cannot show; at 0.5 decay and 1 - decay are equal):
// counts' = g counts + (1 - g) n_k, sums' = g sums + (1 - g) batch_sum_k, e_k = sums'_k / counts'_k, from an
// earlier state with unequal counts, computed here independently; counts, sums and E compared at once.
CheckRow check_eq_10_5_ema_moving_averages(
    const LloydProblem& p, double decay = 0.9,
    const std::function<void(EmaCodebook&, const MatD&, const std::vector<Index>&, double)>& update = ema_codebook_update);
// (10.5) ... so, like a Lloyd step, it never increases the quantisation error of the same points.
CheckRow check_eq_10_5_lloyd_descends(const LloydProblem& p);

// (10.6) Perplexity exp(H): K under uniform use, 1 when one code is used, in [1, K] otherwise.
// Wrong formulas it rejects: 2^H with H in nats, exp(+sum p log p), 0 log 0 evaluated as NaN.
CheckRow check_eq_10_6_uniform(Index K, const std::function<double(const VecD&)>& ppl = perplexity);
CheckRow check_eq_10_6_one_code(Index K, const std::function<double(const VecD&)>& ppl = perplexity);
CheckRow check_eq_10_6_range(Index K, std::uint64_t seed = 12,
                                    const std::function<double(const VecD&)>& ppl = perplexity);

// Every check of the chapter, in the order of the doc.
std::vector<CheckRow> all_checks();

}  // namespace course::ch10
