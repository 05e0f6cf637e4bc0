// The linear VAE with a Gaussian decoder, whose beta-weighted optimum is known in closed form
// (eqs. 9.2-9.4), and a small gradient-descent minimiser (with a Newton polish along one
// direction) to find it numerically.
//   p(x|z) = N(W z, sigma2 I),  q(z|x) = N(V x, diag s2),  p(z) = N(0, I),  data covariance S.
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
inline long minimise(const std::function<double(const VecD&, VecD&)>& f, VecD& x, double grad_tol,
                     long max_iterations) {
  VecD g(x.size()), g_new(x.size());
  double fx = f(x, g), step = 1.0;
  long it = 0;
  for (; it < max_iterations && g.norm() > grad_tol; ++it) {
    step *= 2.0;
    for (;;) {
      const VecD trial = x - step * g;
      const double ft = f(trial, g_new);
      if (std::isfinite(ft) && ft <= fx - 0.5 * step * g.squaredNorm()) {
        x = trial;
        fx = ft;
        g = g_new;
        break;
      }
      step *= 0.5;
      if (step < 1e-300) return it;
    }
  }
  return it;
}

// ---- One principal direction with variance lambda: parameters (w, v, log s2) ----------------
inline double direction_objective(double lambda, double sigma2, double beta, const VecD& x, VecD& g) {
  const double w = x(0), v = x(1), s2 = std::exp(x(2));
  const double r = 1.0 - w * v;
  g.resize(3);
  g(0) = (-r * v * lambda + w * s2) / sigma2;
  g(1) = -r * w * lambda / sigma2 + beta * v * lambda;
  g(2) = 0.5 * w * w * s2 / sigma2 + 0.5 * beta * (s2 - 1.0);
  return (r * r * lambda + w * w * s2) / (2.0 * sigma2) + 0.5 * beta * (v * v * lambda + s2 - 1.0 - x(2));
}

// Its Hessian in (w, v, log s2): the derivatives of the gradient above.
inline Eigen::Matrix3d direction_hessian(double lambda, double sigma2, double beta, const VecD& x) {
  const double w = x(0), v = x(1), s2 = std::exp(x(2));
  Eigen::Matrix3d H;
  H(0, 0) = (v * v * lambda + s2) / sigma2;
  H(0, 1) = H(1, 0) = (2.0 * w * v - 1.0) * lambda / sigma2;
  H(0, 2) = H(2, 0) = w * s2 / sigma2;
  H(1, 1) = w * w * lambda / sigma2 + beta * lambda;
  H(1, 2) = H(2, 1) = 0.0;
  H(2, 2) = 0.5 * w * w * s2 / sigma2 + 0.5 * beta * s2;
  return H;
}

// Newton's method from x (a gradient-descent result, inside the basin of quadratic convergence):
// x <- x - H^{-1} grad F until the step's largest component is below step_tol. Gradient descent
// alone converges only linearly, with rate 1 - (smallest / largest curvature), so where the
// curvature is small it stops ~||grad|| / (smallest curvature) away from the minimum; Newton's
// step removes that error. Returns the number of steps; sets *minimum to whether the Hessian is
// positive definite at the end (a minimum, not a saddle).
inline int newton_polish_direction(double lambda, double sigma2, double beta, VecD& x, double step_tol,
                                   int max_steps, bool* minimum) {
  VecD g(3);
  int steps = 0;
  while (steps < max_steps) {
    direction_objective(lambda, sigma2, beta, x, g);
    const VecD step = direction_hessian(lambda, sigma2, beta, x).ldlt().solve(g);
    x -= step;
    ++steps;
    if (step.cwiseAbs().maxCoeff() < step_tol) break;
  }
  const Eigen::LDLT<Eigen::Matrix3d> ldlt(direction_hessian(lambda, sigma2, beta, x));
  *minimum = ldlt.info() == Eigen::Success && (ldlt.vectorD().array() > 0.0).all();
  return steps;
}

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

inline LinearVaeTerms linear_vae_terms(const MatD& S, const LinearVae& m) {
  const Index d = S.rows();
  const MatD R = MatD::Identity(d, d) - m.W * m.V;
  const VecD s2 = m.log_s2.array().exp();
  LinearVaeTerms t;
  t.distortion = (R * S * R.transpose()).trace() + (m.W.colwise().squaredNorm().transpose().array() * s2.array()).sum();
  t.kl = 0.5 * ((m.V * S * m.V.transpose()).diagonal().array() + s2.array() - 1.0 - m.log_s2.array());
  t.rate = t.kl.sum();
  return t;
}

// F and its gradient, with the parameters packed as [vec W; vec V; log s2].
inline double linear_vae_objective(const MatD& S, double sigma2, double beta, const VecD& x, VecD& g) {
  const Index d = S.rows(), k = d;
  LinearVae m{Eigen::Map<const MatD>(x.data(), d, k), Eigen::Map<const MatD>(x.data() + d * k, k, d),
              x.segment(2 * d * k, k)};
  const LinearVaeTerms t = linear_vae_terms(S, m);
  const MatD R = MatD::Identity(d, d) - m.W * m.V;
  const VecD s2 = m.log_s2.array().exp();
  const MatD dW = (-R * S * m.V.transpose() + m.W * s2.asDiagonal()) / sigma2;
  const MatD dV = -(m.W.transpose() * R * S) / sigma2 + beta * m.V * S;
  const VecD dl = 0.5 * m.W.colwise().squaredNorm().transpose().cwiseProduct(s2) / sigma2 + 0.5 * beta * (s2.array() - 1.0).matrix();
  g.resize(x.size());
  Eigen::Map<MatD>(g.data(), d, k) = dW;
  Eigen::Map<MatD>(g.data() + d * k, k, d) = dV;
  g.segment(2 * d * k, k) = dl;
  return t.distortion / (2.0 * sigma2) + beta * t.rate;
}

inline LinearVae unpack(const VecD& x, Index d) {
  return {Eigen::Map<const MatD>(x.data(), d, d), Eigen::Map<const MatD>(x.data() + d * d, d, d), x.segment(2 * d * d, d)};
}

}  // namespace course::ch09
