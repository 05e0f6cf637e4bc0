// Chapter 12 exercises: conditional and discrete VAEs (the CVAE, the Gumbel-softmax relaxation).
// Equations refer to docs/12-cvae-discrete.md. Check your work with  ./course check 12
//
// Notation: an observation x in R^d, a condition y in R^c (a class label as a one-hot vector), a
// Gaussian latent z in R^k. A categorical variable with K classes has probabilities pi (K,
// positive, summing to 1) or unnormalised log-probabilities, the logits logits (pi = softmax(logits));
// a draw is a class index k in 0..K-1, or the one-hot vector 1_k. g_k ~ Gumbel(0, 1) is Gumbel noise.
#pragma once

#include "course/types.hpp"

namespace course::ch12 {

// The conditional linear-Gaussian model (a tractable CVAE):
//   p(z | y) = N(z; P y, I_k),    p(x | z, y) = N(x; W z + V y + mu, sigma2 I_d).
// Everything about it is Gaussian, so log p(x | y) and p(z | x, y) are known exactly.
struct ConditionalLinearGaussian {
  MatD W;               // d x k: latent -> data
  MatD V;               // d x c: condition -> data (the decoder sees y too)
  MatD P;               // k x c: condition -> prior mean (a learned conditional prior)
  VecD mu;              // d: the decoder's offset
  double sigma2 = 1.0;  // the observation noise variance
  Index data_dim() const { return W.rows(); }
  Index latent_dim() const { return W.cols(); }
  Index condition_dim() const { return V.cols(); }
};

// Exercise 12.1 -- the conditional ELBO of the linear-Gaussian CVAE in closed form (eq. 12.1).
// q(z | x, y) = N(q_mean, q_chol q_chol^T) (q_mean: k; q_chol: k x k lower-triangular with a
// positive diagonal). Return ELBO(q; x | y) = E_q[log p(x | z, y)] - KL(q || p(z | y)), both terms
// in closed form: the decoder's mean and the prior's mean both depend on y (chapter 5's eq. 5.4 is
// the case c = 0).
// Tests: log p(x | y) = ELBO + KL(q || p(z | x, y)) to 1e-10 for arbitrary q and y (eq. 12.1);
// equality at the exact posterior; a prior KL against N(0, I) instead of p(z | y) fails, and so
// does a decoder that ignores y.
double conditional_elbo(const ConditionalLinearGaussian& model, const VecD& x, const VecD& y, const VecD& q_mean,
                        const MatD& q_chol);

// Exercise 12.2 -- the Gumbel-max trick (eq. 12.3).
// log_pi (K): log-probabilities of a categorical (or logits: only differences matter). u (K):
// independent uniforms in (0, 1). Turn each u_k into Gumbel(0, 1) noise g_k by the inverse of the
// Gumbel CDF F(g) = exp(-exp(-g)), and return the index k that maximises log_pi_k + g_k.
// Tests: over 2^18 draws the class counts fit Categorical(pi) (chi-square, false-failure rate
// 1e-6); Gaussian noise in place of Gumbel noise fails, and so does argmax(pi + g) (no log).
Index gumbel_max_sample(const VecD& log_pi, const VecD& u);

// Exercise 12.3 -- the Gumbel-softmax (Concrete) sample at temperature tau (eq. 12.4).
// log_pi and g (Gumbel noise) of size K, tau > 0. Return the relaxed sample z~ (written \tilde z in
// docs/12; y there is only ever the condition), the point of the simplex (K, positive, summing to
// 1) that eq. 12.4 defines. Compute it stably: for tau = 1e-3 the exponents are in the thousands,
// and the result must still be finite.
// Tests: the histogram of z~ over many draws matches the Concrete density (K = 2 and 3,
// chi-square, 1e-6); z~ tends to the one-hot Gumbel-max sample as tau -> 0 and to the centre
// (1/K, ..., 1/K) as tau -> infinity (eq. 12.5); a softmax without the temperature fails.
VecD gumbel_softmax(const VecD& log_pi, const VecD& g, double tau);

// Exercise 12.4 -- the Concrete log-density (eq. 12.4; Maddison, Mnih & Teh 2017).
// z_relaxed: a point z~ of the open simplex (K, positive, summing to 1); log_alpha (K): the
// location (log-probabilities or logits); tau > 0. Return log p(z~) for the density of eq. 12.4,
// with respect to Lebesgue measure on the first K - 1 coordinates of z~.
// Tests: it integrates to 1 for K = 2 and K = 3 at several temperatures (quadrature, 1e-8), and
// its bin probabilities match histograms of gumbel_softmax samples (chi-square, 1e-6); a missing
// (K - 1)!, a missing tau^(K - 1), and z~_k^(-tau) for z~_k^(-tau - 1) fail.
double concrete_log_density(const VecD& z_relaxed, const VecD& log_alpha, double tau);

// Exercise 12.5 -- the KL of a factorised categorical posterior to the uniform prior (eq. 12.6).
// Q is K x N: column n holds the probabilities q_n (K, summing to 1; entries may be exactly 0) of
// the n-th of N independent categorical latent variables. The prior is uniform on each: p = 1/K.
// Return KL(q || p) for the whole factorised posterior (a sum over the N variables), treating
// 0 log 0 as 0.
// Tests: against the Monte Carlo mean of log q(z) - log p(z) with z ~ q (1e-6); a zero entry gives
// a finite value; the KL the wrong way round, KL(p || q), the sign flipped, and a missing log K fail.
double categorical_kl_to_uniform(const MatD& Q);

// Exercise 12.6 -- the score-function (REINFORCE) gradient for a categorical (eq. 12.7).
// logits (K): logits of q(k) = softmax(logits)_k; k: one draw from q; f_k: the objective's value at
// that draw. Return f_k times the gradient with respect to logits of log q(k) (chapter 7's score
// function, eq. 7.5, for a categorical instead of a Gaussian).
// Tests: against central differences of logits -> f_k log softmax(logits)_k at fixed k (1e-6); its
// mean over 2^18 draws is the exact gradient of E_q[f] (1e-6); the gradient of logits_k alone
// (a missing log-normaliser) and a flipped sign fail.
VecD categorical_score_function(const VecD& logits, Index k, double f_k);

}  // namespace course::ch12
