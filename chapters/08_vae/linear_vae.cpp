// The bodies of 08_vae/linear_vae.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "08_vae/linear_vae.hpp"

namespace course::ch08 {

double linear_vae_loss(const LinearVae& m, const MatD& S, double beta) {
  const Index d = S.rows(), k = m.log_post_var.size();
  const MatD VS = m.V * S;
  const MatD WV = m.W * m.V;
  const double Q = S.trace() - 2.0 * (m.W * VS).trace() + (WV * S * WV.transpose()).trace() +
                   (m.W.colwise().squaredNorm().transpose().array() * m.log_post_var.array().exp()).sum();
  const double K = 0.5 * ((VS * m.V.transpose()).trace() + m.log_post_var.array().exp().sum() - double(k) - m.log_post_var.sum());
  return 0.5 * double(d) * (std::log(2 * std::numbers::pi) + m.log_noise_var) + 0.5 * Q * std::exp(-m.log_noise_var) + beta * K;
}

LinearVaeGradient linear_vae_gradient(const LinearVae& m, const MatD& S, double beta) {
  const Index d = S.rows();
  const double inv_s2 = std::exp(-m.log_noise_var);
  const VecD post_var = m.log_post_var.array().exp();
  const MatD VS = m.V * S;
  const MatD VSVt = VS * m.V.transpose();
  LinearVaeGradient g;
  g.W = inv_s2 * (-VS.transpose() + m.W * VSVt + m.W * post_var.asDiagonal());
  g.V = inv_s2 * (-m.W.transpose() * S + m.W.transpose() * m.W * VS) + beta * VS;
  g.log_post_var = (0.5 * inv_s2 * m.W.colwise().squaredNorm().transpose().array() * post_var.array() +
         0.5 * beta * (post_var.array() - 1.0)).matrix();
  const MatD WV = m.W * m.V;
  const double Q = S.trace() - 2.0 * (m.W * VS).trace() + (WV * S * WV.transpose()).trace() +
                   (m.W.colwise().squaredNorm().transpose().array() * post_var.array()).sum();
  g.log_noise_var = 0.5 * double(d) - 0.5 * Q * inv_s2;
  return g;
}

double ppca_log_likelihood(const MatD& W, double noise_var, const MatD& S) {
  const Index d = S.rows();
  const MatD C = W * W.transpose() + noise_var * MatD::Identity(d, d);
  const Eigen::LLT<MatD> llt(C);
  const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  return -0.5 * (double(d) * std::log(2 * std::numbers::pi) + log_det + llt.solve(S).trace());
}

LinearVaeRun train_linear_vae(const MatD& S, Index k, int iterations, bool learn_noise,
                                     double log_noise_var, double beta, std::uint64_t seed,
                                     int annealing, int every) {
  const Index d = S.rows();
  Rng rng(seed);
  LinearVaeRun run;
  LinearVae& m = run.model;
  m.V = rng.normal_matrix<double>(k, d) * 0.1;
  m.W = rng.normal_matrix<double>(d, k) * 0.1;
  m.log_post_var = VecD::Constant(k, -1.0);
  m.log_noise_var = log_noise_var;
  // Adam state over the flattened parameters [V, W, log_post_var, l].
  const Index n = 2 * k * d + k + 1;
  VecD mom = VecD::Zero(n), var = VecD::Zero(n);
  const double b1 = 0.9, b2 = 0.999, lr0 = 0.02;
  for (int t = 1; t <= iterations; ++t) {
    const double beta_t = annealing > 0 ? beta * std::min(1.0, double(t) / double(annealing)) : beta;
    const LinearVaeGradient g = linear_vae_gradient(m, S, beta_t);
    VecD flat(n);
    flat << Eigen::Map<const VecD>(g.V.data(), k * d), Eigen::Map<const VecD>(g.W.data(), k * d), g.log_post_var,
        learn_noise ? g.log_noise_var : 0.0;
    mom = b1 * mom + (1 - b1) * flat;
    var = b2 * var + (1 - b2) * flat.cwiseAbs2();
    const double lr = lr0 * std::pow(1e-3, double(t) / double(iterations));
    const VecD step = (lr / (1 - std::pow(b1, t))) * (mom.array() / ((var.array() / (1 - std::pow(b2, t))).sqrt() + 1e-12)).matrix();
    Eigen::Map<VecD>(m.V.data(), k * d) -= step.head(k * d);
    Eigen::Map<VecD>(m.W.data(), k * d) -= step.segment(k * d, k * d);
    m.log_post_var -= step.segment(2 * k * d, k);
    m.log_noise_var -= step(n - 1);
    if (t % every == 0 || t == iterations) {
      run.iteration.push_back(t);
      run.loss.push_back(linear_vae_loss(m, S, beta_t));
      const VecD activity = (m.V * S * m.V.transpose()).diagonal();  // Cov_x(E_q[z_u]) = (V S V^T)_uu
      run.active_units.push_back(double((activity.array() > 0.01).count()));
    }
    if (t == iterations) run.final_gradient_norm = flat.norm();
  }
  return run;
}

}  // namespace course::ch08
