// Chapter 4 model code: a one-hidden-layer autoencoder whose code is regularised by a KL sparsity
// penalty (eq. 4.1), an L1 penalty (eq. 4.4) or inverted dropout (eq. 4.6), and its training loop.
// Templated on Scalar: the checks run it in double, the chapter program trains it in float.
// Shared by main.cpp, checks.hpp and the tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch04_sparse_dropout_ae.hpp"
#include "course/nn.hpp"
#include "course/sequential.hpp"
#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch04 {

// What regularises the code H (k x B).
struct Regulariser {
  enum class Kind { None, KL, L1 };
  Kind kind = Kind::None;
  double rho = 0.05, beta = 0.0;  // KL: P = beta sum_j KL(rho || rho_hat_j)        (eq. 4.1)
  double lambda = 0.0;            // L1: P = (lambda / B) sum_ji |h_ji|              (eq. 4.4)
  double drop_rate = 0.0;         // inverted dropout on the code while training    (eq. 4.6)
};

// The L1 penalty (lambda / B) sum_ji |h_ji| of eq. 4.4 (its subgradient is exercise 4.3).
double l1_penalty(const MatD& H, double lambda);

// The penalty P(H) of a regulariser, in double.
double code_penalty(const Regulariser& reg, const MatD& H);

// x (d) -> Z = W_enc x + b_enc (k) -> H = f(Z) -> [dropout S .* H] -> X_hat = W_dec H + b_dec (d).
// The objective of a batch X (d x B) is  L = 1/(2B) ||X_hat - X||_F^2 + P(H).
// The encoder (x -> Z) and the decoder are nn::Sequentials of the layer stack; the code's
// activation, the dropout and the penalties' gradients are the chapter's subject, so
// forward_backward writes them out between the two.
template <class Scalar>
struct OneLayerAe {
  using M = Mat<Scalar>;
  nn::Sequential<Scalar> encoder, decoder;
  nn::Activation code = nn::Activation::Sigmoid;

  OneLayerAe() = default;
  OneLayerAe(Index d, Index k, nn::Activation code_activation, Rng& rng) : code(code_activation) {
    encoder.add(nn::Linear<Scalar>(d, k, rng));
    decoder.add(nn::Linear<Scalar>(k, d, rng));
  }
  // The two dense layers: W_enc, b_enc and W_dec, b_dec (with their gradients dW, db).
  nn::Linear<Scalar>& enc() { return encoder.template at<nn::Linear<Scalar>>(0); }
  nn::Linear<Scalar>& dec() { return decoder.template at<nn::Linear<Scalar>>(0); }
  const nn::Linear<Scalar>& enc() const { return encoder.template at<nn::Linear<Scalar>>(0); }
  const nn::Linear<Scalar>& dec() const { return decoder.template at<nn::Linear<Scalar>>(0); }

  // Test-time passes through the layers themselves (no Sequential cache), so that a Monte Carlo
  // check may call them from several threads at once.
  M encode(const M& X) const { return nn::activation_forward(code, enc().forward(X)); }
  M reconstruct(const M& X) const { return dec().forward(encode(X)); }

  struct Losses {
    double reconstruction = 0.0, penalty = 0.0;
    double total() const { return reconstruction + penalty; }
  };

  // The objective L of batch X without touching the gradients (no dropout: the test-time network).
  Losses loss(const M& X, const Regulariser& reg) const {
    const M H = encode(X);
    return {double(nn::mse_loss<Scalar>(dec().forward(H), X)), code_penalty(reg, H.template cast<double>())};
  }

  // One forward and backward pass: accumulates dJ/dtheta into the layers' gradients. With
  // reg.drop_rate > 0 and an rng, the decoder sees S .* H with S from inverted_dropout_mask; the
  // penalty is always on the undropped code H.
  Losses forward_backward(const M& X, const Regulariser& reg, Rng* rng = nullptr) {
    const M& Z = encoder.forward(X);
    const M H = nn::activation_forward(code, Z);
    const MatD Hd = H.template cast<double>();
    const bool dropout = reg.drop_rate > 0.0 && rng != nullptr;
    M S;
    if (dropout) S = inverted_dropout_mask(H.rows(), H.cols(), reg.drop_rate, *rng).template cast<Scalar>();
    const M Hin = dropout ? M(S.cwiseProduct(H)) : H;
    const M& Y = decoder.forward(Hin);
    const Losses losses{double(nn::mse_loss<Scalar>(Y, X)), code_penalty(reg, Hd)};

    // Backward, top to bottom: reconstruction, dropout, L1 on H, activation, KL on Z, encoder.
    M dH = decoder.backward(nn::mse_backward<Scalar>(Y, X));  // dJ/d(S .* H)
    if (dropout) dH = dH.cwiseProduct(S);
    if (reg.kind == Regulariser::Kind::L1) dH += l1_subgradient(Hd, reg.lambda).template cast<Scalar>();
    M dZ = nn::activation_backward(code, Z, H, dH);
    if (reg.kind == Regulariser::Kind::KL) dZ += kl_sparsity_gradient(reg.rho, Hd, reg.beta).template cast<Scalar>();
    encoder.backward(dZ, false);
    return losses;
  }

  void zero_grad() {
    encoder.zero_grad();
    decoder.zero_grad();
  }
  std::vector<Param<Scalar>> params() {
    std::vector<Param<Scalar>> p = encoder.parameters("enc");
    decoder.collect(p, "dec");
    return p;
  }
};

// ---------------------------------------------------------------------------------------------
// Training with Adam on a d x n data matrix, in minibatches.
// ---------------------------------------------------------------------------------------------
struct TrainConfig {
  Index hidden = 100;
  nn::Activation code = nn::Activation::Sigmoid;
  Regulariser reg;
  int epochs = 5;
  Index batch = 128;
  double lr = 1e-3;
  std::uint64_t seed = 1;
};

template <class Scalar>
struct TrainedAe {
  OneLayerAe<Scalar> ae;
  std::vector<double> epoch_loss;  // mean training objective L per epoch
  double seconds = 0.0;
};

// Columns idx[0..count) of X.
template <class Scalar>
Mat<Scalar> gather_columns(const Mat<Scalar>& X, const Index* idx, Index count) {
  Mat<Scalar> B(X.rows(), count);
  for (Index j = 0; j < count; ++j) B.col(j) = X.col(idx[j]);
  return B;
}

// Trains from a seeded start through the course's training loop (course/train.hpp); prints
// progress under the name `what` when `log` is given. Batch k of epoch e draws its dropout masks
// from the batch's own stream, so the run is the same for any thread count.
template <class Scalar>
TrainedAe<Scalar> train_ae(const Mat<Scalar>& X, const TrainConfig& cfg, std::ostream* log = nullptr,
                           const std::string& what = "AE") {
  Rng init(cfg.seed);
  TrainedAe<Scalar> t{OneLayerAe<Scalar>(X.rows(), cfg.hidden, cfg.code, init), {}, 0.0};
  Adam<Scalar> adam(t.ae.params(), Scalar(cfg.lr));
  TrainOptions opt;
  opt.epochs = cfg.epochs;
  opt.batch = cfg.batch;
  opt.seed = cfg.seed;
  opt.what = what;
  opt.progress = log;
  const TrainLog trained = train_minibatches(X.cols(), adam, opt, [&](const Minibatch& b) {
    Rng dropout = b.rng();
    return t.ae.forward_backward(gather_columns(X, b.indices, b.size), cfg.reg, &dropout).total();
  }, [](int, double mean) { return "objective " + std::to_string(mean); });
  t.epoch_loss = trained.epoch_loss;
  t.seconds = trained.seconds;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (test time: no dropout; inverted dropout needs no rescaling at test time).
// ---------------------------------------------------------------------------------------------

// Mean squared reconstruction error per sample, (1/n) sum_i ||x_hat_i - x_i||^2.
template <class Scalar>
double reconstruction_error(const OneLayerAe<Scalar>& ae, const Mat<Scalar>& X, Index chunk = 2000) {
  double sum = 0.0;
  for (Index c = 0; c < X.cols(); c += chunk) {
    const Index m = std::min(chunk, X.cols() - c);
    const Mat<Scalar> Xc = X.middleCols(c, m);
    sum += double((ae.reconstruct(Xc) - Xc).squaredNorm());
  }
  return sum / double(X.cols());
}

// rho_hat_j over all of X: the mean activation of each hidden unit (k).
template <class Scalar>
VecD mean_activation(const OneLayerAe<Scalar>& ae, const Mat<Scalar>& X, Index chunk = 2000) {
  VecD sum = VecD::Zero(ae.enc().out());
  for (Index c = 0; c < X.cols(); c += chunk) {
    const Index m = std::min(chunk, X.cols() - c);
    sum += ae.encode(X.middleCols(c, m)).template cast<double>().rowwise().sum();
  }
  return sum / double(X.cols());
}

}  // namespace course::ch04
