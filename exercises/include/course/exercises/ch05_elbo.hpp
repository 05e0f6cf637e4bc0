// Chapter 5 exercises: the evidence lower bound.
// Equations refer to docs/05-elbo.md. Check your work with  ./course check 05
//
// Notation (the lecture's): a latent z in R^k with prior p(z) = N(0, I); an observation x in R^d.
// The linear-Gaussian model (probabilistic PCA) decodes z to p(x|z) = N(x; W z + mu, sigma2 I).
// An approximate posterior q(z|x) = N(m, L L^T) is stored by its mean m and its lower-triangular
// Cholesky factor L (positive diagonal), so a reparameterised draw is z = m + L eps, eps ~ N(0, I).
#pragma once

#include "course/types.hpp"

namespace course::ch05 {

// p(z) = N(0, I_k),  p(x|z) = N(x; W z + mu, sigma2 I_d).
struct LinearGaussianModel {
  MatD W;               // d x k: the decoder's weights
  VecD mu;              // d: the decoder's offset
  double sigma2 = 1.0;  // the observation noise variance (not the standard deviation)
  Index data_dim() const { return W.rows(); }
  Index latent_dim() const { return W.cols(); }
};

// A Gaussian N(mean, chol chol^T) on the latent space.
struct Gaussian {
  VecD mean;  // k
  MatD chol;  // k x k, lower-triangular with a positive diagonal
  MatD cov() const { return chol * chol.transpose(); }
};

// Exercise 5.1 -- eq. 5.5: the Gaussian decoder's log-likelihood.
// Return log N(x; x_mean, sigma2 I), the log-density at x of a Gaussian with mean x_mean and
// variance sigma2 in every coordinate; x and x_mean of size d, sigma2 > 0 a variance (not a
// standard deviation). Up to a constant it is minus the squared error over 2 sigma2: why a Gaussian
// decoder's reconstruction term looks like the MSE (docs/05, section 4).
// Tests: against the sum of d one-dimensional log-densities (1e-10); rejects sigma for sigma2 and
// a missing 1/2.
double gaussian_decoder_log_likelihood(const VecD& x, const VecD& x_mean, double sigma2);

// Exercise 5.2 -- eq. 5.6: the Bernoulli decoder's log-likelihood.
// Return log p(x | probs) for independent Bernoulli pixels x_j with P(x_j = 1) = probs_j, which is
// minus the binary cross-entropy BCE(x, probs); x in {0, 1}^d (or [0, 1]^d), probs in (0, 1)^d,
// both of size d.
// Tests: against sum_j log(p_j^x_j (1 - p_j)^(1 - x_j)) on random binary vectors (the program: a
// binarised image), to 1e-10; rejects p and 1 - p swapped and the BCE itself (the sign).
double bernoulli_decoder_log_likelihood(const VecD& x, const VecD& probs);

// Exercise 5.3 -- eq. 5.4: the ELBO of the linear-Gaussian model in closed form.
// Return ELBO(q) = E_q[log p(x|z)] - KL(q || p(z)) for q = N(m, Sigma_q), Sigma_q = L L^T (q.mean, q.chol), x of
// size d: both terms have closed forms; derive them and write every term through L (no inverse,
// no determinant routine; docs/05, section 3).
// Tests: log p(x) = ELBO(q) + KL(q || p(z|x)) to 1e-10 for arbitrary q (eq. 5.2); equality with
// log p(x) at the exact posterior (eq. 5.3); a Monte Carlo estimate of the ELBO agrees (eq. 5.4).
double elbo_closed_form(const LinearGaussianModel& model, const VecD& x, const Gaussian& q);

// Exercise 5.4 -- eq. 5.7: the reparameterised Monte Carlo estimate of the ELBO.
// eps is k x N, one standard-normal draw per column. With z_j = m + L eps_j, return the average
// over the N columns of log p(x|z_j) + log p(z_j) - log q(z_j) (a scalar). log q(z_j) needs no
// matrix inverse: z_j is an affine image of eps_j (docs/05, section 5).
// Tests: its mean over many draws agrees with elbo_closed_form (false-failure rate 5.7e-7), and
// the result does not depend on the thread count.
double elbo_estimate(const LinearGaussianModel& model, const VecD& x, const Gaussian& q, const MatD& eps);

// Exercise 5.5 -- eq. 5.9: one draw of the importance-weighted bound L_M (Burda et al. 2016).
// eps is k x M; z_i = m + L eps_i and log w_i = log p(x|z_i) + log p(z_i) - log q(z_i). Return the
// log of the mean of the M weights w_i (a scalar), computed stably: log w_i is often below -745,
// where exp underflows to 0, and the result must stay finite (docs/05, section 7).
// Tests: M = 1 is the ELBO; L_M < L_2M <= log p(x) (Monte Carlo, stated confidence); every draw
// equals log p(x) when q is the exact posterior; finite when every w_i underflows.
double importance_weighted_bound(const LinearGaussianModel& model, const VecD& x, const Gaussian& q,
                                 const MatD& eps);

}  // namespace course::ch05
