// Chapter 3 exercises: denoising autoencoders.
// Equations refer to docs/03-denoising-autoencoders.md. Check your work with  ./course check 03
//
// Notation (the lecture's): X is d x n, one clean sample per column; a corruption process C turns
// X into the noisy input Xn (the lecture's x-tilde); the denoising autoencoder r is trained to map
// Xn back to the clean X. Gaussian noise has standard deviation sigma (variance sigma^2); masking noise
// sets each entry to 0 independently with probability nu.
#pragma once

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch03 {

// Exercise 3.1 -- eq. 3.1: Gaussian corruption.
// Return Xn (d x n), X (d x n) corrupted by independent additive Gaussian noise on every entry
// with standard deviation sigma (variance sigma^2), drawn from `rng` (rng.normal() gives one N(0, 1)
// draw, rng.normal_matrix<double>(d, n) a d x n matrix of them).
// Tests: over many draws, every entry of Xn has mean x_ij and variance sigma^2 (Monte Carlo,
// Bonferroni false-failure rate 1e-6); noise of variance sigma instead of sigma^2 fails.
MatD gaussian_corruption(const MatD& X, double sigma, Rng& rng);

// Exercise 3.2 -- eq. 3.1: masking corruption.
// Return Xn (d x n): X with each entry independently set to 0 with probability nu and kept as it is
// otherwise (rng.bernoulli(p) is true with probability p). No rescaling of the kept entries.
// Tests: every entry has mean (1 - nu) x_ij and variance nu (1 - nu) x_ij^2 (Monte Carlo); keeping
// entries with probability nu instead of 1 - nu fails.
MatD masking_corruption(const MatD& X, double nu, Rng& rng);

// The denoising loss of a linear autoencoder and its gradient.
struct DaeLoss {
  double loss = 0.0;
  MatD grad;  // dL/dW, d x d
};

// Exercise 3.3 -- eq. 3.2: the denoising loss of a linear autoencoder W (d x d) and its gradient.
// Xn is the corrupted input, X the clean target (both d x n): note which one is the target. The
// loss is half the squared Frobenius error of the reconstruction W Xn against X, averaged over the
// n columns (docs/03, section 2); return it and its gradient dL/dW (d x d), which you derive as in
// chapter 1 (worked solution at the end of docs/03).
// Tests: the gradient against central differences of the loss (relative error <= 1e-6); with
// Gaussian noise, the mean loss over noise draws equals the clean loss + sigma^2/2 ||W||_F^2
// (eq. 3.3, Monte Carlo at z = 5); reconstructing the noisy input instead of the clean one fails.
DaeLoss linear_dae_loss(const MatD& W, const MatD& Xn, const MatD& X);

// Exercise 3.4 -- eq. 3.4: the optimal linear denoising autoencoder W* (d x d), the minimiser of
// the expected loss over Gaussian noise of standard deviation sigma (set the gradient of eq. 3.3's
// expected loss to zero; docs/03, section 4). S (d x d, symmetric positive semi-definite) is the
// second-moment matrix of the centred data (or the covariance Sigma of a Gaussian, eq. 3.5).
// The answer involves a matrix inverse: solve a linear system instead (Eigen's .llt()).
// Tests: gradient descent on the expected loss converges to it (to 1e-8); at W* the mean gradient
// over noisy samples is zero (Monte Carlo); sigma instead of sigma^2 fails, and so does W = I.
MatD linear_dae_weights(const MatD& S, double sigma);

}  // namespace course::ch03
