// The convolutional VQ-VAE of chapter 10 (docs/10-vq-vae.md, section 7) and the autoregressive
// prior over its grid of codes, both on the course's layer stack (course/conv.hpp, sequential.hpp).
//
//   encoder  x (1 x 28 x 28) -> conv 4x4 s2 -> relu -> conv 4x4 s2 -> relu -> conv 3x3 s1
//            -> z_e: D x 7 x 7, i.e. 49 vectors z_q of dimension D, one per grid position q
//   quantise each z_q to its nearest code e_k (eq. 10.1): a 7 x 7 grid of codes in [0, K)
//   decoder  z_q (D x 7 x 7) -> conv-transpose 4x4 s2 -> relu -> conv-transpose 4x4 s2 -> logits
//            (1 x 28 x 28), -log p(x | z_q) = BCE (Bernoulli decoder, as the MLP model)
//   codebook by exponential moving averages (eq. 10.5), dead codes restarted from encoder outputs.
//
//   prior    p(k_1 .. k_49) = prod_q p(k_q | k_<q)  (raster order, eq. 10.8): a small PixelCNN
//            one-hot codes (K x 7 x 7) -> 1x1 conv (an embedding) -> masked 5x5 conv "A" -> relu
//            -> masked 3x3 conv "B" -> relu -> masked 3x3 conv "B" -> relu -> 1x1 conv -> K logits
//            per position. The masks (causal_mask, exercise 10.6) make the output at q a function
//            of the codes at positions < q only (eq. 10.9).
//
// A batch is a matrix with one sample per column; a sample with C channels over P grid positions
// is stored channel-major (row c P + q), as everywhere in the stack.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "10_vq_vae/vq_vae.hpp"
#include "course/conv.hpp"
#include "course/data.hpp"
#include "course/exercises/ch10_vq_vae.hpp"
#include "course/sequential.hpp"

namespace course::ch10 {

struct GridConfig {
  Index height = 28, width = 28;  // the images
  Index channels = 32;            // hidden channels of encoder and decoder
  Index dim = 16, codes = 128;    // D and K
  double beta = 0.25, ema_decay = 0.99, lr = 2e-3;
  Index batch = 64;
  int epochs = 2;
  Index window = 100;             // batches between dead-code restarts
  std::uint64_t seed = 1;
};

// D x (P B) matrix of the code vectors (image b owns columns b P .. b P + P - 1) from the encoder's
// output (D P x B, channel-major), and back.
template <class Scalar>
MatD grid_vectors(const Mat<Scalar>& Z, Index D);
template <class Scalar>
Mat<Scalar> grid_images(const MatD& vectors, Index D, Index B);

template <class Scalar>
struct ConvVqVae {
  GridConfig config;
  nn::Sequential<Scalar> encoder, decoder;
  EmaCodebook codebook;  // E: D x K
  MatD dE;               // D x K: the codebook gradient of eq. 10.4 (used by the gradient check)
  Index grid_h = 0, grid_w = 0;

  ConvVqVae(const GridConfig& c, Rng& rng);
  Index D() const { return config.dim; }
  Index K() const { return codebook.E.cols(); }
  Index positions() const { return grid_h * grid_w; }
  std::vector<Param<Scalar>> parameters();
  void zero_grad();

  // The codes of a batch: P B entries, image b's grid at b P .. b P + P - 1.
  std::vector<Index> encode(const Mat<Scalar>& X);
  // Bernoulli logits of the images whose code grids are `codes` (P B entries).
  Mat<Scalar> decode_logits(const std::vector<Index>& codes, Index images);
  Mat<Scalar> reconstruct(const Mat<Scalar>& X);  // sigmoid of the logits

  struct Step {
    double reconstruction = 0, codebook = 0, commitment = 0;
    std::vector<Index> codes;
    MatD Ze;
    double total() const { return reconstruction + codebook + commitment; }
  };
  // One forward and backward pass (eqs. 10.1-10.4): accumulates the layers' gradients and dE.
  Step forward_backward(const Mat<Scalar>& X, const VqGradientsFn& gradients = vq_gradients);
};

extern template struct ConvVqVae<float>;
extern template struct ConvVqVae<double>;
extern template struct ConvVqVae<long double>;  // the gradient check's loss

struct GridRun {
  double seconds = 0.0;
  long restarts = 0;
  std::vector<double> epoch_loss;
};
// Trains with Adam on encoder and decoder and the EMA update (eq. 10.5) on the codebook, restarting
// every code unused over a window of batches at a random encoder output of the current batch.
ConvVqVae<float> train_conv_vq_vae(const ImageSet& train, const GridConfig& cfg, GridRun& run, std::ostream* log);

// Every code grid of a set (P entries per image), and the test-set evaluation.
std::vector<Index> encode_all(ConvVqVae<float>& model, const ImageSet& set, Index chunk = 500);
struct GridEvaluation {
  double reconstruction = 0;       // -log p(x | z_q) per image, nats
  double mse_over_variance = 0;    // mean squared error of the mean image / the data's pixel variance
  CodebookUsage usage;             // over the whole set (exercise 10.8)
};
GridEvaluation evaluate_grid(ConvVqVae<float>& model, const ImageSet& set, Index chunk = 500);

// ---------------------------------------------------------------------------------------------
// The prior
// ---------------------------------------------------------------------------------------------
struct PriorConfig {
  Index codes = 128, height = 7, width = 7;
  Index embed = 16, channels = 64;
  double lr = 2e-3;
  Index batch = 64;
  int epochs = 4;
  std::uint64_t seed = 2;
};

// The masks of the prior's three masked convolutions, as causal_mask (exercise 10.6) gives them:
// a test passes wrong ones to show that the causality check rejects them.
struct PriorMasks {
  MatD first, hidden;  // 5x5 mask "A" (centre off), 3x3 mask "B" (centre on)
};
PriorMasks exercise_masks();

template <class Scalar>
struct GridPrior {
  PriorConfig config;
  nn::Sequential<Scalar> net;

  GridPrior(const PriorConfig& c, Rng& rng, const PriorMasks& masks = exercise_masks());
  Index K() const { return config.codes; }
  Index positions() const { return config.height * config.width; }
  // K P x B one-hot input of B grids (codes: P B entries).
  Mat<Scalar> one_hot(const std::vector<Index>& codes, Index grids) const;
  // K x P logits of grid b from the network's output (K P x B).
  static MatD logits_of(const Mat<Scalar>& out, Index b, Index K, Index P);
  // The logits of every grid, K P x B.
  Mat<Scalar> forward(const std::vector<Index>& codes, Index grids);
  // Mean over the B grids of -log p(grid) (nats) with the gradient accumulated in the layers.
  double loss_and_gradient(const std::vector<Index>& codes, Index grids);
  // log p of each grid (nats) by one pass and grid_log_likelihood (exercise 10.7).
  std::vector<double> log_prob(const std::vector<Index>& codes, Index grids);
  // n grids drawn in raster order, one position after the other (P passes of the network).
  std::vector<Index> sample(Index n, Rng& rng);
};

extern template struct GridPrior<float>;
extern template struct GridPrior<double>;

GridPrior<float> train_prior(const std::vector<Index>& codes, Index grids, const PriorConfig& cfg, std::ostream* log,
                             double* seconds = nullptr);

}  // namespace course::ch10
