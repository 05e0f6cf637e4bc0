// Reference solutions of chapter 12. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch12_cvae_discrete.hpp"

#include <cmath>
#include <numbers>

#include "course/error.hpp"

namespace course::ch12 {

double conditional_elbo(const ConditionalLinearGaussian& model, const VecD& x, const VecD& y, const VecD& q_mean,
                        const MatD& q_chol) {
  // BEGIN SOLUTION
  // HINT: the decoder's mean at z is W z + V y + mu; E_q of ||x - W z - c||^2 is
  // HINT: ||x - W m - c||^2 + tr(W S W^T), with tr(W S W^T) = ||W L||_F^2 (chapter 5, eq. 5.4).
  // HINT: the prior is N(P y, I): KL(N(m, S) || N(P y, I)) = 1/2 (tr S + ||m - P y||^2 - k - log det S).
  const double d = double(model.data_dim()), k = double(model.latent_dim());
  const VecD residual = x - model.W * q_mean - model.V * y - model.mu;
  const double expected_log_lik = -0.5 * d * std::log(2.0 * std::numbers::pi * model.sigma2) -
                                  (residual.squaredNorm() + (model.W * q_chol).squaredNorm()) / (2.0 * model.sigma2);
  const double log_det_S = 2.0 * q_chol.diagonal().array().log().sum();
  const double kl = 0.5 * (q_chol.squaredNorm() + (q_mean - model.P * y).squaredNorm() - k - log_det_S);
  return expected_log_lik - kl;
  // END SOLUTION
}

Index gumbel_max_sample(const VecD& log_pi, const VecD& u) {
  // BEGIN SOLUTION
  // HINT: solve u = exp(-exp(-g)) for g; then the index of the largest log_pi_k + g_k (maxCoeff(&k)).
  const VecD g = -(-u.array().log()).log();
  Index k = 0;
  (log_pi + g).maxCoeff(&k);
  return k;
  // END SOLUTION
}

VecD gumbel_softmax(const VecD& log_pi, const VecD& g, double tau) {
  // BEGIN SOLUTION
  // HINT: the exponents are the perturbed logits over the temperature, (log_pi + g) / tau; subtract
  // HINT: their largest before exponentiating, then normalise.
  const VecD v = (log_pi + g) / tau;
  const VecD e = (v.array() - v.maxCoeff()).exp();
  return e / e.sum();
  // END SOLUTION
}

double concrete_log_density(const VecD& z_relaxed, const VecD& log_alpha, double tau) {
  // BEGIN SOLUTION
  // HINT: take the log of eq. 12.4 term by term; std::lgamma(K) is log (K - 1)!.
  // HINT: log sum_k alpha_k z~_k^(-tau) = log-sum-exp of log_alpha_k - tau log z~_k.
  const double K = double(z_relaxed.size());
  const Eigen::ArrayXd log_z = z_relaxed.array().log();
  const Eigen::ArrayXd a = log_alpha.array() - tau * log_z;
  const double log_sum = a.maxCoeff() + std::log((a - a.maxCoeff()).exp().sum());
  return std::lgamma(K) + (K - 1.0) * std::log(tau) + (log_alpha.array() - (tau + 1.0) * log_z).sum() - K * log_sum;
  // END SOLUTION
}

double categorical_kl_to_uniform(const MatD& Q) {
  // BEGIN SOLUTION
  // HINT: KL(q || p) = sum q log(q / p) per variable, summed over the N columns; skip q = 0 entries.
  const double log_K = std::log(double(Q.rows()));
  double kl = 0.0;
  for (Index n = 0; n < Q.cols(); ++n)
    for (Index j = 0; j < Q.rows(); ++j)
      if (Q(j, n) > 0.0) kl += Q(j, n) * (std::log(Q(j, n)) + log_K);
  return kl;
  // END SOLUTION
}

VecD categorical_score_function(const VecD& logits, Index k, double f_k) {
  // BEGIN SOLUTION
  // HINT: log softmax(logits)_k = logits_k - log sum_j exp(logits_j); differentiate both terms.
  const VecD e = (logits.array() - logits.maxCoeff()).exp();
  VecD grad = -e / e.sum();
  grad(k) += 1.0;
  return f_k * grad;
  // END SOLUTION
}

}  // namespace course::ch12
