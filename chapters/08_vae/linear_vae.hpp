// The linear VAE and probabilistic PCA (docs/08-vae.md, section 5; Tipping & Bishop 1999,
// Lucas et al. 2019).
//
//   q(z|x) = N(V (x - m), diag exp(s))       V: k x d, s: k (a posterior variance per latent)
//   p(x|z) = N(W z + m, sigma^2 I)           W: d x k, l = log sigma^2, m = the data mean
//
// For a linear-Gaussian decoder the expectation over q is exact, so the ELBO averaged over the data
// depends on the data only through the covariance S (d x d), and training needs no sampling:
//   -ELBO = d/2 log 2 pi + d/2 l + Q / (2 sigma^2) + beta K                                 (8.7)
//   Q = tr S - 2 tr(W V S) + tr(W V S V^T W^T) + sum_j ||w_j||^2 exp(s_j)   (E_q ||x - m - W z||^2)
//   K = 1/2 [ tr(V S V^T) + sum_j exp(s_j) - k - sum_j s_j ]                (the KL, averaged)
#pragma once

#include <cmath>
#include <numbers>
#include <vector>

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::ch08 {

struct LinearVae {
  MatD V, W;       // k x d encoder, d x k decoder
  VecD s;          // k log posterior variances
  double log_noise_var = 0.0;
};

struct LinearVaeGradient {
  MatD V, W;
  VecD s;
  double log_noise_var = 0.0;
};

// -ELBO per sample (eq. 8.7) for covariance S, KL weight beta.
inline double linear_vae_loss(const LinearVae& m, const MatD& S, double beta = 1.0) {
  const Index d = S.rows(), k = m.s.size();
  const MatD VS = m.V * S;
  const MatD WV = m.W * m.V;
  const double Q = S.trace() - 2.0 * (m.W * VS).trace() + (WV * S * WV.transpose()).trace() +
                   (m.W.colwise().squaredNorm().transpose().array() * m.s.array().exp()).sum();
  const double K = 0.5 * ((VS * m.V.transpose()).trace() + m.s.array().exp().sum() - double(k) - m.s.sum());
  return 0.5 * double(d) * (std::log(2 * std::numbers::pi) + m.log_noise_var) + 0.5 * Q * std::exp(-m.log_noise_var) + beta * K;
}

// Its gradient (the derivative of eq. 8.7).
inline LinearVaeGradient linear_vae_gradient(const LinearVae& m, const MatD& S, double beta = 1.0) {
  const Index d = S.rows();
  const double inv_s2 = std::exp(-m.log_noise_var);
  const VecD post_var = m.s.array().exp();
  const MatD VS = m.V * S;
  const MatD VSVt = VS * m.V.transpose();
  LinearVaeGradient g;
  g.W = inv_s2 * (-VS.transpose() + m.W * VSVt + m.W * post_var.asDiagonal());
  g.V = inv_s2 * (-m.W.transpose() * S + m.W.transpose() * m.W * VS) + beta * VS;
  g.s = (0.5 * inv_s2 * m.W.colwise().squaredNorm().transpose().array() * post_var.array() +
         0.5 * beta * (post_var.array() - 1.0)).matrix();
  const MatD WV = m.W * m.V;
  const double Q = S.trace() - 2.0 * (m.W * VS).trace() + (WV * S * WV.transpose()).trace() +
                   (m.W.colwise().squaredNorm().transpose().array() * post_var.array()).sum();
  g.log_noise_var = 0.5 * double(d) - 0.5 * Q * inv_s2;
  return g;
}

// The exact log-likelihood per sample of probabilistic PCA, x ~ N(m, W W^T + sigma^2 I), on data
// with covariance S:  -1/2 [ d log 2 pi + log det C + tr(C^-1 S) ].
inline double ppca_log_likelihood(const MatD& W, double noise_var, const MatD& S) {
  const Index d = S.rows();
  const MatD C = W * W.transpose() + noise_var * MatD::Identity(d, d);
  const Eigen::LLT<MatD> llt(C);
  const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  return -0.5 * (double(d) * std::log(2 * std::numbers::pi) + log_det + llt.solve(S).trace());
}

// Training by full-batch Adam on the exact objective, with the step decaying from lr to lr/1000
// (geometrically) so the iterates settle on the optimum. `annealing` > 0 ramps beta linearly from 0
// over that many iterations (KL annealing). Records the active units after every `every` steps.
struct LinearVaeRun {
  LinearVae model;
  std::vector<double> iteration, loss, active_units;
  double final_gradient_norm = 0.0;
};

inline LinearVaeRun train_linear_vae(const MatD& S, Index k, int iterations, bool learn_noise,
                                     double log_noise_var, double beta, std::uint64_t seed,
                                     int annealing = 0, int every = 50) {
  const Index d = S.rows();
  Rng rng(seed);
  LinearVaeRun run;
  LinearVae& m = run.model;
  m.V = rng.normal_matrix<double>(k, d) * 0.1;
  m.W = rng.normal_matrix<double>(d, k) * 0.1;
  m.s = VecD::Constant(k, -1.0);
  m.log_noise_var = log_noise_var;
  // Adam state over the flattened parameters [V, W, s, l].
  const Index n = 2 * k * d + k + 1;
  VecD mom = VecD::Zero(n), var = VecD::Zero(n);
  const double b1 = 0.9, b2 = 0.999, lr0 = 0.02;
  for (int t = 1; t <= iterations; ++t) {
    const double beta_t = annealing > 0 ? beta * std::min(1.0, double(t) / double(annealing)) : beta;
    const LinearVaeGradient g = linear_vae_gradient(m, S, beta_t);
    VecD flat(n);
    flat << Eigen::Map<const VecD>(g.V.data(), k * d), Eigen::Map<const VecD>(g.W.data(), k * d), g.s,
        learn_noise ? g.log_noise_var : 0.0;
    mom = b1 * mom + (1 - b1) * flat;
    var = b2 * var + (1 - b2) * flat.cwiseAbs2();
    const double lr = lr0 * std::pow(1e-3, double(t) / double(iterations));
    const VecD step = (lr / (1 - std::pow(b1, t))) * (mom.array() / ((var.array() / (1 - std::pow(b2, t))).sqrt() + 1e-12)).matrix();
    Eigen::Map<VecD>(m.V.data(), k * d) -= step.head(k * d);
    Eigen::Map<VecD>(m.W.data(), k * d) -= step.segment(k * d, k * d);
    m.s -= step.segment(2 * k * d, k);
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
