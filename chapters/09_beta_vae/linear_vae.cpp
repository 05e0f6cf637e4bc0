// The bodies of 09_beta_vae/linear_vae.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "09_beta_vae/linear_vae.hpp"

namespace course::ch09 {

long minimise(const std::function<double(const VecD&, VecD&)>& f, VecD& x, double grad_tol,
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

double direction_objective(double lambda, double noise_var, double beta, const VecD& x, VecD& g) {
  const double w = x(0), v = x(1), post_var = std::exp(x(2));
  const double r = 1.0 - w * v;
  g.resize(3);
  g(0) = (-r * v * lambda + w * post_var) / noise_var;
  g(1) = -r * w * lambda / noise_var + beta * v * lambda;
  g(2) = 0.5 * w * w * post_var / noise_var + 0.5 * beta * (post_var - 1.0);
  return (r * r * lambda + w * w * post_var) / (2.0 * noise_var) + 0.5 * beta * (v * v * lambda + post_var - 1.0 - x(2));
}

Eigen::Matrix3d direction_hessian(double lambda, double noise_var, double beta, const VecD& x) {
  const double w = x(0), v = x(1), post_var = std::exp(x(2));
  Eigen::Matrix3d H;
  H(0, 0) = (v * v * lambda + post_var) / noise_var;
  H(0, 1) = H(1, 0) = (2.0 * w * v - 1.0) * lambda / noise_var;
  H(0, 2) = H(2, 0) = w * post_var / noise_var;
  H(1, 1) = w * w * lambda / noise_var + beta * lambda;
  H(1, 2) = H(2, 1) = 0.0;
  H(2, 2) = 0.5 * w * w * post_var / noise_var + 0.5 * beta * post_var;
  return H;
}

int newton_polish_direction(double lambda, double noise_var, double beta, VecD& x, double step_tol,
                                   int max_steps, bool* minimum) {
  VecD g(3);
  int steps = 0;
  while (steps < max_steps) {
    direction_objective(lambda, noise_var, beta, x, g);
    const VecD step = direction_hessian(lambda, noise_var, beta, x).ldlt().solve(g);
    x -= step;
    ++steps;
    if (step.cwiseAbs().maxCoeff() < step_tol) break;
  }
  const Eigen::LDLT<Eigen::Matrix3d> ldlt(direction_hessian(lambda, noise_var, beta, x));
  *minimum = ldlt.info() == Eigen::Success && (ldlt.vectorD().array() > 0.0).all();
  return steps;
}

LinearVaeTerms linear_vae_terms(const MatD& S, const LinearVae& m) {
  const Index d = S.rows();
  const MatD R = MatD::Identity(d, d) - m.W * m.V;
  const VecD post_var = m.log_post_var.array().exp();
  LinearVaeTerms t;
  t.distortion = (R * S * R.transpose()).trace() + (m.W.colwise().squaredNorm().transpose().array() * post_var.array()).sum();
  t.kl = 0.5 * ((m.V * S * m.V.transpose()).diagonal().array() + post_var.array() - 1.0 - m.log_post_var.array());
  t.rate = t.kl.sum();
  return t;
}

double linear_vae_objective(const MatD& S, double noise_var, double beta, const VecD& x, VecD& g) {
  const Index d = S.rows(), k = d;
  LinearVae m{Eigen::Map<const MatD>(x.data(), d, k), Eigen::Map<const MatD>(x.data() + d * k, k, d),
              x.segment(2 * d * k, k)};
  const LinearVaeTerms t = linear_vae_terms(S, m);
  const MatD R = MatD::Identity(d, d) - m.W * m.V;
  const VecD post_var = m.log_post_var.array().exp();
  const MatD dW = (-R * S * m.V.transpose() + m.W * post_var.asDiagonal()) / noise_var;
  const MatD dV = -(m.W.transpose() * R * S) / noise_var + beta * m.V * S;
  const VecD dl = 0.5 * m.W.colwise().squaredNorm().transpose().cwiseProduct(post_var) / noise_var + 0.5 * beta * (post_var.array() - 1.0).matrix();
  g.resize(x.size());
  Eigen::Map<MatD>(g.data(), d, k) = dW;
  Eigen::Map<MatD>(g.data() + d * k, k, d) = dV;
  g.segment(2 * d * k, k) = dl;
  return t.distortion / (2.0 * noise_var) + beta * t.rate;
}

LinearVae unpack(const VecD& x, Index d) {
  return {Eigen::Map<const MatD>(x.data(), d, d), Eigen::Map<const MatD>(x.data() + d * d, d, d), x.segment(2 * d * d, d)};
}

}  // namespace course::ch09
