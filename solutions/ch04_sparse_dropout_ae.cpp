// Reference solutions of chapter 4. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch04_sparse_dropout_ae.hpp"

#include <cmath>

#include "course/error.hpp"

namespace course::ch04 {

double kl_sparsity_penalty(double rho, const MatD& H, double beta) {
  // BEGIN SOLUTION
  // HINT: rho_hat = H.rowwise().mean() (one mean activation per hidden unit).
  // HINT: one Bernoulli KL per unit, KL(rho || rho_hat_j), summed and times beta (eq. 4.1).
  const VecD rho_hat = H.rowwise().mean();
  double sum = 0.0;
  for (Index j = 0; j < rho_hat.size(); ++j) {
    const double q = rho_hat(j);
    sum += rho * std::log(rho / q) + (1.0 - rho) * std::log((1.0 - rho) / (1.0 - q));
  }
  return beta * sum;
  // END SOLUTION
}

MatD kl_sparsity_gradient(double rho, const MatD& H, double beta) {
  // BEGIN SOLUTION
  // HINT: first dP/drho_hat_j, differentiating eq. 4.1 in rho_hat_j.
  // HINT: then the chain rule through rho_hat_j = mean_i h_ji and through the sigmoid, written with h (eq. 4.2).
  const double B = double(H.cols());
  const VecD rho_hat = H.rowwise().mean();
  const VecD d_rho_hat = beta * ((1.0 - rho) / (1.0 - rho_hat.array()) - rho / rho_hat.array()).matrix();
  const MatD sigmoid_prime = (H.array() * (1.0 - H.array())).matrix();
  return (d_rho_hat.asDiagonal() * sigmoid_prime) / B;
  // END SOLUTION
}

MatD l1_subgradient(const MatD& H, double lambda) {
  // BEGIN SOLUTION
  // HINT: differentiate |h| where h != 0, and choose 0 in the subdifferential at h = 0 (eq. 4.4).
  const double B = double(H.cols());
  return H.unaryExpr([](double h) { return double((h > 0.0) - (h < 0.0)); }) * (lambda / B);
  // END SOLUTION
}

MatD inverted_dropout_mask(Index rows, Index cols, double drop_rate, Rng& rng) {
  // BEGIN SOLUTION
  // HINT: keep with probability 1 - drop_rate; scale a kept entry so that its mean is 1 (eq. 4.6).
  const double keep = 1.0 - drop_rate;
  MatD S(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) S(i, j) = rng.bernoulli(keep) ? 1.0 / keep : 0.0;
  return S;
  // END SOLUTION
}

}  // namespace course::ch04
