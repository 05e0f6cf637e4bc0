// The bodies of 06_gaussian_kl/gaussian.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "06_gaussian_kl/gaussian.hpp"

namespace course::ch06 {

Gaussian diagonal_gaussian(const VecD& mu, const VecD& log_var) {
  return Gaussian(mu, MatD(log_var.array().exp().matrix().asDiagonal()));
}

Gaussian standard_normal(Index k) { return Gaussian(VecD::Zero(k), MatD::Identity(k, k)); }

MatD random_spd(Index k, Rng& rng, double floor) {
  const MatD A = rng.normal_matrix<double>(k, k);
  return A * A.transpose() / double(k) + floor * MatD::Identity(k, k);
}

}  // namespace course::ch06
