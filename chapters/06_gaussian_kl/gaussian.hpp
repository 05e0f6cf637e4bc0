// A multivariate Gaussian N(mu, S) for Monte Carlo: its Cholesky factor S = L L^T is computed once,
// so drawing a sample and evaluating the log-density cost one triangular product or solve and no
// heap allocation (vectors up to kMaxDim entries live on the stack). The Monte Carlo checks of the
// chapter draw millions of samples through this class; exercise 6.4 (gaussian_log_density) is the
// same formula written for one call.
#pragma once

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch06 {

inline constexpr Index kMaxDim = 32;
// A vector of at most kMaxDim entries stored on the stack.
using SmallVec = Eigen::Matrix<double, Eigen::Dynamic, 1, Eigen::ColMajor, kMaxDim, 1>;

class Gaussian {
 public:
  Gaussian(VecD mu, MatD S) : mu_(std::move(mu)), S_(std::move(S)) {
    const Index k = mu_.size();
    if (k < 1 || k > kMaxDim || S_.rows() != k || S_.cols() != k)
      throw std::invalid_argument("Gaussian: mean of size " + std::to_string(k) + " and covariance " +
                                  std::to_string(S_.rows()) + "x" + std::to_string(S_.cols()));
    const Eigen::LLT<MatD> llt(S_);
    if (llt.info() != Eigen::Success) throw std::invalid_argument("Gaussian: covariance is not positive definite");
    L_ = llt.matrixL();
    log_det_ = 2.0 * L_.diagonal().array().log().sum();
  }

  Index dim() const { return mu_.size(); }
  const VecD& mean() const { return mu_; }
  const MatD& cov() const { return S_; }
  const MatD& chol() const { return L_; }  // lower triangular L with S = L L^T
  double log_det() const { return log_det_; }

  // z = mu + L eps with eps ~ N(0, I): then E[z] = mu and Cov[z] = L L^T = S.
  template <class Out>
  void sample(Rng& rng, Out&& z) const {
    const Index k = dim();
    SmallVec eps(k);
    for (Index i = 0; i < k; ++i) eps(i) = rng.normal();
    for (Index i = 0; i < k; ++i) {
      double zi = mu_(i);
      for (Index j = 0; j <= i; ++j) zi += L_(i, j) * eps(j);
      z(i) = zi;
    }
  }

  // log N(z; mu, S) = -1/2 (k log 2 pi + log det S + ||L^-1 (z - mu)||^2)   (eq. 6.1)
  template <class In>
  double log_density(const In& z) const {
    // Forward substitution L y = z - mu; the quadratic form is ||y||^2.
    const Index k = dim();
    SmallVec y(k);
    double quadratic = 0.0;
    for (Index i = 0; i < k; ++i) {
      double r = z(i) - mu_(i);
      for (Index j = 0; j < i; ++j) r -= L_(i, j) * y(j);
      y(i) = r / L_(i, i);
      quadratic += y(i) * y(i);
    }
    return -0.5 * (double(k) * std::log(2.0 * std::numbers::pi) + log_det_ + quadratic);
  }

 private:
  VecD mu_;
  MatD S_, L_;
  double log_det_ = 0.0;
};

// A diagonal Gaussian N(mu, diag(exp(log_var))), as a VAE encoder outputs it.
Gaussian diagonal_gaussian(const VecD& mu, const VecD& log_var);

// The standard normal N(0, I_k), the VAE prior.
Gaussian standard_normal(Index k);

// A random symmetric positive-definite k x k matrix A A^T / k + floor I (a test covariance).
MatD random_spd(Index k, Rng& rng, double floor = 0.2);

}  // namespace course::ch06
