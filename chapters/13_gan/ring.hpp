// Chapter 13's experiments on the ring of 8 Gaussians: a GAN trained with mode coverage measured
// after every epoch (eq. 13.6), and chapter 8's VAE on the same data for comparison.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "13_gan/gan.hpp"

namespace course::ch13 {

// One GAN run on the ring and what it measured.
struct RingRun {
  std::string name;
  GanConfig config;
  GanHistory history;
  std::vector<double> covered, on_mode;  // after each epoch, on `eval_n` fresh samples
  ModeCoverage final;                    // of the final generator, on `eval_n` fresh samples
  MatD samples;                          // those samples
};

// The ring GAN's settings: 2-D noise, two hidden layers of 128 in each network (ReLU in the
// generator, leaky ReLU in the discriminator), Adam (lr 1e-3, beta1 0.5), batches of 256 from a fixed
// training set of 20,000 points.
GanConfig ring_config(int epochs);

// Trains `config` on `train` (2 x N) from `seed`; coverage after every epoch on `eval_n` samples.
RingRun train_ring_gan(const std::string& name, const GanConfig& config, const MatF& train, std::uint64_t seed,
                       Index eval_n, const std::vector<int>& snapshot_epochs, std::ostream* progress);

// Chapter 8's VAE (Gaussian decoder with a learned variance, 2-D latent, 128 hidden units) trained on
// the same points; returns `n` samples of its generative model, z ~ N(0, I), x ~ N(dec(z), sigma_x^2 I).
struct RingVae {
  MatD samples;
  double noise_sd = 0.0;  // the decoder's learned standard deviation sigma_x
  double seconds = 0.0;
};
RingVae train_ring_vae(const MatF& train, int epochs, std::uint64_t seed, Index n);

}  // namespace course::ch13
