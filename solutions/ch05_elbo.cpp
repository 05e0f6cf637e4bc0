// Reference solutions of chapter 5. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch05_elbo.hpp"

#include <cmath>
#include <numbers>

#include "course/error.hpp"

namespace course::ch05 {

double gaussian_decoder_log_likelihood(const VecD& x, const VecD& x_mean, double sigma2) {
  // BEGIN SOLUTION
  // HINT: (x - x_mean).squaredNorm() is ||x - x_mean||^2; std::numbers::pi is pi (eq. 5.5).
  const double d = double(x.size());
  return -(x - x_mean).squaredNorm() / (2.0 * sigma2) - 0.5 * d * std::log(2.0 * std::numbers::pi * sigma2);
  // END SOLUTION
}

double bernoulli_decoder_log_likelihood(const VecD& x, const VecD& probs) {
  // BEGIN SOLUTION
  // HINT: the log of each pixel's Bernoulli probability, summed over j (eq. 5.6); std::log1p(-p) is log(1 - p).
  double sum = 0.0;
  for (Index j = 0; j < x.size(); ++j)
    sum += x(j) * std::log(probs(j)) + (1.0 - x(j)) * std::log1p(-probs(j));
  return sum;
  // END SOLUTION
}

double elbo_closed_form(const LinearGaussianModel& model, const VecD& x, const Gaussian& q) {
  // BEGIN SOLUTION
  // HINT: tr(W Sigma_q W^T) = ||W L||_F^2 and tr Sigma_q = ||L||_F^2 (squaredNorm of a matrix).
  // HINT: log det Sigma_q = 2 sum_i log L_ii: L.diagonal().array().log().sum().
  const double d = double(model.data_dim()), k = double(model.latent_dim());
  const double s2 = model.sigma2;
  const double residual = (x - model.mu - model.W * q.mean).squaredNorm();
  const double spread = (model.W * q.chol).squaredNorm();
  const double reconstruction = -0.5 * d * std::log(2.0 * std::numbers::pi * s2) - (residual + spread) / (2.0 * s2);
  const double log_det = 2.0 * q.chol.diagonal().array().log().sum();
  const double kl = 0.5 * (q.chol.squaredNorm() + q.mean.squaredNorm() - k - log_det);
  return reconstruction - kl;
  // END SOLUTION
}

double elbo_estimate(const LinearGaussianModel& model, const VecD& x, const Gaussian& q, const MatD& eps) {
  // BEGIN SOLUTION
  // HINT: Z = (q.chol * eps).colwise() + q.mean holds every z_j at once (k x N).
  // HINT: log p(x|z_j) is exercise 5.1 with x_mean = W z_j + mu.
  const double k = double(model.latent_dim());
  const double log_2pi = std::log(2.0 * std::numbers::pi);
  const double log_det_chol = q.chol.diagonal().array().log().sum();
  const MatD Z = (q.chol * eps).colwise() + q.mean;
  const MatD X_mean = (model.W * Z).colwise() + model.mu;
  double sum = 0.0;
  for (Index s = 0; s < eps.cols(); ++s) {
    const double log_prior = -0.5 * k * log_2pi - 0.5 * Z.col(s).squaredNorm();
    const double log_q = -0.5 * k * log_2pi - log_det_chol - 0.5 * eps.col(s).squaredNorm();
    sum += gaussian_decoder_log_likelihood(x, X_mean.col(s), model.sigma2) + log_prior - log_q;
  }
  return sum / double(eps.cols());
  // END SOLUTION
}

double importance_weighted_bound(const LinearGaussianModel& model, const VecD& x, const Gaussian& q,
                                 const MatD& eps) {
  // BEGIN SOLUTION
  // HINT: log w_i is the term of exercise 5.4's sum for column i: compute Z and W Z + mu once.
  // HINT: log (1/M) sum_i exp(a_i) = a_max + log( (1/M) sum_i exp(a_i - a_max) ).
  const Index M = eps.cols();
  const double log_det_chol = q.chol.diagonal().array().log().sum();
  const MatD Z = (q.chol * eps).colwise() + q.mean;
  const MatD X_mean = (model.W * Z).colwise() + model.mu;
  VecD log_w(M);
  for (Index i = 0; i < M; ++i) {
    // log p(z) - log q(z): the -k/2 log(2 pi) of both cancel.
    const double log_prior_over_q = -0.5 * Z.col(i).squaredNorm() + log_det_chol + 0.5 * eps.col(i).squaredNorm();
    log_w(i) = gaussian_decoder_log_likelihood(x, X_mean.col(i), model.sigma2) + log_prior_over_q;
  }
  const double a_max = log_w.maxCoeff();
  return a_max + std::log((log_w.array() - a_max).exp().sum() / double(M));
  // END SOLUTION
}

}  // namespace course::ch05
