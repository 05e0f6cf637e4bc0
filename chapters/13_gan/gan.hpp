// Chapter 13 model code: the GAN's two networks on the course's layer stack (nn::Sequential, Adam,
// train_minibatches), one training step of each player written out, the 2-D data (8 Gaussians on
// a ring, every density known) and the mode-coverage measure. Shared by main.cpp and the tests.
// Equations refer to docs/13-gan.md.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "course/data.hpp"
#include "course/exercises/ch13_gan.hpp"
#include "course/rng.hpp"
#include "course/sequential.hpp"
#include "course/types.hpp"

namespace course::ch13 {

// The exercise functions as values, so a check can be handed a planted wrong one.
using DiscLossFn = std::function<DiscriminatorLoss(const VecD&, const VecD&)>;
using GenLossFn = std::function<GeneratorLoss(const VecD&)>;

// =============================================================================================
// The data
// =============================================================================================

// 8 Gaussians of variance 0.02 on a circle of radius 1.4 (chapter 14's data): separated modes
// (neighbours 1.07 apart, 7.6 standard deviations) whose density is known everywhere.
GaussianMixture2D ring_data();
// Its means as a 2 x 8 matrix.
MatD ring_modes(const GaussianMixture2D& g);

// =============================================================================================
// The networks
// =============================================================================================

enum class GeneratorObjective { NonSaturating, Minimax };
std::string to_string(GeneratorObjective g);

struct GanConfig {
  Index data_dim = 2, latent = 2, hidden = 128, layers = 2;  // hidden layers in each network
  nn::Activation generator_out = nn::Activation::Identity;    // Sigmoid for images in [0, 1]
  GeneratorObjective objective = GeneratorObjective::NonSaturating;
  double lr_d = 1e-3, lr_g = 1e-3, beta1 = 0.5;  // Adam (beta1 = 0.5 as in DCGAN)
  Index batch = 256;
  int epochs = 20;
  int d_steps = 1;  // discriminator steps per generator step
};

// The two players.
struct Gan {
  GanConfig config;
  nn::Sequential<float> gen;           // z (latent) -> x (data_dim)
  nn::Sequential<float> disc;          // x (data_dim) -> logit a(x) (1)
};
Gan make_gan(const GanConfig& config, Rng& rng);

// x~ = Gen(z) for n fresh z ~ N(0, I) (data_dim x n), in double.
MatD generate(const Gan& gan, Index n, Rng& rng);
// The discriminator's probability D(x) = sigmoid(a(x)) of each column of X (data_dim x n).
VecD disc_probability(const Gan& gan, const MatD& X);

// What a training run records after each epoch (snapshot = a fixed z's samples, for figures).
struct GanHistory {
  std::vector<double> epoch, d_loss, g_loss;
  std::vector<double> d_real, d_fake;  // mean D(x) on real data and on fakes, over the epoch
  std::vector<MatD> snapshots;         // Gen(z_fixed) after the epochs in `snapshot_epochs`
  std::vector<int> snapshot_epochs;
  double seconds = 0.0;
};

// Real data for training: `count` samples and a batch of them by index (data_dim x size, float).
struct RealData {
  Index count = 0;
  std::function<MatF(const Index* idx, Index size)> batch;
};
RealData columns_of(const MatF& X);       // the columns of a matrix (the ring's training points)
RealData images_of(const ImageSet& set);  // images in [0, 1], converted a batch at a time

// Trains with train_minibatches over `data`: per batch, `d_steps` discriminator steps (eq. 13.1,
// exercise 13.1) then one generator step (eq. 13.4, exercise 13.2 or 13.3), each with its own Adam.
// After each epoch `after_epoch(epoch)` may record more (mode coverage); its string goes to the
// progress line. Snapshots: Gen(z) for `snapshot_n` fixed z after each epoch listed (0: before).
GanHistory train_gan(Gan& gan, const RealData& data, std::uint64_t seed, const std::vector<int>& snapshot_epochs,
                     Index snapshot_n, const std::function<std::string(int)>& after_epoch, std::ostream* progress,
                     const DiscLossFn& disc_loss = discriminator_loss,
                     const GenLossFn& gen_loss = {});

// =============================================================================================
// Mode coverage (eq. 13.6)
// =============================================================================================

// A sample is "on" mode k when it lies within `radius` = 3 standard deviations of mean k (its
// nearest); a perfect sampler puts a share w_k (1 - e^{-r^2 / 2v}) = w_k (1 - e^{-9/2}) there.
// A mode is covered when it holds at least `min_count` samples, the count below which a perfect
// sampler's smallest mode falls with probability at most 1e-6 (Binomial tail, Bonferroni over K).
struct ModeCoverage {
  VecD counts;              // samples on each mode (exercise 13.6)
  int covered = 0;          // modes with counts >= min_count
  double on_mode = 0.0;     // share of all samples on some mode ("high quality")
  double min_count = 0.0;
  double expected_on_mode = 0.0;  // a perfect sampler's share, 1 - e^{-9/2}
};
inline constexpr double kModeRadiusSd = 3.0;
// The radius and the coverage threshold for n samples of the ring (false-failure rate `alpha`).
double mode_radius(const GaussianMixture2D& g);
double coverage_min_count(const GaussianMixture2D& g, Index n, double alpha = 1e-6);
ModeCoverage mode_coverage(const GaussianMixture2D& g, const MatD& X);

}  // namespace course::ch13
