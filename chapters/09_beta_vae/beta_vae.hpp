// A compact MLP VAE with a weight beta on the KL (eq. 9.1), templated on Scalar: double for the
// gradient check, float for training.
//   encoder  x (d) -> relu(W1 x + b1) (h) -> mu (k), log sigma^2 (k)
//   sample   z = mu + exp(log sigma^2 / 2) .* eps,   eps ~ N(0, I)       (the reparameterisation)
//   decoder  z (k) -> relu(W3 z + b3) (h) -> logits (d),  p(x|z) = Bernoulli(sigmoid(logits))
//   loss     1/B sum_b [ -log p(x_b|z_b) + beta KL(q(z|x_b) || N(0, I)) ]
// NOTE: chapter 8 writes the full VAE of the lecture; this one should later be merged with it.
#pragma once

#include <string>
#include <vector>

#include "course/nn.hpp"
#include "course/optim.hpp"
#include "course/rng.hpp"

namespace course::ch09 {

template <class Scalar>
struct MlpVae {
  using M = Mat<Scalar>;
  nn::Linear<Scalar> enc, enc_mu, enc_log_var, dec, dec_out;

  MlpVae() = default;
  MlpVae(Index d, Index h, Index k, Rng& rng)
      : enc(d, h, rng), enc_mu(h, k, rng), enc_log_var(h, k, rng), dec(k, h, rng), dec_out(h, d, rng) {}
  Index latent() const { return enc_mu.out(); }

  // Everything the backward pass needs; shapes for a batch of B columns.
  struct Pass {
    M X, A1, H1;          // input d x B; encoder pre-activation and hidden h x B
    M mu, log_var, eps;   // k x B
    M Z, A2, H2, logits;  // k x B; decoder pre-activation and hidden h x B; d x B
  };
  struct Loss {
    Scalar distortion, rate, loss;  // batch means; loss = distortion + beta * rate
  };

  // mu and log sigma^2 of q(z|x) for X: d x B.
  std::pair<M, M> encode(const M& X) const {
    const M H = nn::activation_forward(nn::Activation::ReLU, enc.forward(X));
    return {enc_mu.forward(H), enc_log_var.forward(H)};
  }
  // Bernoulli means sigmoid(logits) for codes Z: k x B.
  M decode_mean(const M& Z) const {
    const M H = nn::activation_forward(nn::Activation::ReLU, dec.forward(Z));
    return nn::activation_forward(nn::Activation::Sigmoid, dec_out.forward(H));
  }

  // Forward pass with the noise eps (k x B) given, so a gradient check can hold it fixed.
  Pass forward(const M& X, const M& eps) const {
    Pass p;
    p.X = X;
    p.A1 = enc.forward(X);
    p.H1 = nn::activation_forward(nn::Activation::ReLU, p.A1);
    p.mu = enc_mu.forward(p.H1);
    p.log_var = enc_log_var.forward(p.H1);
    p.eps = eps;
    p.Z = p.mu + ((p.log_var.array() * Scalar(0.5)).exp() * eps.array()).matrix();
    p.A2 = dec.forward(p.Z);
    p.H2 = nn::activation_forward(nn::Activation::ReLU, p.A2);
    p.logits = dec_out.forward(p.H2);
    return p;
  }

  // (9.1): distortion = mean BCE from the logits, rate = mean closed-form KL.
  static Loss loss(const Pass& p, Scalar beta) {
    const Scalar B = Scalar(p.X.cols());
    Loss l;
    l.distortion = nn::bce_with_logits_loss(p.logits, p.X);
    l.rate = Scalar(0.5) * (p.mu.array().square() + p.log_var.array().exp() - Scalar(1) - p.log_var.array()).sum() / B;
    l.loss = l.distortion + beta * l.rate;
    return l;
  }

  // Accumulates d loss / d parameters into the layers' gradients.
  void backward(const Pass& p, Scalar beta) {
    const Scalar B = Scalar(p.X.cols());
    const M d_logits = nn::bce_with_logits_backward(p.logits, p.X);
    const M d_H2 = dec_out.backward(p.H2, d_logits);
    const M d_A2 = nn::activation_backward(nn::Activation::ReLU, p.A2, p.H2, d_H2);
    const M d_Z = dec.backward(p.Z, d_A2);
    // z = mu + exp(lv / 2) eps: dz/dmu = 1, dz/dlv = exp(lv / 2) eps / 2;
    // dKL/dmu = mu / B, dKL/dlv = (exp(lv) - 1) / (2B).
    const auto sd = (p.log_var.array() * Scalar(0.5)).exp();
    const M d_mu = d_Z + (beta / B) * p.mu;
    const M d_lv = (d_Z.array() * p.eps.array() * sd * Scalar(0.5) +
                    (beta / (Scalar(2) * B)) * (p.log_var.array().exp() - Scalar(1))).matrix();
    const M d_H1 = enc_mu.backward(p.H1, d_mu) + enc_log_var.backward(p.H1, d_lv);
    const M d_A1 = nn::activation_backward(nn::Activation::ReLU, p.A1, p.H1, d_H1);
    enc.backward(p.X, d_A1);
  }

  std::vector<Param<Scalar>> params() {
    std::vector<Param<Scalar>> ps;
    enc.collect(ps, "enc");
    enc_mu.collect(ps, "enc_mu");
    enc_log_var.collect(ps, "enc_log_var");
    dec.collect(ps, "dec");
    dec_out.collect(ps, "dec_out");
    return ps;
  }
};

}  // namespace course::ch09

namespace course::ch09 {

// Equal-width binning of x into `bins` labels 0..bins-1 over [min x, max x] (for the MIG, eq. 9.6).
inline std::vector<int> discretise(const VecD& x, int bins) {
  const double lo = x.minCoeff(), hi = x.maxCoeff();
  std::vector<int> out(std::size_t(x.size()), 0);
  if (!(hi > lo)) return out;
  for (Index i = 0; i < x.size(); ++i)
    out[std::size_t(i)] = std::min(bins - 1, int(double(bins) * (x(i) - lo) / (hi - lo)));
  return out;
}

}  // namespace course::ch09
