// Chapter 8's 784-400-L network trained as a plain autoencoder or as a VAE, for the chapters that
// compare against it (chapter 10's reconstructions and samples, chapter 11's generators and
// anomaly detectors). Same architecture, optimiser and loop either way: the autoencoder is the
// VAE with beta = 0 and eps = 0 (z = mu(x), the loss is the reconstruction term alone).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "08_vae/vae.hpp"
#include "course/data.hpp"

namespace course::ch08 {

enum class ModelKind { Autoencoder, Vae };

struct TrainSpec {
  Index hidden = 400, latent = 20, batch = 128;
  int epochs = 5;
  float lr = 1e-3f;
  std::uint64_t seed = 1;
  Likelihood likelihood = Likelihood::Bernoulli;
};

// Trains an autoencoder or a VAE on `train` with the course's Adam and training loop
// (course/train.hpp: every batch checked for a finite loss; batch k of epoch e draws its eps from
// Rng(seed + 1000 e, k)). Progress goes to `progress` (null: silent).
Vae<float> train_model(ModelKind kind, const ImageSet& train, const TrainSpec& spec, const std::string& what,
                       std::ostream* progress);

}  // namespace course::ch08
