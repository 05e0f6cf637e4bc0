// The variational autoencoder of chapter 8 (docs/08-vae.md), reused by chapter 9 (beta-VAE).
//
//   encoder  h1 = relu(W1 x + b1)                    x: D, h1: H
//            [mu; log_var] = W2 h1 + b2              mu, log_var: L     q(z|x) = N(mu, diag exp(log_var))
//   sample   z = mu + exp(log_var / 2) .* eps        eps ~ N(0, I)      (8.1, the reparameterization)
//   decoder  h3 = relu(W3 z + b3),  a = W4 h3 + b4   a: D   Bernoulli: p(x|z) = prod sigmoid(a)^x (1-sigmoid(a))^(1-x)
//                                                         Gaussian:  p(x|z) = N(a, exp(log_noise_var) I)
//   loss     l(x) = -log p(x|z) + beta KL(q(z|x) || N(0, I))            (8.2, 8.3; beta = 1: -ELBO)
//
// A batch is a D x B matrix (one image per column); the batch loss is the mean of l over the B
// columns. Templated on Scalar: the gradient checks run in double, training in float.
//
// Speed: the layers are the course's stack (course/nn.hpp): every matrix product is split into a
// FIXED number of row blocks, and every elementwise pass works column by column. The partition
// never depends on the thread count, so each number is computed by the same operations in the same
// order with 1 or 2 threads: training is bitwise reproducible across --threads. The gradient
// convention is the stack's: backward() accumulates, so zero_grad() (or the optimiser's) comes
// first in every step.
#pragma once

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "course/data.hpp"
#include "course/nn.hpp"
#include "course/optim.hpp"
#include "course/rng.hpp"
#include "course/train.hpp"
#include "course/types.hpp"

namespace course::ch08 {

// =============================================================================================
// The closed-form KL of a diagonal Gaussian against N(0, I), per column (eq. 8.2):
//   KL(N(mu, diag exp(lv)) || N(0, I)) = 1/2 sum_j (mu_j^2 + exp(lv_j) - 1 - lv_j).
// (Chapter 6 derives it as kl_diag_std_normal; this is the batched copy the VAE trains with.)
// =============================================================================================
template <class Scalar>
Vec<Scalar> kl_to_standard_normal(const Mat<Scalar>& mu, const Mat<Scalar>& log_var) {
  return (Scalar(0.5) * (mu.array().square() + log_var.array().exp() - Scalar(1) - log_var.array()))
      .colwise()
      .sum()
      .transpose();
}

// =============================================================================================
// The model
// =============================================================================================
enum class Likelihood { Bernoulli, Gaussian };

struct VaeConfig {
  Index input = 784, hidden = 400, latent = 20;
  Likelihood likelihood = Likelihood::Bernoulli;
  double beta = 1.0;                 // KL weight (chapter 9); 1 gives -ELBO
  double log_noise_var = 0.0;        // Gaussian decoder: initial log sigma^2
  bool learn_noise = true;           // Gaussian decoder: learn log sigma^2 (else keep it fixed)
};

template <class Scalar>
struct Vae {
  VaeConfig config;
  nn::Linear<Scalar> enc1, enc2, dec1, dec2;   // fc1, [fc21; fc22], fc3, fc4 of the PyTorch example
  Scalar log_noise_var = 0, d_log_noise_var = 0;

  // What forward keeps for backward (all D x B or L x B, one column per image).
  Mat<Scalar> H1, E, Z, Eps, H3, A, dA, dH3, dZ, dE, dH1;
  Vec<Scalar> reconstruction, kl;  // per image: -log p(x|z) and KL(q || p)

  Vae() = default;
  Vae(const VaeConfig& c, Rng& rng)
      : config(c), enc1(c.input, c.hidden, rng), enc2(c.hidden, 2 * c.latent, rng),
        dec1(c.latent, c.hidden, rng), dec2(c.hidden, c.input, rng), log_noise_var(Scalar(c.log_noise_var)) {}

  Index latent() const { return config.latent; }
  auto mu() const { return E.topRows(config.latent); }
  auto log_var() const { return E.bottomRows(config.latent); }

  // Encoder only: fills H1 and E = [mu; log_var].
  void encode(const Mat<Scalar>& X);
  // Decoder only: A = logits (Bernoulli) or means (Gaussian) of p(x|z) for the columns of Zin.
  void decode(const Mat<Scalar>& Zin);
  // The decoder's mean image E[x|z]: sigmoid(a) or a.
  Mat<Scalar> decode_mean(const Mat<Scalar>& Zin);

  // The batch loss (1/B) sum_b [ -log p(x_b|z_b) + beta KL_b ] with z = mu + sigma .* eps (8.1).
  // eps (L x B) is given, so the loss is a deterministic function of the parameters (8.5).
  // Also leaves dA = dloss/da, ready for backward().
  Scalar forward(const Mat<Scalar>& X, const Mat<Scalar>& eps);

  // Adds the gradient of the last forward()'s batch loss into every parameter's gradient.
  void backward(const Mat<Scalar>& X);

  void zero_grad();
  std::vector<Param<Scalar>> parameters();

  // log p(x|z) for each column of Zs (k samples of one image x, already decoded into A).
  Vec<Scalar> log_likelihood_of(const Eigen::Ref<const Vec<Scalar>>& x) const;
};

template <class Scalar>
void Vae<Scalar>::encode(const Mat<Scalar>& X) {
  nn::linear_forward(enc1, X, H1, nn::Activation::ReLU);
  nn::linear_forward(enc2, H1, E);
}

template <class Scalar>
void Vae<Scalar>::decode(const Mat<Scalar>& Zin) {
  nn::linear_forward(dec1, Zin, H3, nn::Activation::ReLU);
  nn::linear_forward(dec2, H3, A);
}

template <class Scalar>
Mat<Scalar> Vae<Scalar>::decode_mean(const Mat<Scalar>& Zin) {
  decode(Zin);
  if (config.likelihood == Likelihood::Gaussian) return A;
  return A.unaryExpr([](Scalar a) { return nn::sigmoid(a); });
}

template <class Scalar>
Scalar Vae<Scalar>::forward(const Mat<Scalar>& X, const Mat<Scalar>& eps) {
  const Index L = config.latent, B = X.cols();
  encode(X);
  Eps = eps;
  Z = mu() + (Scalar(0.5) * log_var().array()).exp().matrix().cwiseProduct(eps);
  decode(Z);
  kl = kl_to_standard_normal<Scalar>(mu(), log_var());
  reconstruction.resize(B);
  dA.resize(A.rows(), B);
  const Scalar inv_B = Scalar(1) / Scalar(B);
  if (config.likelihood == Likelihood::Bernoulli) {
    // -log p(x|z) = sum_i softplus(a_i) - x_i a_i;  d/da = sigmoid(a) - x   (8.3)
    nn::for_columns(B, [&](Index j) {
      const auto a = A.col(j).array();
      const auto x = X.col(j).array();
      const Eigen::Array<Scalar, Eigen::Dynamic, 1> e = (-a.abs()).exp();
      reconstruction(j) = (a.cwiseMax(Scalar(0)) + e.log1p() - x * a).sum();
      dA.col(j).array() = ((a >= Scalar(0)).select(Scalar(1) / (Scalar(1) + e), e / (Scalar(1) + e)) - x) * inv_B;
    });
  } else {
    // -log p(x|z) = 1/2 sum_i [ (x_i - a_i)^2 / s2 + log s2 + log 2 pi ];  d/da = (a - x) / s2
    const Scalar inv_s2 = std::exp(-log_noise_var);
    const Scalar constant = Scalar(0.5) * Scalar(X.rows()) * (log_noise_var + Scalar(std::log(2 * std::numbers::pi)));
    nn::for_columns(B, [&](Index j) {
      reconstruction(j) = Scalar(0.5) * inv_s2 * (X.col(j) - A.col(j)).squaredNorm() + constant;
      dA.col(j) = (A.col(j) - X.col(j)) * (inv_s2 * inv_B);
    });
  }
  (void)L;
  return (reconstruction.sum() + Scalar(config.beta) * kl.sum()) * inv_B;
}

template <class Scalar>
void Vae<Scalar>::backward(const Mat<Scalar>& X) {
  const Index L = config.latent, B = X.cols();
  const Scalar inv_B = Scalar(1) / Scalar(B), beta = Scalar(config.beta);
  if (config.likelihood == Likelihood::Gaussian && config.learn_noise) {
    // d/d log s2 of (1/B) sum_j 1/2 [ ||x - a||^2 exp(-log s2) + D log s2 ]
    const Scalar sq = (X - A).squaredNorm();
    d_log_noise_var += Scalar(0.5) * (Scalar(X.rows()) * Scalar(B) - sq * std::exp(-log_noise_var)) * inv_B;
  }
  nn::linear_backward(dec2, H3, dA, &dH3);
  dH3 = (H3.array() > Scalar(0)).select(dH3, Scalar(0));
  nn::linear_backward(dec1, Z, dH3, &dZ);
  // Through z = mu + exp(lv / 2) eps, plus beta times the KL's own gradient (8.4):
  //   dl/dmu = dl/dz + beta mu,   dl/dlv = dl/dz .* eps .* exp(lv / 2) / 2 + beta (exp(lv) - 1) / 2.
  dE.resize(2 * L, B);
  const auto lv = log_var().array();
  dE.topRows(L) = dZ + (beta * inv_B) * mu();
  dE.bottomRows(L).array() = dZ.array() * Eps.array() * (Scalar(0.5) * lv).exp() * Scalar(0.5) +
                             (Scalar(0.5) * beta * inv_B) * (lv.exp() - Scalar(1));
  nn::linear_backward(enc2, H1, dE, &dH1);
  dH1 = (H1.array() > Scalar(0)).select(dH1, Scalar(0));
  nn::linear_backward(enc1, X, dH1, static_cast<Mat<Scalar>*>(nullptr));
}

template <class Scalar>
void Vae<Scalar>::zero_grad() {
  enc1.zero_grad();
  enc2.zero_grad();
  dec1.zero_grad();
  dec2.zero_grad();
  d_log_noise_var = 0;
}

template <class Scalar>
std::vector<Param<Scalar>> Vae<Scalar>::parameters() {
  std::vector<Param<Scalar>> p;
  enc1.collect(p, "enc1");
  enc2.collect(p, "enc2");
  dec1.collect(p, "dec1");
  dec2.collect(p, "dec2");
  if (config.likelihood == Likelihood::Gaussian && config.learn_noise)
    p.push_back({&log_noise_var, &d_log_noise_var, 1, "log_noise_var"});
  return p;
}

template <class Scalar>
Vec<Scalar> Vae<Scalar>::log_likelihood_of(const Eigen::Ref<const Vec<Scalar>>& x) const {
  Vec<Scalar> out(A.cols());
  for (Index j = 0; j < A.cols(); ++j) {
    const auto a = A.col(j).array();
    if (config.likelihood == Likelihood::Bernoulli)
      out(j) = -(a.cwiseMax(Scalar(0)) + (-a.abs()).exp().log1p() - x.array() * a).sum();
    else
      out(j) = -Scalar(0.5) * ((x - A.col(j)).squaredNorm() * std::exp(-log_noise_var) +
                               Scalar(x.size()) * (log_noise_var + Scalar(std::log(2 * std::numbers::pi))));
  }
  return out;
}


// The model is compiled once, in vae.cpp, for the three scalar types the course uses (float to
// train, double for the gradient checks, long double for their reference side); every other file
// only calls it. (Instantiated in each file, it was most of the compile time of chapters 8 and 9.)
extern template struct Vae<float>;
extern template struct Vae<double>;
extern template struct Vae<long double>;

// =============================================================================================
// Training helpers
// =============================================================================================

// The forward pass of minibatch `b` of the training loop: X = the batch's images (into `X`, which
// the backward pass needs), eps drawn from the batch's own stream b.rng(), and the batch loss.
template <class Scalar, class Images>
Scalar forward_minibatch(Vae<Scalar>& vae, const Images& images, const Minibatch& b, Mat<Scalar>& X) {
  X = images.template batch<Scalar>(b.indices, b.size);
  Rng rng = b.rng();
  const Mat<Scalar> eps = rng.normal_matrix<Scalar>(vae.latent(), X.cols());
  return vae.forward(X, eps);
}

// One epoch of Adam over `images` in shuffled minibatches: course::train_minibatches with
// seed `seed`, so batch k's eps is drawn from Rng(seed, k) and the run is the same for any thread
// count. `on_batch(k, loss)` sees each loss after the forward pass (a caller may change the KL
// weight for the next batch there). Returns the mean batch loss.
template <class Scalar, class Images, class OnBatch>
double train_epoch(Vae<Scalar>& vae, Adam<Scalar>& adam, const Images& images, Index batch_size,
                   std::uint64_t seed, OnBatch on_batch) {
  TrainOptions opt;
  opt.batch = batch_size;
  opt.seed = seed;
  opt.what = "VAE";
  Mat<Scalar> X;
  const TrainLog log = train_minibatches(images.size(), adam, opt, [&](const Minibatch& b) {
    const Scalar loss = forward_minibatch(vae, images, b, X);
    on_batch(b.index, double(loss));
    vae.backward(X);
    return double(loss);
  }, no_metrics);
  return log.epoch_loss.front();
}

// The mean over images of the ELBO estimated with one sample of z each (nats per image; beta is
// ignored: this is the true ELBO), computed in batches of 500.
template <class Scalar, class Images>
double mean_elbo(Vae<Scalar>& vae, const Images& images, std::uint64_t seed, Index count = -1) {
  const Index n = count < 0 ? images.size() : std::min(count, images.size()), batch = 500;
  double total = 0;
  for (Index first = 0, k = 0; first < n; first += batch, ++k) {
    const Index m = std::min(batch, n - first);
    const Mat<Scalar> X = images.template range<Scalar>(first, m);
    Rng rng(seed, std::uint64_t(k));
    vae.forward(X, rng.normal_matrix<Scalar>(vae.latent(), m));
    total -= double(vae.reconstruction.sum()) + double(vae.kl.sum());
  }
  return total / double(n);
}

// Active units (Burda et al. 2016): A_u = Cov_x(E_q[z_u | x]) = the variance over images of mu_u(x).
// A unit is active when A_u > 0.01.
template <class Scalar, class Images>
VecD activity(Vae<Scalar>& vae, const Images& images, Index count) {
  const Index n = std::min(count, images.size());
  vae.encode(images.template range<Scalar>(0, n));
  const MatD M = vae.mu().template cast<double>();
  const VecD mean = M.rowwise().mean();
  return (M.colwise() - mean).rowwise().squaredNorm() / double(n);
}
inline int count_active(const VecD& activity, double threshold = 0.01) {
  return int((activity.array() > threshold).count());
}

}  // namespace course::ch08
