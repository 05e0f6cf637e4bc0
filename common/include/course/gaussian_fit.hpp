// Summaries of point sets that several chapters compare: the Gaussian fitted to a set (mean and
// unbiased covariance), the square root of a covariance, and a PCA basis to project images onto
// before fitting (chapter 11's Frechet distance of PCA-50 features, which chapter 10 also reports
// for its VQ-VAE samples). A set of n points in d dimensions is a d x n matrix, one point a column.
#pragma once

#include "course/types.hpp"

namespace course {

// The mean and the unbiased covariance (divided by n - 1) of the n columns of X (d x n).
struct GaussianFit {
  VecD mean;
  MatD cov;
};
GaussianFit fit_gaussian(const MatD& X);

// The matrix square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0).
MatD psd_sqrt(const MatD& S);

// The k leading principal directions of the columns of X (D x n): mean and a D x k matrix W with
// orthonormal columns, largest variance first. pca_features(basis, X) = W^T (X - mean), k x n.
struct PcaBasis {
  VecD mean;
  MatD W;
};
PcaBasis fit_pca_basis(const MatD& X, Index k);
MatD pca_features(const PcaBasis& basis, const MatD& X);

}  // namespace course
