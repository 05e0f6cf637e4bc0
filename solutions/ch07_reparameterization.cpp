// Reference solutions of chapter 7. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch07_reparameterization.hpp"

#include <cmath>

#include "course/error.hpp"

namespace course::ch07 {

VecD reparameterize(const VecD& mu, const VecD& log_var, const VecD& eps) {
  // BEGIN SOLUTION
  // HINT: log_var is log sigma^2, not log sigma: which power of exp(log_var) is sigma? (eq. 7.1)
  return mu + ((0.5 * log_var.array()).exp() * eps.array()).matrix();
  // END SOLUTION
}

VecD pathwise_gradient(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& eps) {
  // BEGIN SOLUTION
  // HINT: x = mu + sigma * eps depends on mu with dx/dmu = I; apply the chain rule (eq. 7.4).
  const VecD x = mu + (sigma.array() * eps.array()).matrix();
  return 2.0 * (x - c);
  // END SOLUTION
}

VecD score_function_gradient(const VecD& mu, const VecD& sigma, const VecD& c, const VecD& x) {
  // BEGIN SOLUTION
  // HINT: only the exponent of log N(x; mu, diag sigma^2) depends on mu; differentiate it (eq. 7.5).
  const VecD score = ((x - mu).array() / sigma.array().square()).matrix();
  return (x - c).squaredNorm() * score;
  // END SOLUTION
}

VecD sgd_step(const VecD& mu, const VecD& c, const MatD& eps, double lr) {
  // BEGIN SOLUTION
  // HINT: average exercise 7.2's estimate over the N columns of eps, then step against it (eq. 7.9).
  const VecD mean_eps = eps.rowwise().mean();
  return mu - lr * 2.0 * (mu + mean_eps - c);
  // END SOLUTION
}

}  // namespace course::ch07
