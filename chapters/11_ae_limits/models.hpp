// The trained models of chapter 11 and what the chapter measures on them.
//
// Both models are chapter 8's network (chapters/08_vae/vae.hpp: 784-400-L, Bernoulli or Gaussian
// decoder). The autoencoder is that network with beta = 0 and eps = 0: z = mu(x), the loss is the
// reconstruction term alone and the log-variance head is unused. Same architecture, same code size,
// same optimiser and training loop (course/train.hpp): the only difference is the KL term and the
// noise.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "08_vae/vae.hpp"
#include "course/data.hpp"

namespace course::ch11 {

using ch08::Likelihood;
using ch08::Vae;

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

// The images of `set` whose class passes `keep`, at most `max_count` of them (in order).
ImageSet select_classes(const ImageSet& set, const std::function<bool(int)>& keep, Index max_count = -1);

// Images [first, first + count) of `set` encoded: posterior means mu(x) (the autoencoder's codes),
// or one draw z ~ q(z|x) each (the VAE's aggregate posterior), L x count.
MatD encode_means(Vae<float>& model, const ImageSet& set, Index first, Index count);
MatD encode_draws(Vae<float>& model, const ImageSet& set, Index first, Index count, Rng& rng);
// The decoder's mean image E[x|z] for each column of Z (D x n, double).
MatD decode_means(Vae<float>& model, const MatD& Z);

// PCA features: the top-k principal directions of a set of images (D x n).
struct Pca {
  VecD mean;
  MatD W;  // D x k, orthonormal columns
};
Pca fit_pca(const MatD& X, Index k);
MatD pca_features(const Pca& pca, const MatD& X);

// Per-image anomaly scores of images [first, first + count) of `set`:
//   the reconstruction error -log p(x | z = mu(x)) (the autoencoder's own loss),
//   the negative ELBO -log p(x|z) + KL with z ~ q(z|x), averaged over `samples` draws,
//   the negative importance-weighted bound -L_k (k draws, chapter 8's eq. 8.6).
VecD reconstruction_scores(Vae<float>& model, const ImageSet& set);
VecD negative_elbo_scores(Vae<float>& model, const ImageSet& set, int samples, std::uint64_t seed);
VecD negative_iw_scores(const Vae<float>& model, const ImageSet& set, Index k, std::uint64_t seed);

}  // namespace course::ch11
