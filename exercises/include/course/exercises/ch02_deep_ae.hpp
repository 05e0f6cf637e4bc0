// Chapter 2 exercises: backpropagation through a deep autoencoder.
// Equations refer to docs/02-deep-autoencoders.md. Check your work with  ./course check 02
//
// Notation (the lecture's): a batch X is d x B, one sample per column. Layer l = 1..l_max maps
// H_{l-1} (n_{l-1} x B) to H_l = f_l(Z_l) with pre-activations Z_l = W_l H_{l-1} + b_l 1^T,
// W_l: n_l x n_{l-1}, b_l: n_l; H_0 = X. The last layer's H_{l_max} is the network's output Y (for the
// cross-entropy loss the last layer is linear, Y holds logits and the reconstruction is
// sigmoid(Y)). Losses are summed over
// the d pixels of a sample and averaged over the B samples of the batch.
#pragma once

#include <vector>

#include "course/nn.hpp"
#include "course/types.hpp"

namespace course::ch02 {

using nn::Activation;

// One dense layer H = f(W X + b 1^T).
struct DenseLayer {
  MatD W;                               // out x in
  VecD b;                               // out
  Activation f = Activation::Identity;  // Identity, ReLU, Sigmoid or Tanh
};

// What a layer's forward pass keeps for its backward pass.
struct DenseForward {
  MatD Z;  // out x B: pre-activations W X + b 1^T
  MatD H;  // out x B: activations f(Z)
};

// Exercise 2.1 -- a dense layer's forward pass (eq. 2.1).
// Z = W X + b 1^T (the bias added to every column), H = f(Z) elementwise with f = layer.f:
// relu(z) = max(z, 0), sigmoid(z) = 1 / (1 + exp(-z)) (use course::nn::sigmoid, which is stable),
// tanh(z), identity(z) = z.  X: in x B.
// Tests: Z and H agree with the lecture's componentwise sum h_jn = f(sum_i w_ji x_in + b_j) to
// 1e-10 for every activation; f(W X) + b (bias after the activation) fails.
DenseForward dense_forward(const DenseLayer& layer, const MatD& X);

// The gradients of a scalar loss L with respect to one layer's parameters and its input.
struct DenseGradient {
  MatD dW;  // out x in: dL/dW
  VecD db;  // out: dL/db
  MatD dX;  // in x B: dL/dX, what the layer below receives
};

// Exercise 2.2 -- eq. 2.2: a dense layer's backward pass.
// Given the layer's input X (in x B), its forward pass `fwd` (Z and H, out x B) and dH = dL/dH
// (out x B), return dL/dW (out x in), dL/db (out) and dL/dX (in x B) for H = f(W X + b 1^T), for
// each of the four activations (write each f' in terms of what the forward pass kept). The
// derivation is docs/02, section 2.
// Tests: for ReLU, sigmoid, tanh and identity, all three gradients against central differences
// of L = sum(dH .* f(W X + b 1^T)) (relative error <= 1e-6); a missing f', sigmoid' = sigmoid and
// tanh' = 1 - z^2 fail.
DenseGradient dense_backward(const DenseLayer& layer, const MatD& X, const DenseForward& fwd,
                             const MatD& dH);

// The reconstruction losses of the chapter.
enum class Loss {
  MSE,  // L = 1/(2B) ||Y - X||_F^2                                          (eq. 2.3)
  BCE,  // L = 1/B sum_ij [softplus(y_ij) - x_ij y_ij],  Y = logits        (eq. 2.4)
};

struct LossAndGradient {
  double loss = 0.0;
  MatD dY;  // d x B: dL/dY
};

// Exercise 2.3 -- the reconstruction loss and its gradient (eqs. 2.3 and 2.4).
// Y is the network's output (d x B; logits for BCE), X the target images (d x B, values in [0, 1]).
//   MSE:  L = 1/(2B) ||Y - X||^2,                              dL/dY = (Y - X) / B
//   BCE:  L = 1/B sum [max(y, 0) + log1p(exp(-|y|)) - x y],    dL/dY = (sigmoid(Y) - X) / B
// The BCE form never takes log(0): it must stay finite (and exact) for logits of +-800.
// Tests: the values against 1/(2B)||Y - X||^2 and -1/B sum [x log s + (1 - x) log(1 - s)] (1e-10),
// the gradients against central differences; a missing 1/2, a flipped sign, the extra factor
// s (1 - s) of differentiating through the sigmoid, and the naive log form at large logits fail.
LossAndGradient reconstruction_loss(Loss loss, const MatD& Y, const MatD& X);

// The loss of a whole network and its gradient with respect to every layer's parameters.
struct NetworkGradient {
  double loss = 0.0;
  std::vector<MatD> dW;  // dW[l] has the shape of layers[l].W
  std::vector<VecD> db;  // db[l] has the shape of layers[l].b
};

// Exercise 2.4 -- backpropagation through the whole autoencoder: one training step's gradient
// (eq. 2.5).
// Forward: H_0 = X, then dense_forward through layers[0..l_max-1]; the output Y is the last layer's H.
// Loss: reconstruction_loss(loss, Y, X) (the target is the input itself).
// Backward: start from dL/dY = dL/dH_{l_max} and walk the layers from the last to the first with
// dense_backward, handing each layer's dX to the layer below as its dH.
// Use your exercises 2.1-2.3.
// Tests: every weight and bias of 6-5-3-5-6 networks with ReLU, sigmoid and tanh hidden layers,
// under MSE and under BCE, against central differences (relative error <= 1e-6).
NetworkGradient autoencoder_gradient(const std::vector<DenseLayer>& layers, Loss loss, const MatD& X);

}  // namespace course::ch02
