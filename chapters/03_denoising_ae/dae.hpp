// Chapter 3 model code: a small multilayer perceptron used as a nonlinear denoising autoencoder,
// its training on images (Fashion-MNIST) and on a 2-D Gaussian mixture, and the analytic pieces
// the checks compare against (Gaussian and mixture posterior means, Tweedie's formula).
// Shared by main.cpp and the tests. Equations refer to docs/03-denoising-autoencoders.md.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch03_denoising_ae.hpp"
#include "course/nn.hpp"
#include "course/optim.hpp"
#include "course/sequential.hpp"
#include "course/train.hpp"

namespace course::ch03 {

// =============================================================================================
// The network r(x): a multilayer perceptron of the course's layer stack (course/sequential.hpp)
// =============================================================================================
template <class Scalar>
using Mlp = nn::Sequential<Scalar>;

// The denoising loss of eq. (3.2) for any r: L = 1/(2B) ||r(Xn) - X||_F^2, one Adam step on it.
// Returns the loss before the step.
// The gradient of the denoising loss of eq. (3.2) for any r, L = 1/(2B) ||r(Xn) - X||_F^2, added
// into the network's gradients (the clean X is the target, the corrupted Xn the input). Returns L.
template <class Scalar>
double dae_loss_and_gradient(Mlp<Scalar>& net, const Mat<Scalar>& Xn, const Mat<Scalar>& X) {
  const Mat<Scalar>& R = net.forward(Xn);
  const double loss = double(nn::mse_loss<Scalar>(R, X));
  net.backward(nn::mse_backward<Scalar>(R, X), false);
  return loss;
}
// One Adam step on it; returns the loss before the step.
template <class Scalar>
double dae_step(Mlp<Scalar>& net, Adam<Scalar>& adam, const Mat<Scalar>& Xn, const Mat<Scalar>& X) {
  adam.zero_grad();
  const double loss = dae_loss_and_gradient(net, Xn, X);
  adam.step();
  return loss;
}

// =============================================================================================
// The image denoising autoencoder (Fashion-MNIST): 784 -> hidden (ReLU) -> 784 (sigmoid)
// =============================================================================================

// A corruption process C(X; rng), one of the exercises 3.1 and 3.2 with its noise level bound.
using Corruption = std::function<MatD(const MatD&, Rng&)>;

struct ImageDaeRun {
  Mlp<float> net;
  std::vector<double> epoch_loss;  // mean training loss of each epoch
};

// Minibatch Adam on L = 1/(2B) ||r(C(X)) - X||^2 with fresh corruption every batch (eq. 3.2).
ImageDaeRun train_image_dae(const ImageSet& train, const Corruption& corrupt, Index hidden, int epochs,
                                   Index batch, double lr, std::uint64_t seed, std::ostream& log,
                                   const std::string& what);

// Mean squared error per image, (1/n) sum_i ||A_i - B_i||^2.
double mse_per_image(const MatD& A, const MatD& B);

// =============================================================================================
// Gaussian data: the optimal DAE and the score (eqs. 3.5-3.7)
// =============================================================================================

// r*(x) = mu + W (x - mu) with W = Sigma (Sigma + sigma^2 I)^-1 (eq. 3.5), for each column of X.
MatD gaussian_optimal_dae(const VecD& mu, const MatD& Sigma, double sigma, const MatD& X);

// grad log N(x; mu, C) = -C^-1 (x - mu), for each column of X.
MatD gaussian_score(const VecD& mu, const MatD& C, const MatD& X);

// =============================================================================================
// The 2-D Gaussian mixture: posterior mean (the optimal DAE) and the DAE trained on it
// =============================================================================================

// The optimal DAE of the mixture sum_c w_c N(m_c, v_c I) at noise sigma: the posterior mean
//   E[x | x~] = sum_c pi_c(x~) (m_c + v_c / (v_c + sigma^2) (x~ - m_c)),
// with responsibilities pi_c(x~) proportional to w_c N(x~; m_c, (v_c + sigma^2) I).
Eigen::Vector2d mixture_posterior_mean(const GaussianMixture2D& g, double sigma, const Eigen::Vector2d& x);

// The mixture the chapter uses: 8 components on a circle of radius 2, each of variance 0.04.
GaussianMixture2D chapter_mixture();

struct MixtureDaeRun {
  Mlp<float> net;
  double sigma = 0.0;
  std::vector<double> step, loss;  // training loss every `record_every` steps (smoothed)
};

// A nonlinear DAE 2 -> 64 -> 64 -> 2 (tanh) trained by Adam on fresh mixture samples corrupted by
// the Gaussian noise of exercise 3.1 at standard deviation sigma, batch 256.
MixtureDaeRun train_mixture_dae(const GaussianMixture2D& g, double sigma, int steps, std::uint64_t seed,
                                       std::ostream* log = nullptr, int record_every = 50);

// The DAE's score estimate (r(x) - x) / sigma^2 at the columns of X (2 x n), in double.
MatD dae_score(const MixtureDaeRun& run, const MatD& X);

// Mean over columns of the cosine similarity between A and B (2 x n).
double mean_cosine(const MatD& A, const MatD& B);

// The true score of the noise-smoothed mixture, grad log (p * N(0, sigma^2 I)), at the columns of X.
MatD mixture_score(const GaussianMixture2D& g, double sigma, const MatD& X);

}  // namespace course::ch03
