// Chapter 8 exercises: the variational autoencoder.
// Equations refer to docs/08-vae.md. Check your work with  ./course check 08
//
// Notation (docs/08's): an image x has d pixels in [0, 1]; the encoder outputs, for each image,
// mu and log_var (k numbers each), the mean and log-variance of q(z|x) = N(mu, diag exp(log_var));
// the prior is p(z) = N(0, I); the Bernoulli decoder outputs logits a (d numbers), so that
// p(x_i = 1 | z) = sigmoid(a_i). A batch is a matrix with one image (or code) per column.
#pragma once

#include "course/types.hpp"

namespace course::ch08 {

// Exercise 8.1 -- the reparameterization (eq. 8.1).
// Given mu, log_var and standard-normal noise eps (all k x B), return z = mu + exp(log_var / 2) .* eps,
// a draw from N(mu, diag exp(log_var)) that is a differentiable function of mu and log_var.
// Tests: the mean and variance of z over 10^6 draws match mu and exp(log_var) (Monte Carlo,
// false-failure rate 1e-6); exp(log_var) instead of exp(log_var / 2) fails.
MatD reparameterize(const MatD& mu, const MatD& log_var, const MatD& eps);

// The Bernoulli negative log-likelihood of one image and its gradient with respect to the logits.
struct BernoulliNll {
  double value = 0.0;  // -log p(x|z) = sum_i [ softplus(a_i) - x_i a_i ]
  VecD grad;           // d: d value / d a_i
};

// Exercise 8.2 -- the Bernoulli decoder's negative log-likelihood from logits (eq. 8.3).
// x (d, values in [0, 1]) and logits a (d). value = sum_i softplus(a_i) - x_i a_i, where
// softplus(a) = log(1 + exp(a)) must be computed stably as max(a, 0) + log1p(exp(-|a|)); the
// gradient is sigmoid(a) - x.
// Tests: value equals -sum [x log p + (1 - x) log(1 - p)] (p = sigmoid(a)) to 1e-10 where that is
// finite; finite for |a| = 1000; the gradient against central differences.
BernoulliNll bernoulli_nll(const VecD& x, const VecD& logits);

// The gradient of one image's loss l = -log p(x|z) + KL(q(z|x) || N(0, I)) with respect to the
// encoder's outputs, with eps held fixed.
struct EncoderGradient {
  VecD mu;       // k: dl/dmu
  VecD log_var;  // k: dl/dlog_var
};

// Exercise 8.3 -- eq. 8.4: the per-image loss's gradient with respect to mu and log_var.
// Given dl/dz (k, the gradient of -log p(x|z) that flows back from the decoder at
// z = mu + exp(log_var / 2) .* eps, eq. 8.1), mu, log_var and eps (k each), return dl/dmu and
// dl/dlog_var (k each): the chain rule through the reparameterization (eps held fixed) plus the
// gradient of the closed-form KL (eq. 8.2). Derive it first; the result is in docs/08's
// "Worked solutions".
// Tests: against central differences of a whole per-image loss (relative error <= 1e-6); the
// missing KL part, a missing 1/2 and sigma for sigma^2 fail.
EncoderGradient encoder_gradient(const VecD& dl_dz, const VecD& mu, const VecD& log_var, const VecD& eps);

// Exercise 8.4 -- the importance-weighted bound from log-weights (eq. 8.6).
// Given M log-weights log w_i = log p(x, z_i) - log q(z_i|x), return
//   L_M = log( (1/M) sum_i exp(log w_i) )
// computed with the log-sum-exp trick (subtract the largest log w first), so that log-weights near
// -1000 (usual for images) do not underflow to log 0 = -inf.
// Tests: equals the direct formula to 1e-12 for moderate values; finite and exact for log-weights
// near -1000 and +1000; the log M term matters (sum instead of mean fails).
double log_mean_exp(const VecD& log_weights);

}  // namespace course::ch08
