// Reference solutions of chapter 8. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch08_vae.hpp"

#include <cmath>

#include "course/error.hpp"

namespace course::ch08 {

MatD reparameterize(const MatD& mu, const MatD& log_var, const MatD& eps) {
  // BEGIN SOLUTION
  // HINT: sigma = exp(log_var / 2) elementwise (.array().exp()); z = mu + sigma .* eps (eq. 8.1).
  return mu + ((0.5 * log_var.array()).exp() * eps.array()).matrix();
  // END SOLUTION
}

BernoulliNll bernoulli_nll(const VecD& x, const VecD& logits) {
  // BEGIN SOLUTION
  // HINT: e = exp(-|a|) never overflows; softplus(a) = max(a, 0) + log1p(e) (eq. 8.3).
  // HINT: sigmoid(a) = 1 / (1 + e) for a >= 0 and e / (1 + e) for a < 0.
  const auto a = logits.array();
  const Eigen::ArrayXd e = (-a.abs()).exp();
  BernoulliNll out;
  out.value = (a.max(0.0) + e.log1p() - x.array() * a).sum();
  out.grad = ((a >= 0.0).select(1.0 / (1.0 + e), e / (1.0 + e)) - x.array()).matrix();
  return out;
  // END SOLUTION
}

EncoderGradient encoder_gradient(const VecD& dl_dz, const VecD& mu, const VecD& log_var, const VecD& eps) {
  // BEGIN SOLUTION
  // HINT: z depends on mu with slope 1 and on log_var with slope eps * exp(log_var / 2) / 2.
  // HINT: then add the gradient of the KL term 1/2 sum (mu^2 + exp(lv) - 1 - lv) (eq. 8.2, 8.4).
  EncoderGradient g;
  const Eigen::ArrayXd sigma = (0.5 * log_var.array()).exp();
  g.mu = dl_dz + mu;
  g.log_var = (dl_dz.array() * eps.array() * sigma * 0.5 + 0.5 * (log_var.array().exp() - 1.0)).matrix();
  return g;
  // END SOLUTION
}

double log_mean_exp(const VecD& log_weights) {
  // BEGIN SOLUTION
  // HINT: m = max_i log w_i; L_k = m + log( sum_i exp(log w_i - m) ) - log k (eq. 8.6).
  const double m = log_weights.maxCoeff();
  if (!std::isfinite(m)) return m;
  return m + std::log((log_weights.array() - m).exp().sum()) - std::log(double(log_weights.size()));
  // END SOLUTION
}

}  // namespace course::ch08
