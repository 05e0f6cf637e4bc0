// The linear VAE with a Gaussian decoder, whose beta-weighted optimum is known in closed form
// (eqs. 9.2-9.4), and a small gradient-descent minimiser (with a Newton polish along one
// direction) to find it numerically.
//   p(x|z) = N(W z, noise_var I),  q(z|x) = N(V x, diag post_var),  p(z) = N(0, I),  data covariance S.
//   (docs/09 writes the decoder's noise variance noise_var as sigma_x^2, the posterior variance post_var as sigma^2.)
// Averaged over the data, the negative beta-weighted ELBO (without its constant) is
//   F = 1/(2 noise_var) D + beta R,
//   D = E||x - W z||^2 = tr((I - W V) S (I - W V)^T) + sum_j post_var_j ||w_j||^2,
//   R = 1/2 sum_j [ (V S V^T)_jj + post_var_j - 1 - log post_var_j ].
#pragma once

#include <cmath>
#include <functional>

#include "course/types.hpp"

namespace course::ch09 {

// Gradient descent with backtracking (Armijo) line search; stops when ||grad|| <= grad_tol.
// f(x, grad) returns the value and writes the gradient. Returns the number of iterations.
long minimise(const std::function<double(const VecD&, VecD&)>& f, VecD& x, double grad_tol,
                     long max_iterations);

// ---- One principal direction with variance lambda: parameters (w, v, log post_var) ----------------
double direction_objective(double lambda, double noise_var, double beta, const VecD& x, VecD& g);

// Its Hessian in (w, v, log post_var): the derivatives of the gradient above.
Eigen::Matrix3d direction_hessian(double lambda, double noise_var, double beta, const VecD& x);

// Newton's method from x (a gradient-descent result, inside the basin of quadratic convergence):
// x <- x - H^{-1} grad F until the step's largest component is below step_tol. Gradient descent
// alone converges only linearly, with rate 1 - (smallest / largest curvature), so where the
// curvature is small it stops ~||grad|| / (smallest curvature) away from the minimum; Newton's
// step removes that error. Returns the number of steps; sets *minimum to whether the Hessian is
// positive definite at the end (a minimum, not a saddle).
int newton_polish_direction(double lambda, double noise_var, double beta, VecD& x, double step_tol,
                                   int max_steps, bool* minimum);

// ---- The full linear VAE on a covariance S (d x d) with k = d latents --------------------------
struct LinearVae {
  MatD W, V;     // d x k, k x d
  VecD log_post_var;   // k
};

struct LinearVaeTerms {
  double distortion = 0.0;  // D = E||x - W z||^2
  double rate = 0.0;        // R = sum_j KL_j
  VecD kl;                  // KL_j per latent dimension
};

LinearVaeTerms linear_vae_terms(const MatD& S, const LinearVae& m);

// F and its gradient, with the parameters packed as [vec W; vec V; log post_var].
double linear_vae_objective(const MatD& S, double noise_var, double beta, const VecD& x, VecD& g);

LinearVae unpack(const VecD& x, Index d);

}  // namespace course::ch09
