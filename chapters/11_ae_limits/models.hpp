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

#include "08_vae/train_model.hpp"
#include "08_vae/vae.hpp"
#include "course/data.hpp"
#include "course/gaussian_fit.hpp"

namespace course::ch11 {

using ch08::Likelihood;
using ch08::Vae;

// Chapter 8's network trained as an autoencoder or a VAE (08_vae/train_model.hpp).
using ch08::ModelKind;
using ch08::TrainSpec;
using ch08::train_model;

// The images of `set` whose class passes `keep`, at most `max_count` of them (in order).
ImageSet select_classes(const ImageSet& set, const std::function<bool(int)>& keep, Index max_count = -1);

// Images [first, first + count) of `set` encoded: posterior means mu(x) (the autoencoder's codes),
// or one draw z ~ q(z|x) each (the VAE's aggregate posterior), L x count.
MatD encode_means(Vae<float>& model, const ImageSet& set, Index first, Index count);
MatD encode_draws(Vae<float>& model, const ImageSet& set, Index first, Index count, Rng& rng);
// The decoder's mean image E[x|z] for each column of Z (D x n, double).
MatD decode_means(Vae<float>& model, const MatD& Z);

// PCA features: the top-k principal directions of a set of images (D x n).
using Pca = course::PcaBasis;  // course/gaussian_fit.hpp
inline Pca fit_pca(const MatD& X, Index k) { return course::fit_pca_basis(X, k); }
using course::pca_features;

// Per-image anomaly scores of images [first, first + count) of `set`:
//   the reconstruction error -log p(x | z = mu(x)) (the autoencoder's own loss),
//   the negative ELBO -log p(x|z) + KL with z ~ q(z|x), averaged over `samples` draws,
//   the negative importance-weighted bound -L_M (M draws, chapter 8's eq. 8.6).
VecD reconstruction_scores(Vae<float>& model, const ImageSet& set);
VecD negative_elbo_scores(Vae<float>& model, const ImageSet& set, int samples, std::uint64_t seed);
VecD negative_iw_scores(const Vae<float>& model, const ImageSet& set, Index M, std::uint64_t seed);

}  // namespace course::ch11
