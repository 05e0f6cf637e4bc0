// Reference solutions of chapter 1. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch01_linear_ae_pca.hpp"

#include <algorithm>
#include <cmath>

#include "course/error.hpp"

namespace course::ch01 {

Pca pca_via_svd(const MatD& X, Index k) {
  // BEGIN SOLUTION
  // HINT: centre with X.colwise() - mean; Eigen::BDCSVD<MatD> svd(Xc, Eigen::ComputeThinU);
  // HINT: the eigenvalues of S = Xc Xc^T / n are the squared singular values divided by n (eq. 1.1).
  Pca p;
  const double n = double(X.cols());
  p.mean = X.rowwise().mean();
  const MatD Xc = X.colwise() - p.mean;
  Eigen::BDCSVD<MatD> svd(Xc, Eigen::ComputeThinU);
  p.components = svd.matrixU().leftCols(k);
  p.eigenvalues = svd.singularValues().array().square() / n;
  return p;
  // END SOLUTION
}

double linear_ae_loss(const MatD& Xc, const MatD& W_enc, const MatD& W_dec) {
  // BEGIN SOLUTION
  // HINT: (1 / (2n)) times the squared Frobenius norm of the reconstruction error (eq. 1.3).
  const double n = double(Xc.cols());
  return 0.5 * (Xc - W_dec * (W_enc * Xc)).squaredNorm() / n;
  // END SOLUTION
}

LinearAeGradient linear_ae_gradient(const MatD& Xc, const MatD& W_enc, const MatD& W_dec) {
  // BEGIN SOLUTION
  // HINT: form the code H = W_enc Xc and the residual R = W_dec H - Xc once, then eq. 1.4.
  const double n = double(Xc.cols());
  const MatD H = W_enc * Xc;
  const MatD R = W_dec * H - Xc;
  LinearAeGradient g;
  g.W_dec = R * H.transpose() / n;
  g.W_enc = (W_dec.transpose() * R) * Xc.transpose() / n;
  return g;
  // END SOLUTION
}

VecD principal_angles(const MatD& A, const MatD& B) {
  // BEGIN SOLUTION
  // HINT: Qa = A.householderQr().householderQ() * MatD::Identity(d, k), likewise Qb.
  // HINT: cosines: singular values of Qa^T Qb (descending); sines: of Qb - Qa (Qa^T Qb) (ascending).
  // HINT: for angle i use asin(sine_i) when sine_i^2 < 1/2, acos(cosine_i) otherwise (eq. 1.6).
  const Index d = A.rows(), k = A.cols();
  const MatD Qa = A.householderQr().householderQ() * MatD::Identity(d, k);
  const MatD Qb = B.householderQr().householderQ() * MatD::Identity(d, k);
  const MatD C = Qa.transpose() * Qb;
  const VecD cosines = Eigen::JacobiSVD<MatD>(C).singularValues();                  // descending
  VecD sines = Eigen::JacobiSVD<MatD>(MatD(Qb - Qa * C)).singularValues();        // descending
  std::reverse(sines.data(), sines.data() + sines.size());                         // ascending
  VecD angles(k);
  for (Index i = 0; i < k; ++i)
    angles(i) = sines(i) * sines(i) < 0.5 ? std::asin(std::min(1.0, sines(i)))
                                          : std::acos(std::clamp(cosines(i), -1.0, 1.0));
  return angles;
  // END SOLUTION
}

}  // namespace course::ch01
