// Chapter 9 exercises: beta-VAE, rate and distortion, and the mutual information gap.
// Equations refer to docs/09-beta-vae.md. Check your work with  ./course check 09
//
// Notation (the lecture's): a batch of B samples; the encoder gives mu and log sigma^2 (k x B, one
// sample per column); the decoder's negative log-likelihood per sample is -log p(x|z), the
// distortion; KL(q(z|x) || N(0, I)) per sample is the rate; beta weighs the rate.
#pragma once

#include <vector>

#include "course/types.hpp"

namespace course::ch09 {

// Rate, distortion and the beta-weighted loss of a batch, each averaged over the batch.
struct RateDistortion {
  double distortion = 0.0;  // mean over samples of -log p(x|z)
  double rate = 0.0;        // mean over samples of KL(q(z|x) || N(0, I)), in nats
  double loss = 0.0;        // distortion + beta * rate: the negative beta-weighted ELBO
};

// Exercise 9.1 -- eq. 9.1: the beta-weighted loss.
// nll: B values of -log p(x_b|z_b); mu, log_var: k x B. Return the batch means of the distortion
// (nll) and of the rate (per sample, the KL of q(z|x_b) from N(0, I): chapter 6's eq. 6.7), and the
// beta-weighted loss. beta weighs the KL, not the reconstruction.
// Tests: against an independent sum (1e-10); the scaling identity L_beta(sigma^2) = beta L_1(beta sigma^2)
// of a Gaussian decoder (eq. 9.2); beta on the reconstruction term fails both.
RateDistortion beta_vae_objective(const VecD& nll, const MatD& mu, const MatD& log_var, double beta);

// The optimum of the beta-weighted objective of a linear VAE along one principal direction with
// data variance lambda: decoder scale w >= 0, encoder gain v and posterior variance post_var (sigma^2 in
// docs/09; the decoder's noise variance, noise_var below, is sigma_x^2 there).
struct LinearVaeDirection {
  double w = 0.0;   // decoder column scale
  double v = 0.0;   // encoder gain: the posterior mean is v * (u^T x)
  double post_var = 1.0;  // posterior variance
};

// Exercise 9.2 -- eq. 9.3: the optimum (w, v, post_var) of the linear beta-VAE's objective along one
// direction of variance lambda, with decoder noise variance noise_var (sigma_x^2 in docs/09) and KL
// weight beta: minimise the 1-D objective of docs/09, section 3 (set its three partial derivatives to zero; beta enters only
// through beta * noise_var). Mind the case where the direction collapses (w = 0).
// Tests: against a numeric minimisation of the 1-D objective (1e-7); noise_var without beta fails.
LinearVaeDirection linear_vae_optimum(double lambda, double noise_var, double beta);

// Exercise 9.3 -- eq. 9.4: the number of collapsed latent dimensions.
// lambda: the data covariance eigenvalues (one per latent dimension). Return how many of them the
// linear beta-VAE's optimum (exercise 9.2) switches off (w = 0), for decoder noise variance noise_var and beta.
// Tests: against a full linear VAE trained to convergence, for several beta; the reversed
// inequality fails.
Index count_collapsed(const VecD& lambda, double noise_var, double beta);

// Exercise 9.4 -- eq. 9.5: entropy of a discrete variable.
// a: n non-negative integer bin labels. Return the entropy H(a) of their empirical distribution, in
// nats. Tests: log(m) for m equally used labels; 0 for a constant.
double entropy(const std::vector<int>& a);

// Exercise 9.5 -- eq. 9.5: mutual information from the joint histogram.
// a, b: n labels each (pairs (a_i, b_i)). Return the mutual information I(a; b) of their empirical
// joint distribution, in nats.
// Tests: I(a; a) = H(a); I = H(a) + H(b) - H(a, b); 0 for a full grid of independent labels.
double mutual_information(const std::vector<int>& a, const std::vector<int>& b);

// Exercise 9.6 -- eq. 9.6: the mutual information gap.
// codes: the k discretised latents z_j, factors: the n_v discretised factors v_k, each n labels.
// For each factor v_k, sort I(z_j; v_k) over j, take the gap between the largest two and divide by
// H(v_k); return the mean over factors. Needs k >= 2. Use your entropy and mutual_information.
// Tests: 1 when codes equal the factors; 0 for a factor copied into two codes; 2/3 for a case that
// normalising by H(z_j) instead of H(v_k) gets wrong; near 0 for independent random codes.
double mutual_information_gap(const std::vector<std::vector<int>>& codes,
                              const std::vector<std::vector<int>>& factors);

// Exercise 9.7 -- eq. 9.7: a latent traversal.
// Return the k x m matrix whose column i is z0 with coordinate `dim` replaced by values(i) (m is the
// length of values). Tests: against the formula (exact); adding values(i) to z0(dim) fails.
MatD latent_traversal(const VecD& z0, Index dim, const VecD& values);

}  // namespace course::ch09
