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
// Speed: every matrix product is split into a FIXED number of row blocks, one OpenMP task each
// (parallel_product below), and every elementwise pass works column by column. The partition
// never depends on the thread count, so each number is computed by the same operations in the same
// order with 1 or 2 threads: training is bitwise reproducible across --threads.
#pragma once

#include <omp.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "course/data.hpp"
#include "course/nn.hpp"
#include "course/optim.hpp"
#include "course/rng.hpp"
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
// Thread-count independent matrix products: C = A * B with C split into a fixed set of row blocks.
// =============================================================================================

// The row blocks of an m-row result: at most 4 blocks of a multiple of 8 rows (SIMD-friendly). Each
// block packs the right-hand factor again, so fewer blocks waste less; 4 keeps 2 threads busy.
inline Index row_block(Index m) { return std::max<Index>(8, ((m + 3) / 4 + 7) / 8 * 8); }

// C(rows) = A(rows, :) * B (or += when accumulate), block by block in parallel. `A_rows(r, h)`
// returns the h rows of A starting at r (an Eigen expression: a block or a transposed block).
template <class Scalar, class ARows, class BExpr>
void parallel_product(Mat<Scalar>& C, const ARows& A_rows, const BExpr& B, bool accumulate) {
  const Index m = C.rows(), block = row_block(m), blocks = (m + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1)
  for (Index k = 0; k < blocks; ++k) {
    const Index r = k * block, h = std::min(block, m - r);
    if (accumulate)
      C.middleRows(r, h).noalias() += A_rows(r, h) * B;
    else
      C.middleRows(r, h).noalias() = A_rows(r, h) * B;
  }
}

// Y = W X + b, then the activation (relu when `relu`), in place.
template <class Scalar>
void linear_forward(const nn::Linear<Scalar>& layer, const Mat<Scalar>& X, Mat<Scalar>& Y, bool relu) {
  Y.resize(layer.out(), X.cols());
  const Index m = Y.rows(), block = row_block(m), blocks = (m + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1)
  for (Index k = 0; k < blocks; ++k) {
    const Index r = k * block, h = std::min(block, m - r);
    auto Yk = Y.middleRows(r, h);
    Yk.noalias() = layer.W.middleRows(r, h) * X;
    Yk.colwise() += layer.b.segment(r, h);
    if (relu) Yk = Yk.cwiseMax(Scalar(0));
  }
}

// dW = dY X^T, db = dY 1 (row blocks of dW), and dX = W^T dY unless dX is null. The gradients are
// written, not accumulated: no zeroing pass is needed.
template <class Scalar>
void linear_backward(nn::Linear<Scalar>& layer, const Mat<Scalar>& X, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
  parallel_product(layer.dW, [&](Index r, Index h) { return dY.middleRows(r, h); }, X.transpose(), false);
  layer.db = dY.rowwise().sum();
  if (dX) {
    dX->resize(layer.in(), dY.cols());
    parallel_product(*dX, [&](Index r, Index h) { return layer.W.middleCols(r, h).transpose(); }, dY, false);
  }
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

  // Writes the gradient of the last forward()'s batch loss into every parameter's gradient.
  void backward(const Mat<Scalar>& X);

  void zero_grad();
  std::vector<Param<Scalar>> parameters();

  // log p(x|z) for each column of Zs (k samples of one image x, already decoded into A).
  Vec<Scalar> log_likelihood_of(const Eigen::Ref<const Vec<Scalar>>& x) const;
};

template <class Scalar>
void Vae<Scalar>::encode(const Mat<Scalar>& X) {
  linear_forward(enc1, X, H1, true);
  linear_forward(enc2, H1, E, false);
}

template <class Scalar>
void Vae<Scalar>::decode(const Mat<Scalar>& Zin) {
  linear_forward(dec1, Zin, H3, true);
  linear_forward(dec2, H3, A, false);
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
#pragma omp parallel for schedule(static)
    for (Index j = 0; j < B; ++j) {
      const auto a = A.col(j).array();
      const auto x = X.col(j).array();
      const Eigen::Array<Scalar, Eigen::Dynamic, 1> e = (-a.abs()).exp();
      reconstruction(j) = (a.cwiseMax(Scalar(0)) + e.log1p() - x * a).sum();
      dA.col(j).array() = ((a >= Scalar(0)).select(Scalar(1) / (Scalar(1) + e), e / (Scalar(1) + e)) - x) * inv_B;
    }
  } else {
    // -log p(x|z) = 1/2 sum_i [ (x_i - a_i)^2 / s2 + log s2 + log 2 pi ];  d/da = (a - x) / s2
    const Scalar inv_s2 = std::exp(-log_noise_var);
    const Scalar constant = Scalar(0.5) * Scalar(X.rows()) * (log_noise_var + Scalar(std::log(2 * std::numbers::pi)));
#pragma omp parallel for schedule(static)
    for (Index j = 0; j < B; ++j) {
      reconstruction(j) = Scalar(0.5) * inv_s2 * (X.col(j) - A.col(j)).squaredNorm() + constant;
      dA.col(j) = (A.col(j) - X.col(j)) * (inv_s2 * inv_B);
    }
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
    d_log_noise_var = Scalar(0.5) * (Scalar(X.rows()) * Scalar(B) - sq * std::exp(-log_noise_var)) * inv_B;
  }
  linear_backward(dec2, H3, dA, &dH3);
  dH3 = (H3.array() > Scalar(0)).select(dH3, Scalar(0));
  linear_backward(dec1, Z, dH3, &dZ);
  // Through z = mu + exp(lv / 2) eps, plus beta times the KL's own gradient (8.4):
  //   dl/dmu = dl/dz + beta mu,   dl/dlv = dl/dz .* eps .* exp(lv / 2) / 2 + beta (exp(lv) - 1) / 2.
  dE.resize(2 * L, B);
  const auto lv = log_var().array();
  dE.topRows(L) = dZ + (beta * inv_B) * mu();
  dE.bottomRows(L).array() = dZ.array() * Eps.array() * (Scalar(0.5) * lv).exp() * Scalar(0.5) +
                             (Scalar(0.5) * beta * inv_B) * (lv.exp() - Scalar(1));
  linear_backward(enc2, H1, dE, &dH1);
  dH1 = (H1.array() > Scalar(0)).select(dH1, Scalar(0));
  linear_backward(enc1, X, dH1, static_cast<Mat<Scalar>*>(nullptr));
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

// One epoch of Adam over `images` in shuffled minibatches; eps for batch k is drawn from
// Rng(seed, k) so the run is the same for any thread count. `on_batch(k, loss)` sees each loss
// (course::require_finite_loss goes there). Returns the mean batch loss. `beta_of(k)` may anneal
// the KL weight within the epoch.
// Adam exactly as course::Adam and torch.optim.Adam (bias-corrected), but one fused pass over each
// parameter block split into fixed blocks of 4096 numbers run in parallel: the optimiser step is
// memory-bound, and one thread cannot stream the 2.6 MB of parameters, moments and gradients
// fast enough. Elementwise on a fixed partition, so the result does not depend on the thread count.
template <class Scalar>
class ParallelAdam {
 public:
  ParallelAdam(std::vector<Param<Scalar>> params, Scalar lr, Scalar beta1 = Scalar(0.9),
               Scalar beta2 = Scalar(0.999), Scalar eps = Scalar(1e-8))
      : params_(std::move(params)), lr_(lr), b1_(beta1), b2_(beta2), eps_(eps) {
    for (const auto& p : params_) {
      m_.emplace_back(Vec<Scalar>::Zero(p.size));
      v_.emplace_back(Vec<Scalar>::Zero(p.size));
    }
  }
  void step() {
    ++t_;
    const Scalar c1 = Scalar(1) - Scalar(std::pow(double(b1_), double(t_)));
    const Scalar c2 = Scalar(1) - Scalar(std::pow(double(b2_), double(t_)));
    const Scalar step = lr_ / c1, inv_sqrt_c2 = Scalar(1) / std::sqrt(c2);
    const Scalar b1 = b1_, b2 = b2_, a1 = Scalar(1) - b1_, a2 = Scalar(1) - b2_, eps = eps_;
    for (std::size_t k = 0; k < params_.size(); ++k) {
      Scalar* theta = params_[k].value;
      const Scalar* g = params_[k].grad;
      Scalar* m = m_[k].data();
      Scalar* v = v_[k].data();
      const Index n = params_[k].size, block = 4096, blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(static) if (blocks > 1)
      for (Index b = 0; b < blocks; ++b) {
        const Index end = std::min(n, (b + 1) * block);
        for (Index i = b * block; i < end; ++i) {
          m[i] = b1 * m[i] + a1 * g[i];
          v[i] = b2 * v[i] + a2 * g[i] * g[i];
          theta[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
        }
      }
    }
  }
  long steps() const { return t_; }

 private:
  std::vector<Param<Scalar>> params_;
  std::vector<Vec<Scalar>> m_, v_;
  Scalar lr_, b1_, b2_, eps_;
  long t_ = 0;
};

template <class Scalar, class Images, class OnBatch>
double train_epoch(Vae<Scalar>& vae, ParallelAdam<Scalar>& adam, const Images& images, Index batch_size,
                   std::uint64_t seed, OnBatch on_batch) {
  Rng shuffle_rng(seed, 0xABCD);
  const Minibatches batches(images.size(), batch_size, shuffle_rng);
  double total = 0;
  Mat<Scalar> X;
  for (Index k = 0; k < batches.count(); ++k) {
    X = images.template batch<Scalar>(batches.indices(k), batches.size(k));
    Rng rng(seed, std::uint64_t(k));
    const Mat<Scalar> eps = rng.normal_matrix<Scalar>(vae.latent(), X.cols());
    const Scalar loss = vae.forward(X, eps);
    on_batch(k, double(loss));
    vae.backward(X);
    adam.step();
    total += double(loss);
  }
  return total / double(batches.count());
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
