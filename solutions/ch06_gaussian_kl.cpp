// Reference solutions of chapter 6. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch06_gaussian_kl.hpp"

#include <cmath>
#include <numbers>

#include "course/error.hpp"

namespace course::ch06 {

double kl_diag_std_normal(const VecD& mu, const VecD& log_var) {
  // BEGIN SOLUTION
  // HINT: sigma_j^2 = exp(log_var_j); sum the one-dimensional closed form over j (eq. 6.7).
  return 0.5 * (mu.squaredNorm() + log_var.array().exp().sum() - double(log_var.size()) - log_var.sum());
  // END SOLUTION
}

KlDiagGradient kl_diag_std_normal_gradient(const VecD& mu, const VecD& log_var) {
  // BEGIN SOLUTION
  // HINT: differentiate eq. 6.7 term by term, in log_var (not in sigma) (eq. 6.8).
  KlDiagGradient g;
  g.mu = mu;
  g.log_var = 0.5 * (log_var.array().exp() - 1.0).matrix();
  return g;
  // END SOLUTION
}

double kl_gaussian(const VecD& mu0, const MatD& S0, const VecD& mu1, const MatD& S1) {
  // BEGIN SOLUTION
  // HINT: const Eigen::LLT<MatD> L1(S1); L1.solve(B) computes S1^-1 B without forming S1^-1.
  // HINT: log det S = 2 * sum_i log L_ii, where L = llt.matrixL().
  const Eigen::LLT<MatD> L0(S0), L1(S1);
  const VecD d = mu1 - mu0;
  const double trace = L1.solve(S0).trace();
  const double mahalanobis = d.dot(L1.solve(d));
  const double log_det0 = 2.0 * MatD(L0.matrixL()).diagonal().array().log().sum();
  const double log_det1 = 2.0 * MatD(L1.matrixL()).diagonal().array().log().sum();
  return 0.5 * (trace + mahalanobis - double(mu0.size()) + log_det1 - log_det0);
  // END SOLUTION
}

double gaussian_log_density(const VecD& z, const VecD& mu, const MatD& S) {
  // BEGIN SOLUTION
  // HINT: with S = L L^T, (z - mu)^T S^-1 (z - mu) = ||L^-1 (z - mu)||^2: one triangular solve.
  const Eigen::LLT<MatD> llt(S);
  const MatD L = llt.matrixL();
  const VecD y = L.triangularView<Eigen::Lower>().solve(z - mu);
  const double log_det = 2.0 * L.diagonal().array().log().sum();
  return -0.5 * (double(z.size()) * std::log(2.0 * std::numbers::pi) + log_det + y.squaredNorm());
  // END SOLUTION
}

}  // namespace course::ch06
