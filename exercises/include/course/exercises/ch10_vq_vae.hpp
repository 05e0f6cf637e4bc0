// Chapter 10 exercises: the VQ-VAE (vector quantisation, straight-through, EMA codebook).
// Equations refer to docs/10-vq-vae.md. Check your work with  ./course check 10
//
// Notation: the encoder's outputs z_e are N vectors of dimension d_e (the lecture's D; in this
// course D is chapter 9's distortion), stored as the columns of a d_e x N matrix Ze (an image with
// M code positions contributes M columns, so N = M B for a batch of B images). The codebook e =
// (e_1, ..., e_K) is stored as the columns of a d_e x K matrix E (the lecture writes it K x D, one
// row per code). codes[n] in [0, K) is the code chosen for column n.
// Losses are summed over the N vectors and divided by the number B of images (as the
// reconstruction loss is: summed over pixels, averaged over images).
#pragma once

#include <vector>

#include "course/types.hpp"

namespace course::ch10 {

// Exercise 10.1 -- nearest-code assignment (eq. 10.1).
// For each column z_n of Ze return k_n = argmin_j ||z_n - e_j||^2 (the lowest j on a tie).
// Expanding ||z - e_j||^2 = ||z||^2 - 2 z.e_j + ||e_j||^2 is fine, but ||e_j||^2 depends on j.
// Tests: every assigned squared distance is the smallest one (to 1e-12); argmax, and the
// expansion without ||e_j||^2, fail.
std::vector<Index> nearest_codes(const MatD& Ze, const MatD& E);

// The two vector-quantisation terms of the VQ-VAE loss (eq. 10.2), per image.
struct VqLoss {
  double codebook = 0.0;    // (1/B) sum_n ||sg[z_n] - e_{k_n}||^2
  double commitment = 0.0;  // (beta/B) sum_n ||z_n - sg[e_{k_n}]||^2
};

// Exercise 10.2 -- the codebook and commitment losses (eq. 10.2).
// Forward, sg is the identity, so both terms are the same squared distance; beta multiplies only
// the commitment term. `images` is B.
// Tests: codebook = (1/B) sum_n min_j ||z_n - e_j||^2 and commitment = beta * codebook (to 1e-10);
// beta on the codebook term, a mean over the N vectors instead of the B images, and unsquared
// distances fail.
VqLoss vq_loss(const MatD& Ze, const MatD& E, const std::vector<Index>& codes, double beta, Index images);

// The gradients that reach the encoder and the codebook (eqs. 10.3, 10.4).
struct VqGradients {
  MatD Ze;  // d_e x N: dL/dz_e = straight-through decoder gradient + commitment gradient
  MatD E;   // d_e x K: dL/de from the codebook term only
};

// Exercise 10.3 -- eqs. 10.3 and 10.4: the straight-through estimator and the VQ gradients.
// dRec_dZq (d_e x N) is the decoder's gradient at z_q = e_{k_n}; Ze (d_e x N), the codebook E (d_e x K),
// the chosen codes, beta and the number of images B are as in vq_loss (eq. 10.2). Return the
// gradient of the whole loss with respect to z_e (d_e x N: what the encoder receives through the
// straight-through estimator, plus the commitment term's part) and with respect to E (d_e x K),
// treating every sg[.] of eq. 10.2 as a constant. The results are in docs/10's "Worked solutions".
// Tests: against central differences of the losses as defined with the stop-gradients (relative
// error <= 1e-6); a missing 2, beta on the wrong term, a gradient through sg, a flipped sign,
// and a dropped decoder gradient fail.
VqGradients vq_gradients(const MatD& dRec_dZq, const MatD& Ze, const MatD& E, const std::vector<Index>& codes,
                         double beta, Index images);

// The exponential-moving-average codebook: e_k = sums_k / counts_k.
struct EmaCodebook {
  MatD E;       // d_e x K codebook
  VecD counts;  // K: moving average of the number of vectors assigned to each code
  MatD sums;    // d_e x K: moving average of the sum of the vectors assigned to each code
};

// Exercise 10.4 -- one EMA codebook update (eq. 10.5), decay gamma in [0, 1):
//   n_k = #{n : k_n = k},  batch_sum_k = sum_{n : k_n = k} z_n,
//   counts_k <- gamma counts_k + (1 - gamma) n_k,   sums_k <- gamma sums_k + (1 - gamma) batch_sum_k,
//   e_k <- sums_k / counts_k   where counts_k > 0 (otherwise e_k is left as it is).
// Tests: with gamma = 0 one update equals one k-means (Lloyd) step to 1e-12; swapping gamma and
// 1 - gamma, and dividing by the total count, fail.
void ema_codebook_update(EmaCodebook& cb, const MatD& Ze, const std::vector<Index>& codes, double decay);

// Exercise 10.5 -- codebook perplexity (eq. 10.6).
// counts_k >= 0 is how often code k was used (not all zero). With p_k = counts_k / sum counts,
// return exp(H(p)) = exp(-sum_k p_k log p_k), where 0 log 0 = 0.
// Tests: K under uniform use, 1 when one code is used, within [1, K] otherwise (to 1e-12);
// 2^H(p) (the entropy in nats taken for bits), a missing minus sign and 0 log 0 = NaN fail.
double perplexity(const VecD& counts);

// ---- The convolutional VQ-VAE's grid of codes and its autoregressive prior (docs/10, section 7) ----
// A code grid holds rows x cols codes in raster order: position q = row * cols + column, codes[q]
// in [0, K) (7 x 7 in the chapter).

// Exercise 10.6 -- the causal mask of a masked convolution (eq. 10.9).
// Return the kernel x kernel 0/1 matrix M (kernel odd, centre c = kernel / 2) of a PixelCNN
// convolution in raster order: M(i, j) = 1 where the tap (i, j) reads a position strictly BEFORE the
// output's own position (a row above, or the same row to the left); the centre tap (c, c) is 1
// only when include_centre (mask "B", for layers after the first) and 0 otherwise (mask "A").
// Tests: the prior built with your masks is exactly causal (eq. 10.9): its output at position q
// does not change when any code at a position >= q changes; a centre tap left on in the first
// layer, and a mask that also lets the taps to the right of the centre through, fail.
MatD causal_mask(Index kernel, bool include_centre);

// Exercise 10.7 -- the prior's log-likelihood of a code grid (eq. 10.8).
// logits is K x N: column q holds the prior's unnormalised log-probabilities of the K codes at
// position q (a softmax over the column gives p(k_q = . | k_<q)); codes has N entries. Return
// log p(k_1, ..., k_N) in nats, by the chain rule. Logits can be large (up to 1e3 in magnitude):
// compute it without overflow.
// Tests: equal to the sum of the logs of the conditionals of eq. 10.8 computed one by one (1e-10),
// -N log K for equal logits, finite for logits of 1e3; a missing normaliser (the raw logit of the
// code) and log-sum-exp without the max shift (inf or NaN) fail.
double grid_log_likelihood(const MatD& logits, const std::vector<Index>& codes);

// The use of a codebook of K codes over a whole set of code grids (eq. 10.10).
struct CodebookUsage {
  VecD counts;              // K: how often each code is used
  double entropy_bits = 0;  // H(p) of the usage distribution p, in bits (0 log 0 = 0)
  double perplexity = 0;    // 2^H(p) = exp(H(p) in nats), in [1, K]
  Index dead = 0;           // codes never used
};

// Exercise 10.8 -- codebook usage statistics (eq. 10.10) of `codes` (all in [0, K), not empty).
// Tests: K equally used codes give H(p) = log2 K, perplexity K and no dead code; one code gives
// H(p) = 0, perplexity 1, K - 1 dead; on a skewed sample, the entropy against a direct sum; entropy in
// nats reported as bits, and counts normalised by K instead of by the number of codes, fail.
CodebookUsage codebook_usage(const std::vector<Index>& codes, Index K);

}  // namespace course::ch10
