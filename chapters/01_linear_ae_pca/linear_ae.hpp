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
MatD make_spectrum_data(const VecD& spectrum, Index n, std::uint64_t seed);

// A record of gradient descent on the linear-autoencoder loss (eq. 1.3).
struct LinearAeRun {
  MatD W_enc, W_dec;
  std::vector<double> iteration, loss, largest_angle, median_angle;
};

// Full-batch gradient descent on L(W_enc, W_dec) of centred data Xc, from a random start with
// entries N(0, 1/d), with step `lr`. Every `record_every` iterations it records the loss and the
// largest principal angle between span(W_dec) and span(reference) (the PCA subspace).
// `weight_decay` lambda adds lambda/2 (||W_enc||^2 + ||W_dec||^2) to the objective, so lambda W to
// each gradient; `loss` records the reconstruction loss L alone.
LinearAeRun train_linear_ae(const MatD& Xc, Index k, int iterations, double lr,
                                   std::uint64_t seed, const MatD& reference, int record_every = 1,
                                   double weight_decay = 0.0);

// The loss depends on the data only through S = Xc Xc^T / n (eq. 1.3), so a d x d "square root"
// Y = sqrt(d) V Lambda^{1/2} (S = V Lambda V^T) gives the same loss and gradient as the n columns
// of Xc at a fraction of the cost when n >> d.
MatD covariance_root(const Eigen::SelfAdjointEigenSolver<MatD>& eig);

// Eigenvectors of S as columns, in order of decreasing eigenvalue (Eigen returns them increasing).
MatD top_eigenvectors(const Eigen::SelfAdjointEigenSolver<MatD>& eig, Index k);
VecD eigenvalues_decreasing(const Eigen::SelfAdjointEigenSolver<MatD>& eig);

// Baldi & Hornik: at the optimum only W_dec W_enc = U_k U_k^T is determined; W_dec = U_k C for any
// invertible C. With the columns of W_dec normalised, C = U_k^T W_dec; this returns the mean over
// columns of the energy a decoder column has off its own principal direction,
// sum_{i != j} C_ij^2 / k: 0 when the columns are the principal directions (up to sign), near
// (k - 1) / k for a generic rotation of them.
double off_direction_energy(const MatD& W_dec, const MatD& U_k);

// The angle between the j-th left singular vector of W_dec (singular values decreasing) and u_j,
// the j-th column of U_k, for j = 1..k: asin ||v_j - u_j u_j^T v_j||, accurate near 0.
VecD singular_direction_angles(const MatD& W_dec, const MatD& U_k);

}  // namespace course::ch01
