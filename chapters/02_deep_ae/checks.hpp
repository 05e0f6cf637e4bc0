// Chapter 2's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch02 asserts each one (and that each rejects the
// likely wrong formula named beside it). The exercise under test is a parameter with the solution
// as default, so a test can hand in a planted wrong formula instead.
//
// The numeric side never uses the exercises: central differences are taken of reference losses
// written with course::nn (common), so a wrong exercise cannot agree with itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "02_deep_ae/deep_ae.hpp"
#include "course/check.hpp"

namespace course::ch02 {

using DenseForwardFn = std::function<DenseForward(const DenseLayer&, const MatD&)>;
using DenseBackwardFn = std::function<DenseGradient(const DenseLayer&, const MatD&, const DenseForward&, const MatD&)>;
using LossFn = std::function<LossAndGradient(Loss, const MatD&, const MatD&)>;
using NetworkGradientFn = std::function<NetworkGradient(const std::vector<DenseLayer>&, Loss, const MatD&)>;

// =============================================================================================
// Fixtures: small random layers, batches and networks (fixed seeds)
// =============================================================================================

// A 5 x 4 layer with activation f, weights N(0, 0.8^2), biases N(0, 0.3^2).
DenseLayer random_layer(Activation f, Index in = 4, Index out = 5, std::uint64_t seed = 3);
// A batch of B samples in d dimensions with values in (0, 1), like images.
MatD random_images(Index d, Index B, std::uint64_t seed = 5);
std::string name_of(Loss loss);

// The reference forward pass of a plain layer (common's activation_forward): Z and H.
DenseForward reference_forward(const DenseLayer& layer, const MatD& X);
// The reference loss of a whole network of plain layers (common's layers and losses).
double reference_network_loss(const std::vector<DenseLayer>& layers, Loss loss, const MatD& X);

// The chapter's model at check size: 6-5-3-5-6 with `hidden` activations, a linear code and, for
// MSE, a sigmoid output (as trained on the images); for BCE a linear output (logits). Weights are
// redrawn N(0, 0.8^2) and biases N(0, 0.3^2), so no unit sits at a kink or saturates.
DeepAutoencoder<double> check_network(Activation hidden, Loss loss, std::uint64_t seed = 9);

// =============================================================================================
// (2.1) A dense layer's forward pass
// =============================================================================================

// dense_forward against the lecture's componentwise sum h_jn = f(sum_i w_ji x_in + b_j).
// Wrong formula it rejects: the bias added after the activation, f(W X) + b.
CheckRow check_eq_2_1_forward(Activation f, const DenseForwardFn& forward = dense_forward);

// =============================================================================================
// (2.2) A dense layer's backward pass
// =============================================================================================

// dense_backward against central differences of the probe loss L = sum(G .* f(W X + b 1^T)),
// whose dL/dH is G, in W, b and X. Wrong formulas it rejects: a missing f' (Delta = G),
// sigmoid' = s instead of s (1 - s), tanh' = 1 - z^2 instead of 1 - tanh(z)^2, W instead of W^T.
CheckRow check_eq_2_2_backward(Activation f, const DenseBackwardFn& backward = dense_backward);

// =============================================================================================
// (2.3) and (2.4) The reconstruction losses and their gradients
// =============================================================================================

// An output Y (d x B, logits for BCE: N(0, 2^2)) and targets X in (0, 1).
struct LossProblem {
  MatD Y, X;
};
LossProblem loss_problem();

// (2.3) The MSE value: 1/(2B) ||Y - X||^2. Wrong formulas it rejects: a missing 1/2, a missing 1/B.
CheckRow check_eq_2_3_mse_value(const LossFn& loss = reconstruction_loss);
// (2.3) Its gradient (Y - X) / B against central differences. Wrong formulas it rejects: a
// factor 2 (the 1/2 forgotten when differentiating), the sign flipped (X - Y), a missing 1/B.
CheckRow check_eq_2_3_mse_gradient(const LossFn& loss = reconstruction_loss);

// (2.4) The BCE value from logits against the lecture's form -1/B sum [x log s + (1 - x) log(1 - s)],
// s = sigmoid(y), at moderate logits. Wrong formulas it rejects: a flipped sign, a missing 1/B.
CheckRow check_eq_2_4_bce_value(const LossFn& loss = reconstruction_loss);
// (2.4) Its gradient (sigmoid(Y) - X) / B against central differences. Wrong formulas it rejects:
// the extra factor s (1 - s) of differentiating through the sigmoid as if the loss were MSE on
// probabilities, the sign flipped, a missing 1/B.
CheckRow check_eq_2_4_bce_gradient(const LossFn& loss = reconstruction_loss);
// (2.4) The softplus form is exact where the naive one overflows: at logits +-800, sigmoid rounds
// to 0 or 1, log(0) = -inf, but L = 1/B sum [max(y, 0) - x y] exactly (log1p(exp(-800)) = 0 in
// double). Wrong formula it rejects: the naive -[x log s + (1 - x) log(1 - s)], which is infinite.
CheckRow check_eq_2_4_bce_large_logits(const LossFn& loss = reconstruction_loss);

// =============================================================================================
// (2.5) Backpropagation through the whole network
// =============================================================================================

// autoencoder_gradient against central differences of the reference loss of the same network,
// every weight and bias of all four layers. Wrong formulas it rejects: a layer's f' skipped,
// W instead of W^T when passing the gradient down, the BCE gradient with the extra s (1 - s).
CheckRow check_eq_2_5_network_gradient(Activation hidden, Loss loss,
                                              const NetworkGradientFn& gradient = autoencoder_gradient);

// The chapter's templated model (what trains on Fashion-MNIST, here in double): its
// forward_backward against central differences of its own forward pass and loss.
CheckRow check_eq_2_5_model_gradient(Activation hidden, Loss loss);

// =============================================================================================
// (2.6) A deep autoencoder beats PCA at the same code size
// =============================================================================================

// On the training data no linear code of size k does better than the Eckart-Young error (1.2);
// a deep AE goes below it. Wrong model it rejects: the same network with linear activations.
CheckRow check_eq_2_6_below_linear_floor(double ae_train_error, double eckart_young, const std::string& what);
// On held-out data: the deep AE's test error is below PCA's.
CheckRow check_eq_2_6_beats_pca(double ae_test_error, double pca_test_error, const std::string& what);

// The quick comparison: bump images (d = 32, width 2.5), 1,000 for training and 500 held out; a
// 32-64-32-2 autoencoder trained in float with Adam (20 epochs, batch 50) against PCA with k = 2.
// `hidden` = Identity gives the deep *linear* autoencoder, which cannot beat the floor.
struct BumpComparison {
  double ae_train = 0, ae_test = 0, pca_train = 0, pca_test = 0, eckart_young = 0;
  Index k = 2;
  TrainingCurve curve;
  MatD test_images, ae_reconstructions, pca_reconstructions;  // the first 8 test images, for a figure
};
BumpComparison compare_on_bumps(std::uint64_t seed = 1, Activation hidden = Activation::ReLU, int epochs = 20);

// =============================================================================================
// (2.7) A convolutional layer: one small kernel per pair of channels, shared by every position
// =============================================================================================

using ConvForwardFn = std::function<MatD(const nn::Conv2d<double>&, const MatD&)>;

// The layer stack's Conv2d forward pass, as the default candidate.
MatD stack_conv_forward(const nn::Conv2d<double>& layer, const MatD& X);

// A convolution's output against the explicit sum of (2.7),
//   y(o, u, v) = b_o + sum_{c, i, j} w(o, c, i, j) x(c, s u - p + i, s v - p + j),
// for 3 -> 4 channels on 7 x 6 images with a 3 x 3 kernel at stride 2 and padding 1, and at
// stride 1 and no padding. Wrong formula it rejects: the kernel flipped, x(c, s u - p + k - 1 - i,
// ...) (a convolution in the signal-processing sense; the course's layers, like PyTorch's, do not
// flip).
CheckRow check_eq_2_7_conv_forward(Index stride, Index padding, const ConvForwardFn& forward = stack_conv_forward);

// The convolutional autoencoder at check size (1 x 8 x 8 images, 2 and 3 channels, a code of 3),
// weights as initialised, in double.
ConvAeSpec check_conv_spec(Activation hidden, Loss loss);
DeepAutoencoder<double> check_conv_network(Activation hidden, Loss loss, std::uint64_t seed = 21);

// Backpropagation (2.5) through the convolutional autoencoder against central differences, every
// weight and bias, the loss of the central differences evaluated in long double (the tanh + BCE
// network's smallest gradients, ~4e-6, are below the harness's absolute floor, where double's
// rounding of the loss would be as large as the tolerance). A shared kernel's gradient is the SUM
// over the positions it was applied at (2.7). `after_backward`, when given, alters the analytic
// gradient before the comparison (a test plants a wrong one). Wrong formula it rejects: the shared
// kernel's (or bias's) gradient averaged over the positions instead of summed,
// dW = 1/(OH OW) sum_{u,v} dy x.
CheckRow check_eq_2_7_conv_autoencoder_gradient(Activation hidden, Loss loss,
                                                const std::function<void(DeepAutoencoder<double>&)>& after_backward = {});

// =============================================================================================
// Every check of the chapter, in the order of the doc
// =============================================================================================
std::vector<CheckRow> all_checks(const BumpComparison& bumps);

}  // namespace course::ch02
