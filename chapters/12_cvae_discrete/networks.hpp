// Chapter 12's two networks, on the course's layer stack (course/sequential.hpp, course/nn.hpp):
//
// The conditional VAE (section 6 of docs/12-cvae-discrete.md), y a one-hot label (c classes), with
// d pixels, n_h hidden units and a code of k numbers (the docs' letters):
//   encoder  [mu; log_var] = enc([x; y])          enc: linear d+c -> n_h, relu, linear n_h -> 2k
//   sample   z = mu + exp(log_var / 2) .* eps      (chapter 8's eq. 8.1)
//   decoder  a = dec([z; y])                       dec: linear k+c -> n_h, relu, linear n_h -> d (logits)
//   loss     l = sum_i softplus(a_i) - x_i a_i + KL(q(z|x,y) || N(0, I))     (-ELBO(x|y), eq. 12.2)
//
// The discrete VAE with the Gumbel-softmax relaxation (section 7), N groups of K classes:
//   encoder  logits = enc(x)                        enc: linear d -> n_h, relu, linear n_h -> N K (logits)
//   sample   z~_n = softmax((logits_n + g_n) / tau) per group n (eq. 12.4; z~ is the docs' \tilde z,
//            the relaxed sample); g ~ Gumbel
//            straight-through: the decoder sees one_hot(argmax z~_n) instead (eq. 12.9)
//   decoder  a = dec(z~)                           dec: linear N K -> n_h, relu, linear n_h -> d
//   loss     l = sum_i softplus(a_i) - x_i a_i + sum_n KL(q_n || uniform)     (eq. 12.6, 12.10)
//            q_n = softmax(logits_n)
//
// A batch is a matrix with one sample per column; the batch loss is the mean of l over the B
// columns. Templated on Scalar: the gradient checks run in double, training in float. The step a
// chapter teaches is written out here between the two Sequentials (the reparameterization and the
// KL for the CVAE; the Gumbel-softmax Jacobian and the categorical KL for the discrete VAE).
#pragma once

#include <cmath>
#include <vector>

#include "08_vae/vae.hpp"
#include "course/nn.hpp"
#include "course/rng.hpp"
#include "course/sequential.hpp"

namespace course::ch12 {

// [A; B]: the rows of A above the rows of B (the same number of columns).
template <class Scalar>
Mat<Scalar> stack_rows(const Mat<Scalar>& A, const Mat<Scalar>& B) {
  Mat<Scalar> S(A.rows() + B.rows(), A.cols());
  S << A, B;
  return S;
}

// One-hot columns of `labels` (C x count): column j is e_{labels[first + j]}.
template <class Scalar>
Mat<Scalar> one_hot_columns(const std::vector<int>& labels, Index C) {
  Mat<Scalar> Y = Mat<Scalar>::Zero(C, Index(labels.size()));
  for (Index j = 0; j < Index(labels.size()); ++j) Y(labels[std::size_t(j)], j) = Scalar(1);
  return Y;
}

// Per image of a batch: sum_i softplus(a_i) - x_i a_i (eq. 8.3), and dA = (sigmoid(a) - x) / B.
template <class Scalar>
void bernoulli_loss_columns(const Mat<Scalar>& A, const Mat<Scalar>& X, Vec<Scalar>& per_image, Mat<Scalar>& dA) {
  const Index B = X.cols();
  per_image.resize(B);
  dA.resize(A.rows(), B);
  const Scalar inv_B = Scalar(1) / Scalar(B);
  nn::for_columns(B, [&](Index j) {
    const auto a = A.col(j).array();
    const auto x = X.col(j).array();
    const Eigen::Array<Scalar, Eigen::Dynamic, 1> e = (-a.abs()).exp();
    per_image(j) = (a.cwiseMax(Scalar(0)) + e.log1p() - x * a).sum();
    dA.col(j).array() = ((a >= Scalar(0)).select(Scalar(1) / (Scalar(1) + e), e / (Scalar(1) + e)) - x) * inv_B;
  });
}

// =============================================================================================
// The conditional VAE
// =============================================================================================
struct CvaeConfig {
  Index input = 784, classes = 10, hidden = 400, latent = 20;
  double beta = 1.0;  // the KL's weight (chapter 9); 1 gives -ELBO
};

template <class Scalar>
struct Cvae {
  CvaeConfig config;
  nn::Sequential<Scalar> encoder, decoder;
  Mat<Scalar> E, Eps, Z, A, dA, dE;   // E = [mu; log_var] (2L x B), A = logits (D x B)
  Vec<Scalar> reconstruction, kl;     // per image: -log p(x|z,y) and KL(q || N(0, I))

  Cvae() = default;
  Cvae(const CvaeConfig& c, Rng& rng) : config(c) {
    encoder.add(nn::Linear<Scalar>(c.input + c.classes, c.hidden, rng));
    encoder.add(nn::Activation::ReLU);
    encoder.add(nn::Linear<Scalar>(c.hidden, 2 * c.latent, rng));
    decoder.add(nn::Linear<Scalar>(c.latent + c.classes, c.hidden, rng));
    decoder.add(nn::Activation::ReLU);
    decoder.add(nn::Linear<Scalar>(c.hidden, c.input, rng));
  }
  Index latent() const { return config.latent; }
  auto mu() const { return E.topRows(config.latent); }
  auto log_var() const { return E.bottomRows(config.latent); }

  // q(z | x, y): E = [mu; log_var] for the columns of X (D x B) and Y (C x B, one-hot).
  void encode(const Mat<Scalar>& X, const Mat<Scalar>& Y) { E = encoder.forward(stack_rows(X, Y)); }
  // The logits of p(x | z, y).
  const Mat<Scalar>& decode(const Mat<Scalar>& Zin, const Mat<Scalar>& Y) { return decoder.forward(stack_rows(Zin, Y)); }
  Mat<Scalar> decode_mean(const Mat<Scalar>& Zin, const Mat<Scalar>& Y) {
    return decode(Zin, Y).unaryExpr([](Scalar a) { return nn::sigmoid(a); });
  }

  // The batch loss (1/B) sum_b [ -log p(x_b | z_b, y_b) + KL_b ], z = mu + sigma .* eps with eps
  // (L x B) given: a deterministic function of the parameters (eq. 12.2).
  Scalar forward(const Mat<Scalar>& X, const Mat<Scalar>& Y, const Mat<Scalar>& eps) {
    encode(X, Y);
    Eps = eps;
    Z = mu() + (Scalar(0.5) * log_var().array()).exp().matrix().cwiseProduct(eps);
    A = decode(Z, Y);
    kl = ch08::kl_to_standard_normal<Scalar>(mu(), log_var());
    bernoulli_loss_columns(A, X, reconstruction, dA);
    return (reconstruction.sum() + Scalar(config.beta) * kl.sum()) / Scalar(X.cols());
  }

  // Adds the gradient of the last forward()'s batch loss into every parameter's gradient.
  void backward() {
    const Index L = config.latent, B = Z.cols();
    const Scalar kl_scale = Scalar(config.beta) / Scalar(B);  // the KL term's weight in the batch mean
    // The decoder's input gradient: the top L rows are dl/dz (the label's rows are not trained).
    const Mat<Scalar> dZ = decoder.backward(dA).topRows(L);
    // Through z = mu + exp(lv / 2) eps, plus the KL's own gradient (chapter 8's eq. 8.4).
    dE.resize(2 * L, B);
    const auto lv = log_var().array();
    dE.topRows(L) = dZ + kl_scale * mu();
    dE.bottomRows(L).array() =
        dZ.array() * Eps.array() * (Scalar(0.5) * lv).exp() * Scalar(0.5) + (Scalar(0.5) * kl_scale) * (lv.exp() - Scalar(1));
    encoder.backward(dE, false);
  }

  void zero_grad() {
    encoder.zero_grad();
    decoder.zero_grad();
  }
  std::vector<Param<Scalar>> parameters() {
    std::vector<Param<Scalar>> p = encoder.parameters("enc");
    decoder.collect(p, "dec");
    return p;
  }
};

// =============================================================================================
// The discrete VAE (Gumbel-softmax)
// =============================================================================================
struct DvaeConfig {
  Index input = 784, hidden = 400, groups = 30, classes = 10;
  bool straight_through = false;  // decode one_hot(argmax z~) and backpropagate through z~ (eq. 12.9)
  double beta = 1.0;              // the KL's weight; 1 gives -ELBO
};

template <class Scalar>
struct Dvae {
  DvaeConfig config;
  nn::Sequential<Scalar> encoder, decoder;
  Scalar tau = Scalar(1);
  Mat<Scalar> Theta, Ysoft, Yin, A, dA, dTheta;  // Theta, Ysoft, Yin: N K x B (group n in rows nK..nK+K-1)
  Vec<Scalar> reconstruction, kl;                // per image

  Dvae() = default;
  Dvae(const DvaeConfig& c, Rng& rng) : config(c) {
    const Index NK = c.groups * c.classes;
    encoder.add(nn::Linear<Scalar>(c.input, c.hidden, rng));
    encoder.add(nn::Activation::ReLU);
    encoder.add(nn::Linear<Scalar>(c.hidden, NK, rng));
    decoder.add(nn::Linear<Scalar>(NK, c.hidden, rng));
    decoder.add(nn::Activation::ReLU);
    decoder.add(nn::Linear<Scalar>(c.hidden, c.input, rng));
  }
  Index code_size() const { return config.groups * config.classes; }

  // The logits logits of q(z|x) for the columns of X.
  const Mat<Scalar>& encode(const Mat<Scalar>& X) { return Theta = encoder.forward(X); }
  // q(z|x): softmax of each group of logits (N K x B).
  Mat<Scalar> posterior() const { return group_softmax(Theta, Scalar(1)); }
  const Mat<Scalar>& decode(const Mat<Scalar>& Code) { return decoder.forward(Code); }
  Mat<Scalar> decode_mean(const Mat<Scalar>& Code) {
    return decode(Code).unaryExpr([](Scalar a) { return nn::sigmoid(a); });
  }

  // softmax(V / t) of each group of K rows, column by column.
  Mat<Scalar> group_softmax(const Mat<Scalar>& V, Scalar t) const {
    const Index K = config.classes;
    Mat<Scalar> S(V.rows(), V.cols());
    nn::for_columns(V.cols(), [&](Index j) {
      for (Index n = 0; n < config.groups; ++n) {
        const auto v = V.col(j).segment(n * K, K).array() / t;
        const Eigen::Array<Scalar, Eigen::Dynamic, 1> e = (v - v.maxCoeff()).exp();
        S.col(j).segment(n * K, K) = (e / e.sum()).matrix();
      }
    });
    return S;
  }
  // one_hot(argmax) of each group.
  Mat<Scalar> group_one_hot(const Mat<Scalar>& V) const {
    const Index K = config.classes;
    Mat<Scalar> H = Mat<Scalar>::Zero(V.rows(), V.cols());
    for (Index j = 0; j < V.cols(); ++j)
      for (Index n = 0; n < config.groups; ++n) {
        Index k = 0;
        V.col(j).segment(n * K, K).maxCoeff(&k);
        H(n * K + k, j) = Scalar(1);
      }
    return H;
  }

  // KL(q || uniform) per image, summed over the groups (eq. 12.6), from the logits (stable).
  Vec<Scalar> kl_to_uniform(const Mat<Scalar>& T) const {
    const Index K = config.classes;
    Vec<Scalar> out(T.cols());
    for (Index j = 0; j < T.cols(); ++j) {
      Scalar s = 0;
      for (Index n = 0; n < config.groups; ++n) {
        const auto t = T.col(j).segment(n * K, K).array();
        const Scalar lse = t.maxCoeff() + std::log((t - t.maxCoeff()).exp().sum());
        const auto log_q = t - lse;
        s += (log_q.exp() * log_q).sum() + std::log(Scalar(K));
      }
      out(j) = s;
    }
    return out;
  }

  // The batch loss (1/B) sum_b [ -log p(x_b | y_b) + KL(q_b || uniform) ] with the relaxed sample
  // z~ = softmax((logits + G) / tau) (or its one-hot, straight-through) for Gumbel noise G (N K x B):
  // a deterministic function of the parameters at fixed G (eq. 12.10).
  Scalar forward(const Mat<Scalar>& X, const Mat<Scalar>& G, Scalar temperature) {
    tau = temperature;
    encode(X);
    Ysoft = group_softmax(Theta + G, tau);
    Yin = config.straight_through ? group_one_hot(Ysoft) : Ysoft;
    A = decode(Yin);
    kl = kl_to_uniform(Theta);
    bernoulli_loss_columns(A, X, reconstruction, dA);
    return (reconstruction.sum() + Scalar(config.beta) * kl.sum()) / Scalar(X.cols());
  }

  // The discrete model's ELBO estimate per image: the decoder sees the one-hot Gumbel-max sample
  // z = one_hot(argmax(logits + G)) ~ q (eq. 12.3), so -reconstruction - kl is an unbiased estimate
  // of E_q[log p(x|z)] - KL(q || p), whatever tau was used in training.
  Vec<Scalar> discrete_elbo(const Mat<Scalar>& X, const Mat<Scalar>& G) {
    encode(X);
    A = decode(group_one_hot(Theta + G));
    kl = kl_to_uniform(Theta);
    Mat<Scalar> unused;
    bernoulli_loss_columns(A, X, reconstruction, unused);
    return -(reconstruction + kl);
  }

  // Adds the gradient of the last forward()'s batch loss into every parameter's gradient.
  void backward() {
    const Index K = config.classes, B = Theta.cols();
    const Scalar kl_scale = Scalar(config.beta) / Scalar(B);  // the KL term's weight in the batch mean
    const Mat<Scalar>& dY = decoder.backward(dA);
    dTheta.resize(Theta.rows(), B);
    nn::for_columns(B, [&](Index j) {
      for (Index n = 0; n < config.groups; ++n) {
        const auto y = Ysoft.col(j).segment(n * K, K).array();
        const auto v = dY.col(j).segment(n * K, K).array();
        // The Gumbel-softmax Jacobian, J^T v = (z~ .* v - z~ (z~ . v)) / tau (eq. 12.8) ...
        auto d = dTheta.col(j).segment(n * K, K).array();
        d = (y * v - y * (y * v).sum()) / tau;
        // ... plus the categorical KL's gradient, d/dtheta_j sum_k q_k log q_k = q_j (log q_j - sum_k q_k log q_k).
        const auto t = Theta.col(j).segment(n * K, K).array();
        const Scalar lse = t.maxCoeff() + std::log((t - t.maxCoeff()).exp().sum());
        const Eigen::Array<Scalar, Eigen::Dynamic, 1> log_q = t - lse, q = log_q.exp();
        d += kl_scale * q * (log_q - (q * log_q).sum());
      }
    });
    encoder.backward(dTheta, false);
  }

  void zero_grad() {
    encoder.zero_grad();
    decoder.zero_grad();
  }
  std::vector<Param<Scalar>> parameters() {
    std::vector<Param<Scalar>> p = encoder.parameters("enc");
    decoder.collect(p, "dec");
    return p;
  }
};

// Jang et al.'s schedule: tau = max(tau_min, tau_0 exp(-rate * step)).
inline double annealed_temperature(double tau0, double tau_min, double rate, long step) {
  return std::max(tau_min, tau0 * std::exp(-rate * double(step)));
}

}  // namespace course::ch12
