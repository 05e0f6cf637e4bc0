// Reference solutions of chapter 3. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch03_denoising_ae.hpp"

#include <cmath>

#include "course/error.hpp"

namespace course::ch03 {

MatD gaussian_corruption(const MatD& X, double sigma, Rng& rng) {
  // BEGIN SOLUTION
  // HINT: sigma is a standard deviation: scale standard normal draws by sigma, not by sigma^2 (eq. 3.1).
  return X + sigma * rng.normal_matrix<double>(X.rows(), X.cols());
  // END SOLUTION
}

MatD masking_corruption(const MatD& X, double nu, Rng& rng) {
  // BEGIN SOLUTION
  // HINT: visit the entries column by column; an entry is dropped (set to 0) with probability nu.
  MatD Xn = X;
  for (Index j = 0; j < X.cols(); ++j)
    for (Index i = 0; i < X.rows(); ++i)
      if (rng.bernoulli(nu)) Xn(i, j) = 0.0;
  return Xn;
  // END SOLUTION
}

DaeLoss linear_dae_loss(const MatD& W, const MatD& Xn, const MatD& X) {
  // BEGIN SOLUTION
  // HINT: the residual R = W Xn - X compares the reconstruction of the noisy input with the CLEAN data.
  // HINT: differentiate as in chapter 1; the input that W multiplied is the noisy one (eq. 3.2).
  const double n = double(X.cols());
  const MatD R = W * Xn - X;
  DaeLoss out;
  out.loss = 0.5 * R.squaredNorm() / n;
  out.grad = R * Xn.transpose() / n;
  return out;
  // END SOLUTION
}

MatD linear_dae_weights(const MatD& S, double sigma) {
  // BEGIN SOLUTION
  // HINT: set the expected loss's gradient to zero; S commutes with (S + sigma^2 I)^-1 (eq. 3.4).
  const Index d = S.rows();
  const MatD A = S + sigma * sigma * MatD::Identity(d, d);
  return A.llt().solve(S);
  // END SOLUTION
}

}  // namespace course::ch03
