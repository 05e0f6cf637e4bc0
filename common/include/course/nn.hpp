// Neural-network layers as forward/backward pairs, templated on Scalar (double in checks, float in
// training). A batch is a matrix with one sample per column; shapes are given as rows x cols.
// Losses are summed over the dimensions of a sample and averaged over the batch.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "course/optim.hpp"
#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::nn {

// =============================================================================================
// Linear: Y = W X + b
// =============================================================================================
template <class Scalar>
struct Linear {
  Mat<Scalar> W;   // out x in
  Vec<Scalar> b;   // out
  Mat<Scalar> dW;  // out x in, accumulated by backward
  Vec<Scalar> db;  // out

  Linear() = default;
  // PyTorch's default initialisation: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
  Linear(Index in, Index out, Rng& rng) : W(out, in), b(out) {
    const double a = 1.0 / std::sqrt(double(in));
    W = rng.uniform_matrix<Scalar>(out, in, -a, a);
    b = rng.uniform_matrix<Scalar>(out, 1, -a, a);
    zero_grad();
  }
  Index in() const { return W.cols(); }
  Index out() const { return W.rows(); }

  // X: in x B  ->  Y: out x B.
  Mat<Scalar> forward(const Mat<Scalar>& X) const { return (W * X).colwise() + b; }

  // X: in x B, dY = dL/dY: out x B. Accumulates dW += dY X^T, db += dY 1; returns dX = W^T dY.
  Mat<Scalar> backward(const Mat<Scalar>& X, const Mat<Scalar>& dY) {
    dW.noalias() += dY * X.transpose();
    db += dY.rowwise().sum();
    return W.transpose() * dY;
  }
  void zero_grad() {
    dW.setZero(W.rows(), W.cols());
    db.setZero(b.size());
  }
  // The parameters and their gradients, for an optimiser.
  void collect(std::vector<Param<Scalar>>& params, const std::string& name) {
    params.push_back({W.data(), dW.data(), W.size(), name + ".W"});
    params.push_back({b.data(), db.data(), b.size(), name + ".b"});
  }
};

// =============================================================================================
// Activations: H = f(Z) elementwise; backward takes Z (or H) and dH, returns dZ.
// =============================================================================================
enum class Activation { Identity, ReLU, Sigmoid, Tanh };

Activation parse_activation(const std::string& name);  // "identity", "relu", "sigmoid", "tanh"
std::string to_string(Activation a);

// Numerically stable logistic function 1 / (1 + exp(-z)).
template <class Scalar>
Scalar sigmoid(Scalar z) {
  if (z >= 0) return Scalar(1) / (Scalar(1) + std::exp(-z));
  const Scalar e = std::exp(z);
  return e / (Scalar(1) + e);
}

template <class Scalar>
Mat<Scalar> activation_forward(Activation a, const Mat<Scalar>& Z) {
  switch (a) {
    case Activation::ReLU: return Z.cwiseMax(Scalar(0));
    case Activation::Sigmoid: return Z.unaryExpr([](Scalar z) { return sigmoid(z); });
    case Activation::Tanh: return Z.array().tanh().matrix();
    case Activation::Identity: break;
  }
  return Z;
}

// dZ = f'(Z) .* dH, where H = f(Z) is passed too so sigmoid and tanh need not recompute it:
// relu' = [Z > 0], sigmoid' = H (1 - H), tanh' = 1 - H^2.
template <class Scalar>
Mat<Scalar> activation_backward(Activation a, const Mat<Scalar>& Z, const Mat<Scalar>& H,
                                const Mat<Scalar>& dH) {
  switch (a) {
    case Activation::ReLU: return (Z.array() > Scalar(0)).select(dH, Scalar(0));
    case Activation::Sigmoid: return (dH.array() * H.array() * (Scalar(1) - H.array())).matrix();
    case Activation::Tanh: return (dH.array() * (Scalar(1) - H.array().square())).matrix();
    case Activation::Identity: break;
  }
  return dH;
}

// =============================================================================================
// Losses (sum over dimensions, mean over the batch of B columns)
// =============================================================================================

// L = 1/(2B) ||Y - T||_F^2, the lecture's E(w) = 1/(2N) sum_n ||y(x_n) - x_n||^2.
template <class Scalar>
Scalar mse_loss(const Mat<Scalar>& Y, const Mat<Scalar>& T) {
  return Scalar(0.5) * (Y - T).squaredNorm() / Scalar(Y.cols());
}
// dL/dY = (Y - T) / B.
template <class Scalar>
Mat<Scalar> mse_backward(const Mat<Scalar>& Y, const Mat<Scalar>& T) {
  return (Y - T) / Scalar(Y.cols());
}

// Binary cross-entropy of targets T in [0, 1] against probabilities sigmoid(Z), from the logits Z:
//   L = 1/B sum_ij [ softplus(z_ij) - t_ij z_ij ],   softplus(z) = max(z, 0) + log1p(exp(-|z|)),
// which equals -1/B sum [t log s + (1 - t) log(1 - s)] without ever forming log(0).
template <class Scalar>
Scalar bce_with_logits_loss(const Mat<Scalar>& Z, const Mat<Scalar>& T) {
  const auto z = Z.array();
  const auto softplus = z.cwiseMax(Scalar(0)) + (-z.abs()).exp().log1p();
  return (softplus - T.array() * z).sum() / Scalar(Z.cols());
}
// dL/dZ = (sigmoid(Z) - T) / B.
template <class Scalar>
Mat<Scalar> bce_with_logits_backward(const Mat<Scalar>& Z, const Mat<Scalar>& T) {
  return (Z.unaryExpr([](Scalar z) { return sigmoid(z); }) - T) / Scalar(Z.cols());
}

}  // namespace course::nn
