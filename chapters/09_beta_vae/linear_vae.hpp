// The linear VAE with a Gaussian decoder, whose beta-weighted optimum is known in closed form
// (eqs. 9.2-9.4), and a small gradient-descent minimiser (with a Newton polish along one
// direction) to find it numerically.
//   p(x|z) = N(W z, sigma2 I),  q(z|x) = N(V x, diag s2),  p(z) = N(0, I),  data covariance S.
//   (In docs/09 the decoder noise sigma2 is sigma_x^2 and the posterior variance s2 is sigma^2.)
// Averaged over the data, the negative beta-weighted ELBO (without its constant) is
//   F = 1/(2 sigma2) D + beta R,
//   D = E||x - W z||^2 = tr((I - W V) S (I - W V)^T) + sum_j s2_j ||w_j||^2,
//   R = 1/2 sum_j [ (V S V^T)_jj + s2_j - 1 - log s2_j ].
#pragma once

#include <cmath>
#include <functional>

#include "course/types.hpp"

namespace course::ch09 {

// Gradient descent with backtracking (Armijo) line search; stops when ||grad|| <= grad_tol.
// f(x, grad) returns the value and writes the gradient. Returns the number of iterations.
long minimise(const std::function<double(const VecD&, VecD&)>& f, VecD& x, double grad_tol,
                     long max_iterations);

// ---- One principal direction with variance lambda: parameters (w, v, log s2) ----------------
double direction_objective(double lambda, double sigma2, double beta, const VecD& x, VecD& g);

// Its Hessian in (w, v, log s2): the derivatives of the gradient above.
Eigen::Matrix3d direction_hessian(double lambda, double sigma2, double beta, const VecD& x);

// Newton's method from x (a gradient-descent result, inside the basin of quadratic convergence):
// x <- x - H^{-1} grad F until the step's largest component is below step_tol. Gradient descent
// alone converges only linearly, with rate 1 - (smallest / largest curvature), so where the
// curvature is small it stops ~||grad|| / (smallest curvature) away from the minimum; Newton's
// step removes that error. Returns the number of steps; sets *minimum to whether the Hessian is
// positive definite at the end (a minimum, not a saddle).
int newton_polish_direction(double lambda, double sigma2, double beta, VecD& x, double step_tol,
                                   int max_steps, bool* minimum);

// ---- The full linear VAE on a covariance S (d x d) with k = d latents --------------------------
struct LinearVae {
  MatD W, V;     // d x k, k x d
  VecD log_s2;   // k
};

struct LinearVaeTerms {
  double distortion = 0.0;  // D = E||x - W z||^2
  double rate = 0.0;        // R = sum_j KL_j
  VecD kl;                  // KL_j per latent dimension
};

LinearVaeTerms linear_vae_terms(const MatD& S, const LinearVae& m);

// F and its gradient, with the parameters packed as [vec W; vec V; log s2].
double linear_vae_objective(const MatD& S, double sigma2, double beta, const VecD& x, VecD& g);

LinearVae unpack(const VecD& x, Index d);

}  // namespace course::ch09
