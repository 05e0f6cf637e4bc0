// Chapter 1 model code: a linear autoencoder trained by full-batch gradient descent, and the
// synthetic data with a known spectrum that the checks use. Shared by main.cpp and the tests.
#pragma once

#include <cmath>
#include <vector>

#include "course/error.hpp"
#include "course/exercises/ch01_linear_ae_pca.hpp"
#include "course/rng.hpp"

namespace course::ch01 {

// n samples in d dimensions whose population covariance has eigenvalues `spectrum` along a random
// orthonormal basis, plus a non-zero mean (so centring matters). d x n.
inline MatD make_spectrum_data(const VecD& spectrum, Index n, std::uint64_t seed) {
  Rng rng(seed);
  const Index d = spectrum.size();
  const MatD Q = rng.normal_matrix<double>(d, d).householderQr().householderQ();
  const MatD Z = rng.normal_matrix<double>(d, n);
  const VecD mean = rng.normal_matrix<double>(d, 1);
  return (Q * spectrum.cwiseSqrt().asDiagonal() * Z).colwise() + mean;
}

// A record of gradient descent on the linear-autoencoder loss (eq. 1.3).
struct LinearAeRun {
  MatD W_enc, W_dec;
  std::vector<double> iteration, loss, largest_angle, median_angle;
};

// Full-batch gradient descent on L(W_enc, W_dec) of centred data Xc, from a random start with
// entries N(0, 1/d), with step `lr`. Every `record_every` iterations it records the loss and the
// largest principal angle between span(W_dec) and span(reference) (the PCA subspace).
inline LinearAeRun train_linear_ae(const MatD& Xc, Index k, int iterations, double lr,
                                   std::uint64_t seed, const MatD& reference, int record_every = 1) {
  const Index d = Xc.rows();
  Rng rng(seed);
  LinearAeRun run;
  run.W_enc = rng.normal_matrix<double>(k, d) / std::sqrt(double(d));
  run.W_dec = rng.normal_matrix<double>(d, k) / std::sqrt(double(d));
  for (int it = 0; it <= iterations; ++it) {
    if (it % record_every == 0 || it == iterations) {
      run.iteration.push_back(it);
      run.loss.push_back(linear_ae_loss(Xc, run.W_enc, run.W_dec));
      const VecD angles = principal_angles(run.W_dec, reference);  // ascending
      run.largest_angle.push_back(angles(angles.size() - 1));
      run.median_angle.push_back(angles(angles.size() / 2));
    }
    if (it == iterations) break;
    const LinearAeGradient g = linear_ae_gradient(Xc, run.W_enc, run.W_dec);
    require_same_shape(g.W_enc, run.W_enc, "dL/dW_enc", "W_enc");
    require_same_shape(g.W_dec, run.W_dec, "dL/dW_dec", "W_dec");
    run.W_enc -= lr * g.W_enc;
    run.W_dec -= lr * g.W_dec;
  }
  return run;
}

// The loss depends on the data only through S = Xc Xc^T / n (eq. 1.3), so a d x d "square root"
// Y = sqrt(d) V Lambda^{1/2} (S = V Lambda V^T) gives the same loss and gradient as the n columns
// of Xc at a fraction of the cost when n >> d.
inline MatD covariance_root(const Eigen::SelfAdjointEigenSolver<MatD>& eig) {
  const Index d = eig.eigenvalues().size();
  return std::sqrt(double(d)) * eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
}

// Eigenvectors of S as columns, in order of decreasing eigenvalue (Eigen returns them increasing).
inline MatD top_eigenvectors(const Eigen::SelfAdjointEigenSolver<MatD>& eig, Index k) {
  return eig.eigenvectors().rowwise().reverse().leftCols(k);
}
inline VecD eigenvalues_decreasing(const Eigen::SelfAdjointEigenSolver<MatD>& eig) {
  return eig.eigenvalues().reverse();
}

// Baldi & Hornik: at the optimum only W_dec W_enc = U_k U_k^T is determined; W_dec = U_k C for any
// invertible C. With the columns of W_dec normalised, C = U_k^T W_dec; this returns the mean over
// columns of the energy a decoder column has off its own principal direction,
// sum_{i != j} C_ij^2 / k: 0 when the columns are the principal directions (up to sign), near
// (k - 1) / k for a generic rotation of them.
inline double off_direction_energy(const MatD& W_dec, const MatD& U_k) {
  MatD C = U_k.transpose() * W_dec.colwise().normalized();
  const double total = C.squaredNorm();
  return (total - C.diagonal().squaredNorm()) / double(C.cols());
}

}  // namespace course::ch01
