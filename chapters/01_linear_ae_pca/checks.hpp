// Chapter 1's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch01 asserts each one (and that each rejects the
// likely wrong formula named beside it).
#pragma once

#include <functional>
#include <numeric>
#include <vector>

#include "01_linear_ae_pca/linear_ae.hpp"
#include "course/check.hpp"

namespace course::ch01 {

// A synthetic problem with a known, well-separated spectrum: d = 10, n = 2000, k = 3.
struct Problem {
  MatD X;    // d x n, not centred
  MatD Xc;   // centred
  Index k = 3;
  Eigen::SelfAdjointEigenSolver<MatD> eig;  // of S = Xc Xc^T / n
};

Problem make_problem(std::uint64_t seed = 1, Index n = 2000);

// (1.1) The top-k eigenvectors of S span the top-k left singular subspace of Xc.
// Wrong formula it rejects: forgetting to centre (SVD of X instead of Xc) tilts the subspace.
CheckRow check_eq_1_1_subspace(const Problem& p);

// (1.1) The eigenvalues of S are the squared singular values of Xc divided by n.
// Wrong formulas it rejects: s_j instead of s_j^2, a missing 1/n, 1/(n-1).
CheckRow check_eq_1_1_eigenvalues(const Problem& p);

// (1.2) Eckart-Young: the best rank-k reconstruction error (1/n)||Xc - U_k U_k^T Xc||^2 equals the
// sum of the discarded eigenvalues. Wrong formula it rejects: the sum of the kept eigenvalues.
CheckRow check_eq_1_2_eckart_young(const Problem& p);
// ... and that no rank-k projection does better (the "best" of Eckart-Young, which the value check
// above cannot see): the smallest error (1/n)||Xc - Q Q^T Xc||^2 over `trials` random orthonormal
// d x k bases Q and as many small perturbations of U_k (which probe the neighbourhood of the
// optimum, where a claimed minimum that is slightly too large is caught) is >= `claimed_minimum`
// (default: the sum of the discarded eigenvalues). Rejects a claimed minimum with a 1/(n-1)
// normaliser or one discarded eigenvalue too few.
CheckRow check_eq_1_2_minimality(const Problem& p, double claimed_minimum = NAN, int trials = 200,
                                 std::uint64_t seed = 12);

// A fixed random point (W_enc, W_dec) at which the loss and gradient are checked.
struct Weights {
  MatD W_enc, W_dec;
};
Weights random_weights(const Problem& p, std::uint64_t seed = 7);

// (1.3) The loss equals its trace form 1/2 tr((I - W_dec W_enc) S (I - W_dec W_enc)^T): it depends
// on the data only through S. Wrong formulas it rejects: a missing 1/2, 1/n instead of 1/(2n).
CheckRow check_eq_1_3_loss(const Problem& p, const Weights& w);

// (1.4) The gradient against central differences of the loss.
// Wrong formulas it rejects: a missing 1/n, a factor 2 from differentiating ||.||^2 without the
// 1/2, W_dec instead of W_dec^T (a transposed matrix: a shape error).
CheckRow check_eq_1_4_gradient(const Problem& p, Weights w);

// (1.5) Gradient descent reaches the PCA subspace and the Eckart-Young error ...
struct TrainedAe {
  LinearAeRun run;
  MatD U;              // the PCA basis
  double eckart_young; // sum of discarded eigenvalues
};
// The loss and its gradient depend on the data only through S (eq. 1.3), so gradient descent runs
// on the d x d root Y of S (covariance_root: Y Y^T / d = S) instead of the n = 2000 columns of Xc:
// the same iterates, 200 times cheaper per step. The student's linear_ae_gradient does the work.
TrainedAe train_on_problem(const Problem& p, int iterations = 3000);
CheckRow check_eq_1_5_subspace(const TrainedAe& t);
CheckRow check_eq_1_5_error(const TrainedAe& t);
// ... while its decoder columns are not the principal directions (Baldi & Hornik): a decoder column
// keeps a large share of its energy off its matching principal direction. The check rejects the
// principal directions themselves (share 0).
CheckRow check_eq_1_5_not_the_directions(const TrainedAe& t);
// The measure itself, on a basis where it is known: W_dec = U_k R(theta) D with R a rotation by
// theta in the plane of the first two directions and D a diagonal scaling (2, 0.5, 3) has share
// 2 sin^2(theta) / k. Rejects the share of unnormalised columns and the sum for the mean over k.
CheckRow check_eq_1_5_off_direction_energy(
    const std::function<double(const MatD&, const MatD&)>& energy = off_direction_energy);

// (1.7) Weight decay lambda/2 (||W_enc||^2 + ||W_dec||^2) does NOT make the decoder's columns the
// principal directions: the objective is unchanged by W_dec -> W_dec O, W_enc -> O^T W_enc for any
// orthogonal O. What it fixes is the singular value decomposition of the decoder: at the minimum
// W_dec = U_k diag(sqrt(1 - lambda / lambda_j)) O (Kunin et al. 2019), so the LEFT SINGULAR VECTORS
// of the trained decoder are the principal directions and its squared singular values are
// 1 - lambda / lambda_j (lambda the weight decay, lambda_j the eigenvalues).
struct DecayedAe {
  LinearAeRun run;
  MatD U;        // the PCA basis
  VecD lambda;   // eigenvalues of S, decreasing
  double weight_decay;  // lambda
};
DecayedAe train_with_weight_decay(const Problem& p, double weight_decay = 0.5, int iterations = 6000);
// Squared singular values of the trained decoder vs 1 - lambda / lambda_j. Rejects 1 - lambda/(2 lambda_j)
// (the decay's gradient taken as lambda/2 W) and the plain AE's 1.
CheckRow check_eq_1_7_singular_values(const DecayedAe& t, const VecD& predicted = VecD());
// Largest angle between the j-th left singular vector of W_dec and u_j (rad).
CheckRow check_eq_1_7_singular_vectors(const DecayedAe& t);
// The minimum is balanced: W_enc = W_dec^T (largest entry of the difference).
CheckRow check_eq_1_7_balanced(const DecayedAe& t);
// The columns themselves stay mixtures: energy off u_j >= 0.01, as without decay.
CheckRow check_eq_1_7_columns_are_still_mixtures(const DecayedAe& t);

// (1.6) Principal angles: span{e1, e2} vs span{e1, cos t e2 + sin t e3} has angles {0, t}; with
// t = 1e-9 an acos-based answer returns 0 (the relative error is 1), the sine-based one t.
CheckRow check_eq_1_6_principal_angles(
    double t, const std::function<VecD(const MatD&, const MatD&)>& angles_of = principal_angles);

// Every check of the chapter, in the order of the doc.
std::vector<CheckRow> all_checks(const Problem& p, const TrainedAe& t, const DecayedAe& decayed);

}  // namespace course::ch01
