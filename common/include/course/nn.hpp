// The course's layer stack: dense layers, activations and losses as forward/backward pairs, in the
// style of llm.c (shapes and formula in a comment above each pair), templated on Scalar (double in
// the checks, float in training). Convolutions are in course/conv.hpp, the composition of layers
// in course/sequential.hpp, Adam in course/optim.hpp, the training loop in course/train.hpp.
//
// Layout. A batch is a matrix with one sample per column; shapes are given as rows x cols, B is
// the batch size. An image sample is C x H x W stored in one column (channel-major, then rows,
// then columns), so a convolution's output feeds a Linear layer with no reshaping.
//
// THE GRADIENT CONVENTION (every layer of the stack follows it):
//   backward(...) ADDS dL/dtheta into the layer's gradient buffers (dW += ..., db += ...), and
//   WRITES dL/dX (the input gradient) into the output argument it is given.
//   So the gradients of a step are zeroed once (optimiser.zero_grad(), or the composition's
//   zero_grad()) before the step's forward/backward, and a parameter used twice in one step (a
//   tied weight, two passes through one layer) gets the sum of both contributions.
//
// Speed and reproducibility. Every matrix product goes through partitioned_product: the result is
// cut into a FIXED set of row blocks (row_block: never derived from the thread count), each block
// one single-threaded Eigen product, the blocks run by course::parallel::for_blocks. Each number is
// therefore computed by the same operations in the same order with 1 or N threads, and training
// is bitwise reproducible across --threads.
//
// Public names (stable): row_block, row_blocks, for_row_blocks, for_columns, partitioned_product,
// init_weights_and_bias, zero_weight_and_bias_grad, ensure_weight_and_bias_grad, collect_weight_and_bias,
// Linear, linear_forward, linear_backward,
// Activation (+ parse_activation, to_string), sigmoid, softplus, leaky_relu_slope,
// activation_forward, activation_backward, ActivationLayer, mse_loss, mse_backward,
// bce_with_logits_loss, bce_with_logits_backward.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "course/optim.hpp"
#include "course/parallel.hpp"
#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::nn {

// =============================================================================================
// The fixed partition of every product
// =============================================================================================

// The row blocks of an m-row result: at most 4 blocks of a multiple of 8 rows (SIMD-friendly). Each
// block packs the right-hand factor again, so fewer blocks waste less; 4 keep 2 threads busy under
// a dynamic schedule. A function of m alone: the partition never depends on the thread count.
inline Index row_block(Index m) { return std::max<Index>(8, ((m + 3) / 4 + 7) / 8 * 8); }
inline Index row_blocks(Index m) { return m == 0 ? 0 : (m + row_block(m) - 1) / row_block(m); }

// Runs f(k) for the row blocks k of an m-row result, f(r, h) getting the first row r and the
// height h of its block. (Eigen's own GEMM threading stays off, course::set_threads sees to it: it
// would choose its cache blocking from the thread count, and the bits would follow --threads.)
template <class F>
void for_row_blocks(Index m, F&& f) {
  const Index block = row_block(m), blocks = row_blocks(m);
  parallel::for_blocks(blocks, [&](Index k) {
    const Index r = k * block;
    f(r, std::min(block, m - r));
  });
}

// Runs f(j) for every column j in [0, n), in fixed blocks of column_block columns: for elementwise
// passes over a batch (a loss and its gradient, column by column).
inline constexpr Index column_block = 16;
template <class F>
void for_columns(Index n, F&& f) {
  parallel::for_blocks((n + column_block - 1) / column_block, [&](Index k) {
    for (Index j = k * column_block, end = std::min(n, (k + 1) * column_block); j < end; ++j) f(j);
  });
}

// C = A B (or C += A B when `accumulate`), C already sized m x n. `A_rows(r, h)` returns the h rows
// of A starting at r (an Eigen expression: a block, or a block of a transpose).
template <class Scalar, class ARows, class BExpr>
void partitioned_product(Mat<Scalar>& C, const ARows& A_rows, const BExpr& B, bool accumulate) {
  for_row_blocks(C.rows(), [&](Index r, Index h) {
    if (accumulate)
      C.middleRows(r, h).noalias() += A_rows(r, h) * B;
    else
      C.middleRows(r, h).noalias() = A_rows(r, h) * B;
  });
}

// =============================================================================================
// Activations: H = f(Z) elementwise; backward takes Z, H and dH, returns dZ.
// =============================================================================================
//   identity  f(z) = z                      f' = 1
//   relu      f(z) = max(z, 0)              f' = [z > 0]
//   leaky     f(z) = z > 0 ? z : 0.2 z      f' = z > 0 ? 1 : 0.2   (slope 0.2, as DCGAN)
//   sigmoid   f(z) = 1 / (1 + e^-z)         f' = h (1 - h)
//   tanh      f(z) = tanh z                 f' = 1 - h^2
//   softplus  f(z) = log(1 + e^z)           f' = sigmoid(z)
enum class Activation { Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softplus };
inline constexpr double leaky_relu_slope = 0.2;

// "identity" (or "linear"), "relu", "leaky_relu", "sigmoid", "tanh", "softplus"; InputError otherwise.
Activation parse_activation(const std::string& name);
std::string to_string(Activation a);

// Numerically stable logistic function 1 / (1 + exp(-z)).
template <class Scalar>
Scalar sigmoid(Scalar z) {
  if (z >= 0) return Scalar(1) / (Scalar(1) + std::exp(-z));
  const Scalar e = std::exp(z);
  return e / (Scalar(1) + e);
}
// Numerically stable log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)).
template <class Scalar>
Scalar softplus(Scalar z) {
  return std::max(z, Scalar(0)) + std::log1p(std::exp(-std::abs(z)));
}

// Z: n x B -> H = f(Z): n x B.
template <class Scalar>
Mat<Scalar> activation_forward(Activation a, const Mat<Scalar>& Z) {
  const Scalar slope = Scalar(leaky_relu_slope);
  switch (a) {
    case Activation::ReLU: return Z.cwiseMax(Scalar(0));
    case Activation::LeakyReLU: return (Z.array() > Scalar(0)).select(Z, slope * Z);
    case Activation::Sigmoid: return Z.unaryExpr([](Scalar z) { return sigmoid(z); });
    case Activation::Tanh: return Z.array().tanh().matrix();
    case Activation::Softplus: return Z.unaryExpr([](Scalar z) { return softplus(z); });
    case Activation::Identity: break;
  }
  return Z;
}

// Z, H = f(Z), dH = dL/dH: n x B -> dZ = f'(Z) .* dH: n x B. H is passed so that sigmoid and tanh
// need not recompute it (their derivatives are functions of the output).
template <class Scalar>
Mat<Scalar> activation_backward(Activation a, const Mat<Scalar>& Z, const Mat<Scalar>& H,
                                const Mat<Scalar>& dH) {
  const Scalar slope = Scalar(leaky_relu_slope);
  switch (a) {
    case Activation::ReLU: return (Z.array() > Scalar(0)).select(dH, Scalar(0));
    case Activation::LeakyReLU: return (Z.array() > Scalar(0)).select(dH, slope * dH);
    case Activation::Sigmoid: return (dH.array() * H.array() * (Scalar(1) - H.array())).matrix();
    case Activation::Tanh: return (dH.array() * (Scalar(1) - H.array().square())).matrix();
    case Activation::Softplus:
      return (dH.array() * Z.array().unaryExpr([](Scalar z) { return sigmoid(z); })).matrix();
    case Activation::Identity: break;
  }
  return dH;
}

// An activation as a layer of a composition (course/sequential.hpp): n inputs, n outputs, no
// parameters.
template <class Scalar>
struct ActivationLayer {
  Activation f = Activation::Identity;
  Index n = 0;

  Index in_size() const { return n; }
  Index out_size() const { return n; }
  std::string describe() const { return to_string(f); }
  // X: n x B -> Y = f(X).
  void forward(const Mat<Scalar>& X, Mat<Scalar>& Y) const { Y = activation_forward(f, X); }
  // dX = f'(X) .* dY (no parameters, nothing accumulated).
  void backward(const Mat<Scalar>& X, const Mat<Scalar>& Y, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
    if (dX) *dX = activation_backward(f, X, Y, dY);
  }
  void collect(std::vector<Param<Scalar>>&, const std::string&) {}
  void zero_grad() {}
};

// =============================================================================================
// Weights, biases and their gradients: what Linear, Conv2d and ConvTranspose2d share
// =============================================================================================
// A layer with parameters W (a matrix) and b (a vector) and gradients dW, db of their shapes. Its
// zero_grad and collect are these, written once.

template <class Layer>
void zero_weight_and_bias_grad(Layer& layer) {
  layer.dW.setZero(layer.W.rows(), layer.W.cols());
  layer.db.setZero(layer.b.size());
}
// Zeroes (and shapes) the gradients when they do not match W and b yet: a layer whose W and b were
// set by hand.
template <class Layer>
void ensure_weight_and_bias_grad(Layer& layer) {
  if (layer.dW.rows() != layer.W.rows() || layer.dW.cols() != layer.W.cols() || layer.db.size() != layer.b.size())
    zero_weight_and_bias_grad(layer);
}
// W ~ U(-a, a) (rows x cols), then b ~ U(-a, a) (bias entries), drawn from `rng` in that order, and
// the gradients zeroed: PyTorch's default initialisation with a = 1/sqrt(fan_in).
template <class Layer>
void init_weights_and_bias(Layer& layer, Index rows, Index cols, Index bias, double a, Rng& rng) {
  using Scalar = typename decltype(layer.W)::Scalar;
  layer.W = rng.uniform_matrix<Scalar>(rows, cols, -a, a);
  layer.b = rng.uniform_matrix<Scalar>(bias, 1, -a, a);
  zero_weight_and_bias_grad(layer);
}
// The parameters and their gradients, for an optimiser: name.W and name.b.
template <class Layer, class Scalar>
void collect_weight_and_bias(Layer& layer, std::vector<Param<Scalar>>& params, const std::string& name) {
  ensure_weight_and_bias_grad(layer);
  params.push_back({layer.W.data(), layer.dW.data(), layer.W.size(), name + ".W"});
  params.push_back({layer.b.data(), layer.db.data(), layer.b.size(), name + ".b"});
}

// =============================================================================================
// Linear: Y = W X + b
// =============================================================================================
template <class Scalar>
struct Linear {
  Mat<Scalar> W;   // out x in
  Vec<Scalar> b;   // out
  Mat<Scalar> dW;  // out x in, accumulated by backward
  Vec<Scalar> db;  // out, accumulated by backward

  Linear() = default;
  // PyTorch's default initialisation: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
  Linear(Index in, Index out, Rng& rng) { init_weights_and_bias(*this, out, in, out, 1.0 / std::sqrt(double(in)), rng); }
  Index in() const { return W.cols(); }
  Index out() const { return W.rows(); }
  Index in_size() const { return in(); }
  Index out_size() const { return out(); }
  std::string describe() const { return "linear " + std::to_string(in()) + " -> " + std::to_string(out()); }

  // X: in x B -> Y: out x B (resized), Y = W X + b. See linear_forward.
  void forward(const Mat<Scalar>& X, Mat<Scalar>& Y) const;
  Mat<Scalar> forward(const Mat<Scalar>& X) const {
    Mat<Scalar> Y;
    forward(X, Y);
    return Y;
  }
  // Accumulates dW += dY X^T, db += dY 1 and writes dX = W^T dY (when dX is not null).
  void backward(const Mat<Scalar>& X, const Mat<Scalar>& dY, Mat<Scalar>* dX);
  // The same, returning dX.
  Mat<Scalar> backward(const Mat<Scalar>& X, const Mat<Scalar>& dY) {
    Mat<Scalar> dX;
    backward(X, dY, &dX);
    return dX;
  }
  // The composition's signature (Y is not needed).
  void backward(const Mat<Scalar>& X, const Mat<Scalar>&, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
    backward(X, dY, dX);
  }
  void zero_grad() { zero_weight_and_bias_grad(*this); }
  // The parameters and their gradients, for an optimiser: name.W and name.b.
  void collect(std::vector<Param<Scalar>>& params, const std::string& name) { collect_weight_and_bias(*this, params, name); }
};

// X: in x B -> Y: out x B,   Y = f(W X + b)   (f = identity unless given; f is applied in the same
// pass, block by block, as chapter 8's relu layers do).
template <class Scalar>
void linear_forward(const Linear<Scalar>& layer, const Mat<Scalar>& X, Mat<Scalar>& Y,
                    Activation f = Activation::Identity) {
  Y.resize(layer.out(), X.cols());
  for_row_blocks(Y.rows(), [&](Index r, Index h) {
    auto Yk = Y.middleRows(r, h);
    Yk.noalias() = layer.W.middleRows(r, h) * X;
    Yk.colwise() += layer.b.segment(r, h);
    if (f == Activation::ReLU) Yk = Yk.cwiseMax(Scalar(0));
    else if (f != Activation::Identity) Yk = activation_forward<Scalar>(f, Mat<Scalar>(Yk));
  });
}

// X: in x B, dY = dL/dY: out x B (the gradient at W X + b, i.e. after any activation's backward).
//   dW += dY X^T   (row blocks of dW),   db += dY 1,   dX = W^T dY (row blocks of dX; skipped when
//   dX is null, as for a first layer).
template <class Scalar>
void linear_backward(Linear<Scalar>& layer, const Mat<Scalar>& X, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
  ensure_weight_and_bias_grad(layer);
  for_row_blocks(layer.out(), [&](Index r, Index h) {
    layer.dW.middleRows(r, h).noalias() += dY.middleRows(r, h) * X.transpose();
    layer.db.segment(r, h) += dY.middleRows(r, h).rowwise().sum();
  });
  if (dX) {
    dX->resize(layer.in(), dY.cols());
    partitioned_product(*dX, [&](Index r, Index h) { return layer.W.middleCols(r, h).transpose(); }, dY, false);
  }
}

template <class Scalar>
void Linear<Scalar>::forward(const Mat<Scalar>& X, Mat<Scalar>& Y) const {
  linear_forward(*this, X, Y);
}
template <class Scalar>
void Linear<Scalar>::backward(const Mat<Scalar>& X, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
  linear_backward(*this, X, dY, dX);
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
