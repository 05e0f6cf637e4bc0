// The linear VAE and probabilistic PCA (docs/08-vae.md, section 7; Tipping & Bishop 1999,
// Lucas et al. 2019).
//
//   q(z|x) = N(V (x - m), diag sigma^2)      V: k x d, log sigma^2: k (`log_post_var`, one per latent)
//   p(x|z) = N(W z + m, sigma_x^2 I)         W: d x k, l = log sigma_x^2, m = the data mean
//
// For a linear-Gaussian decoder the expectation over q is exact, so the ELBO averaged over the data
// depends on the data only through the covariance S (d x d), and training needs no sampling:
//   -ELBO = d/2 log 2 pi + d/2 l + Q / (2 sigma_x^2) + beta K                               (8.7)
//   Q = tr S - 2 tr(W V S) + tr(W V S V^T W^T) + sum_j ||w_j||^2 sigma_j^2   (E_q ||x - m - W z||^2)
//   K = 1/2 [ tr(V S V^T) + sum_j sigma_j^2 - k - sum_j log sigma_j^2 ]      (the KL, averaged)
#pragma once

#include <cmath>
#include <numbers>
#include <vector>

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch08 {

struct LinearVae {
  MatD V, W;          // k x d encoder, d x k decoder
  VecD log_post_var;  // k log posterior variances, log sigma_j^2
  double log_noise_var = 0.0;
};

struct LinearVaeGradient {
  MatD V, W;
  VecD log_post_var;
  double log_noise_var = 0.0;
};

// -ELBO per sample (eq. 8.7) for covariance S, KL weight beta.
double linear_vae_loss(const LinearVae& m, const MatD& S, double beta = 1.0);

// Its gradient (the derivative of eq. 8.7).
LinearVaeGradient linear_vae_gradient(const LinearVae& m, const MatD& S, double beta = 1.0);

// The exact log-likelihood per sample of probabilistic PCA, x ~ N(m, W W^T + sigma^2 I), on data
// with covariance S:  -1/2 [ d log 2 pi + log det C + tr(C^-1 S) ].
double ppca_log_likelihood(const MatD& W, double noise_var, const MatD& S);

// Training by full-batch Adam on the exact objective, with the step decaying from lr to lr/1000
// (geometrically) so the iterates settle on the optimum. `annealing` > 0 ramps beta linearly from 0
// over that many iterations (KL annealing). Records the active units after every `every` steps.
struct LinearVaeRun {
  LinearVae model;
  std::vector<double> iteration, loss, active_units;
  double final_gradient_norm = 0.0;
};

LinearVaeRun train_linear_vae(const MatD& S, Index k, int iterations, bool learn_noise,
                                     double log_noise_var, double beta, std::uint64_t seed,
                                     int annealing = 0, int every = 50);

}  // namespace course::ch08
