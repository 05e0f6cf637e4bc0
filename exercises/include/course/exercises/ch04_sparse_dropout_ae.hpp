// Chapter 4 exercises: sparse and dropout autoencoders.
// Equations refer to docs/04-sparse-and-dropout-autoencoders.md. Check your work with  ./course check 04
//
// Notation (the lecture's): a batch X is d x B, one sample per column. The encoder's
// pre-activations are Z = W_enc X + b_enc (k x B) and the code is H = f(Z) (k x B); for the KL
// sparse autoencoder f is the sigmoid, so every h_ij lies in (0, 1). The mean activation of hidden
// unit j over the batch is rho_hat_j = (1/B) sum_i h_ji, and rho in (0, 1) is its target.
#pragma once

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch04 {

// Exercise 4.1 -- eq. 4.1: the KL sparsity penalty.
// H: k x B sigmoid activations, rho in (0, 1) the target, beta > 0 the weight. With rho_hat_j the
// mean of row j of H, return the scalar P: beta times the sum over the k hidden units of the KL
// divergence KL(Bernoulli(rho) || Bernoulli(rho_hat_j)) (in this order; docs/04, section 1).
// Tests: agrees to 1e-10 with the cross-entropy-minus-entropy form of the same divergence, is 0 at
// rho_hat = rho; the reversed KL(rho_hat || rho) and a missing (1 - rho) term fail.
double kl_sparsity_penalty(double rho, const MatD& H, double beta);

// Exercise 4.2 -- eq. 4.2: the gradient of the KL penalty of exercise 4.1 with respect to the
// pre-activations Z, where H = sigmoid(Z) (k x B). Return dP/dZ (k x B). Two chain-rule steps:
// through rho_hat_j = (1/B) sum_i h_ji, then through the sigmoid (docs/04, section 2; worked
// solution at the end of docs/04).
// Tests: against central differences of kl_sparsity_penalty(rho, sigmoid(Z), beta) in Z, and
// through the whole network (eq. 4.3); a missing 1/B, a missing sigmoid' and the gradient of the
// reversed KL fail.
MatD kl_sparsity_gradient(double rho, const MatD& H, double beta);

// Exercise 4.3 -- eq. 4.4: the L1 subgradient.
// The L1 penalty on the code is  P = (lambda / B) * sum_ji |h_ji|  (H: k x B, any sign). Return a
// subgradient dP/dH (k x B); where some h_ji = 0, the penalty has no derivative: return the
// subgradient 0 there (0 lies in the subdifferential [-1, 1] of |h| at 0; docs/04, section 4).
// Tests: central differences of the penalty in H and through a tanh-code network, at points where
// no |h_ji| is near 0; the value at h = 0 lies in [-lambda/B, lambda/B]; H instead of sign(H), a
// flipped sign and a missing 1/B fail.
MatD l1_subgradient(const MatD& H, double lambda);

// Exercise 4.4 -- eq. 4.6: the inverted-dropout mask.
// Return a rows x cols matrix S of independent entries: each unit is dropped (entry 0) with
// probability drop_rate, and a kept unit's entry is the constant scale that makes E[S .* X] = X
// (docs/04, section 6). Draw with rng (e.g. rng.bernoulli(p) is true with probability p), column by
// column. Dropout applies the mask as S .* X, and its backward pass as S .* dY.
// 0 <= drop_rate < 1; drop_rate = 0 returns all ones.
// Tests: Monte Carlo, E[S .* x] = x entrywise and the kept fraction is 1 - drop_rate (false-failure
// rate 1e-6 per row); through the dropout-as-L2 identity (eq. 4.7). No scaling, or scaling by
// 1 / drop_rate, fails.
MatD inverted_dropout_mask(Index rows, Index cols, double drop_rate, Rng& rng);

}  // namespace course::ch04
