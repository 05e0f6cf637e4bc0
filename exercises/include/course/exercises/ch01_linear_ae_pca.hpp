// Chapter 1 exercises: the linear autoencoder finds the PCA subspace.
// Equations refer to docs/01-linear-autoencoder-pca.md. Check your work with  ./course check 01
//
// Notation (the lecture's): X is d x n, one sample per column; Xc is X with its mean column
// subtracted; S = Xc Xc^T / n is the sample covariance with eigenvalues l_1 >= l_2 >= ... >= l_d;
// a linear autoencoder with k hidden units has encoder W_enc (k x d) and decoder W_dec (d x k).
#pragma once

#include "course/types.hpp"

namespace course::ch01 {

// Principal components as the SVD gives them.
struct Pca {
  VecD mean;         // d: the mean column of X
  MatD components;   // d x k: orthonormal columns u_1, ..., u_k, in order of decreasing variance
  VecD eigenvalues;  // min(d, n): every eigenvalue l_j = s_j^2 / n of S, decreasing  (eq. 1.1)
};

// Exercise 1.1 -- PCA via the SVD (eq. 1.1).
// Centre X, take the thin SVD Xc = U Sigma V^T, and return the first k left singular vectors as
// the components and s_j^2 / n as the eigenvalues of S. Use Eigen::BDCSVD.
// Tests: the components span the top-k eigenvector subspace of S (largest principal angle
// <= 1e-8 rad) and the eigenvalues equal S's to 1e-10 (relative); a missing 1/n fails.
Pca pca_via_svd(const MatD& X, Index k);

// Exercise 1.2 -- the linear-autoencoder loss (eq. 1.3):
//   L(W_enc, W_dec) = 1/(2n) || Xc - W_dec W_enc Xc ||_F^2,   Xc: d x n, already centred.
// Tests: agrees with the trace form 1/2 tr((I - W_dec W_enc) S (I - W_dec W_enc)^T) to 1e-10.
double linear_ae_loss(const MatD& Xc, const MatD& W_enc, const MatD& W_dec);

// The gradient of L with respect to both weight matrices.
struct LinearAeGradient {
  MatD W_enc;  // k x d
  MatD W_dec;  // d x k
};

// Exercise 1.3 -- eq. 1.4: the gradient of the loss L of exercise 1.2 with respect to W_dec
// (d x k) and W_enc (k x d), for centred data Xc (d x n). Start from dL = (1/n) tr(R^T dR) with
// the residual R = W_dec W_enc Xc - Xc (docs/01, section 3) and read off both matrices; their
// shapes tell you where the transposes go. The result is in the doc's "Worked solutions".
// Tests: every entry against central differences of linear_ae_loss (relative error <= 1e-6).
LinearAeGradient linear_ae_gradient(const MatD& Xc, const MatD& W_enc, const MatD& W_dec);

// Exercise 1.4 -- principal angles between span(A) and span(B) (eq. 1.6).
// A and B are d x k of full column rank (not necessarily orthonormal). Return the k principal
// angles in radians, ascending. Orthonormalise both bases (QR); the cosines are the singular values
// of Qa^T Qb, and the sines those of Qb - Qa (Qa^T Qb). acos of a cosine loses every digit below
// 1e-8 rad, so take small angles from their sines.
// Tests: known angles 1e-9 and 0.7 rad recovered to 1e-10; invariance to a change of basis.
VecD principal_angles(const MatD& A, const MatD& B);

}  // namespace course::ch01
