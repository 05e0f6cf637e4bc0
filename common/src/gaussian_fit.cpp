#include "course/gaussian_fit.hpp"

#include <algorithm>

#include <Eigen/Eigenvalues>

namespace course {

GaussianFit fit_gaussian(const MatD& X) {
  GaussianFit g;
  g.mean = X.rowwise().mean();
  const MatD C = X.colwise() - g.mean;
  g.cov = C * C.transpose() / double(std::max<Index>(1, X.cols() - 1));
  return g;
}

MatD psd_sqrt(const MatD& S) {
  const Eigen::SelfAdjointEigenSolver<MatD> e(0.5 * (S + S.transpose()));
  return e.eigenvectors() * e.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() * e.eigenvectors().transpose();
}

PcaBasis fit_pca_basis(const MatD& X, Index k) {
  PcaBasis p;
  p.mean = X.rowwise().mean();
  const MatD C = X.colwise() - p.mean;
  const Eigen::SelfAdjointEigenSolver<MatD> eig(C * C.transpose() / double(X.cols() - 1));
  p.W = eig.eigenvectors().rightCols(k).rowwise().reverse();
  return p;
}

MatD pca_features(const PcaBasis& basis, const MatD& X) { return basis.W.transpose() * (X.colwise() - basis.mean); }

}  // namespace course
