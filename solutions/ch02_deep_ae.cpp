// Reference solutions of chapter 2. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch02_deep_ae.hpp"

#include <cmath>

#include "course/error.hpp"

namespace course::ch02 {

DenseForward dense_forward(const DenseLayer& layer, const MatD& X) {
  // BEGIN SOLUTION
  // HINT: (layer.W * X).colwise() + layer.b adds the bias to every column.
  // HINT: course::nn::activation_forward(layer.f, Z) applies f elementwise, or write the four cases.
  DenseForward out;
  out.Z = (layer.W * X).colwise() + layer.b;
  out.H = nn::activation_forward(layer.f, out.Z);
  return out;
  // END SOLUTION
}

DenseGradient dense_backward(const DenseLayer& layer, const MatD& X, const DenseForward& fwd,
                             const MatD& dH) {
  // BEGIN SOLUTION
  // HINT: first Delta = f'(Z) .* dH (eq. 2.2): sigmoid' and tanh' are cheapest from H = f(Z).
  // HINT: then dW = Delta X^T, db = the row sums of Delta, dX = W^T Delta.
  MatD delta;
  switch (layer.f) {
    case Activation::ReLU: delta = (fwd.Z.array() > 0.0).select(dH, 0.0); break;
    case Activation::Sigmoid: delta = (dH.array() * fwd.H.array() * (1.0 - fwd.H.array())).matrix(); break;
    case Activation::Tanh: delta = (dH.array() * (1.0 - fwd.H.array().square())).matrix(); break;
    case Activation::Identity: delta = dH; break;
    default: throw std::invalid_argument("dense_backward: the exercise covers identity, relu, sigmoid and tanh");
  }
  DenseGradient g;
  g.dW = delta * X.transpose();
  g.db = delta.rowwise().sum();
  g.dX = layer.W.transpose() * delta;
  return g;
  // END SOLUTION
}

LossAndGradient reconstruction_loss(Loss loss, const MatD& Y, const MatD& X) {
  // BEGIN SOLUTION
  // HINT: B = Y.cols(). MSE: 0.5 * (Y - X).squaredNorm() / B and (Y - X) / B (eq. 2.3).
  // HINT: BCE: softplus(y) = max(y, 0) + log1p(exp(-|y|)) never overflows (eq. 2.4);
  // HINT: its derivative is sigmoid(y), so dL/dY = (sigmoid(Y) - X) / B.
  const double B = double(Y.cols());
  LossAndGradient out;
  if (loss == Loss::MSE) {
    out.loss = 0.5 * (Y - X).squaredNorm() / B;
    out.dY = (Y - X) / B;
  } else {
    const auto y = Y.array();
    out.loss = (y.max(0.0) + (-y.abs()).exp().log1p() - X.array() * y).sum() / B;
    out.dY = (Y.unaryExpr([](double v) { return nn::sigmoid(v); }) - X) / B;
  }
  return out;
  // END SOLUTION
}

NetworkGradient autoencoder_gradient(const std::vector<DenseLayer>& layers, Loss loss, const MatD& X) {
  // BEGIN SOLUTION
  // HINT: keep every layer's input and its DenseForward: inputs[0] = X, inputs[l + 1] = fwd[l].H.
  // HINT: then dH = reconstruction_loss(...).dY and, for l = L-1 down to 0,
  // HINT: g = dense_backward(layers[l], inputs[l], fwd[l], dH); dW[l] = g.dW; ...; dH = g.dX.
  const std::size_t L = layers.size();
  std::vector<MatD> inputs{X};
  std::vector<DenseForward> fwd;
  for (std::size_t l = 0; l < L; ++l) {
    fwd.push_back(dense_forward(layers[l], inputs.back()));
    inputs.push_back(fwd.back().H);
  }
  const LossAndGradient top = reconstruction_loss(loss, inputs.back(), X);
  NetworkGradient out;
  out.loss = top.loss;
  out.dW.resize(L);
  out.db.resize(L);
  MatD dH = top.dY;
  for (std::size_t l = L; l-- > 0;) {
    DenseGradient g = dense_backward(layers[l], inputs[l], fwd[l], dH);
    out.dW[l] = std::move(g.dW);
    out.db[l] = std::move(g.db);
    dH = std::move(g.dX);
  }
  return out;
  // END SOLUTION
}

}  // namespace course::ch02
