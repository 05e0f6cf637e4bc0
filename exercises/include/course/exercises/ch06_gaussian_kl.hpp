// Chapter 6 exercises: the KL divergence between Gaussians in closed form.
// Equations refer to docs/06-gaussian-kl.md. Check your work with  ./course check 06
//
// Notation (the lecture's): q0 = N(mu0, S0) and q1 = N(mu1, S1) are Gaussians on R^k, with
// symmetric positive-definite covariances S0, S1; KL(q0 || q1) = E_{z ~ q0}[log q0(z) - log q1(z)].
// A VAE encoder outputs, per latent dimension j, a mean mu_j and a log-variance log sigma_j^2
// (called log_var): q = N(mu, diag(sigma^2)), and its prior is p = N(0, I).
#pragma once

#include "course/types.hpp"

namespace course::ch06 {

// Exercise 6.1 -- eq. 6.7: the KL of a diagonal Gaussian from the standard normal.
// Return KL(N(mu, diag(sigma^2)) || N(0, I)) (a scalar), with sigma_j^2 = exp(log_var_j): the special
// case of eq. 6.6 that the VAE needs (docs/06, section 5). mu and log_var have the same length k.
// This is the KL term of the VAE loss (chapter 8 calls it).
// Tests: equals kl_gaussian (exercise 6.3) with S0 = diag(sigma^2), mu1 = 0, S1 = I to 1e-10;
// agrees with a Monte Carlo estimate (5 standard errors) and, for k = 1, with quadrature (1e-10).
// A missing 1/2, sigma for sigma^2, log sigma for log sigma^2 or a flipped sign fails.
double kl_diag_std_normal(const VecD& mu, const VecD& log_var);

// The gradient of kl_diag_std_normal with respect to its two arguments.
struct KlDiagGradient {
  VecD mu;       // k: dKL/dmu_j
  VecD log_var;  // k: dKL/d(log sigma_j^2)
};

// Exercise 6.2 -- eq. 6.8: the gradient of the diagonal KL of exercise 6.1 with respect to mu
// (k) and to log_var = log sigma^2 (k) -- the log-variance, which is what the encoder outputs, not
// sigma. Differentiate eq. 6.7 term by term (docs/06, section 6).
// Tests: every entry against central differences of kl_diag_std_normal (relative error <= 1e-6).
// The derivative with respect to sigma_j or log sigma_j instead of log sigma_j^2 fails.
KlDiagGradient kl_diag_std_normal_gradient(const VecD& mu, const VecD& log_var);

// Exercise 6.3 -- eq. 6.6: the KL between two multivariate Gaussians.
// Return KL(N(mu0, S0) || N(mu1, S1)) (a scalar; docs/06, sections 3 and 4). mu0, mu1: k; S0, S1:
// k x k, symmetric positive definite. Do not form an inverse or a determinant: factor with
// Eigen::LLT and solve with the factors (a Cholesky factor also gives the log-determinant).
// Tests: agrees with a Monte Carlo estimate of E_q0[log q0 - log q1] (5 standard errors) and, for
// k = 1, with quadrature (1e-10); equals kl_diag_std_normal where both apply; KL(q || q) = 0.
// S0^-1 in place of S1^-1, a missing 1/2 or a flipped sign on the log-determinants fails.
double kl_gaussian(const VecD& mu0, const MatD& S0, const VecD& mu1, const MatD& S1);

// Exercise 6.4 -- eq. 6.1: the log-density of a multivariate Gaussian.
// Return log N(z; mu, S) (a scalar), the log of the density of N(mu, S) at z. z, mu: k; S: k x k
// symmetric positive definite. Use Eigen::LLT as in exercise 6.3 (no inverse, no determinant).
// Tests: for k = 1 and k = 2, numerical quadrature of the density gives total mass 1, mean mu and
// covariance S (1e-10). A missing 1/2, log(2 pi) not multiplied by k, or S for S^-1 fails.
double gaussian_log_density(const VecD& z, const VecD& mu, const MatD& S);

}  // namespace course::ch06
