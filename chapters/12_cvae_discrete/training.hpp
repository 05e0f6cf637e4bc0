// Training and evaluating chapter 12's networks on images with labels (Fashion-MNIST, or the
// sprites with their shape as the label), through the course's one Adam and one training loop.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "08_vae/vae.hpp"
#include "12_cvae_discrete/networks.hpp"
#include "course/data.hpp"
#include "course/sequential.hpp"

namespace course::ch12 {

// The images idx[0..count) and their labels as one-hot columns (classes x count).
MatF labels_one_hot(const ImageSet& set, const Index* idx, Index count, Index classes);
MatF labels_one_hot_range(const ImageSet& set, Index first, Index count, Index classes);
Index class_count(const ImageSet& set);

// What every training run records per epoch.
struct Curve {
  std::vector<double> epoch, train_loss, test_elbo, tau;
  double seconds = 0.0;
};

// ---- a classifier to tell whether a sample is of the requested class --------------------------
// An MLP 784-256-10 (ReLU) trained with softmax cross-entropy.
struct Classifier {
  nn::Sequential<float> net;
  Classifier(Index input, Index classes, Rng& rng);
  // The predicted class of each column of X.
  std::vector<int> predict(const MatF& X);
};
// Trains it for `epochs` epochs of Adam (lr 1e-3, batch 128); returns the training curve (loss).
Curve train_classifier(Classifier& c, const ImageSet& train, int epochs, std::uint64_t seed, std::ostream* progress);
// The fraction of `predicted` equal to `wanted`, its binomial standard error, and the Wilson score
// interval at 95% (z = 1.96): the p with |rate - p| <= z sqrt(p (1 - p) / n), which stays inside
// [0, 1] and keeps its coverage near 0 and 1, where rate +- z se does not. The n trials are
// independent given the trained models (independent test images, or independent z ~ N(0, I)), so
// the interval is over that sampling, not over training runs.
struct Accuracy {
  double rate = 0.0, se = 0.0, lower = 0.0, upper = 0.0;
  Index n = 0;
};
inline constexpr double kWilsonZ = 1.96;
Accuracy accuracy(const std::vector<int>& predicted, const std::vector<int>& wanted);
Accuracy test_accuracy(Classifier& c, const ImageSet& test);

// The test ELBO functions below also return each image's KL term (the rate, nats) in *kl when given.

// ---- the CVAE -----------------------------------------------------------------------------------
// The one-sample ELBO(x | y) of every test image (nats), in batches of 500; batch k draws its eps
// from Rng(seed, k). Its mean and standard error over images: ch08::over_images.
VecD cvae_test_elbo(Cvae<float>& m, const ImageSet& test, std::uint64_t seed, VecD* kl = nullptr);
Curve train_cvae(Cvae<float>& m, const ImageSet& train, const ImageSet& test, int epochs, std::uint64_t seed,
                 std::ostream* progress);
// `per_class` decoder means for every class, each from z ~ N(0, I): (D x classes * per_class),
// class c in columns c * per_class ... , and the labels wanted.
MatF cvae_samples(Cvae<float>& m, Index per_class, std::uint64_t seed, std::vector<int>* wanted = nullptr);

// ---- the discrete VAE -----------------------------------------------------------------------------
// Gumbel noise for a code of `rows` x `cols` from rng.
MatF gumbel_matrix(Index rows, Index cols, Rng& rng);
// The discrete ELBO (Dvae::discrete_elbo, one sample) of every test image.
VecD dvae_test_elbo(Dvae<float>& m, const ImageSet& test, std::uint64_t seed, VecD* kl = nullptr);
// Trains with tau annealed per step: tau = max(tau_min, tau0 exp(-rate step)), rate chosen so that
// tau reaches tau_min after `anneal_fraction` of the steps (Jang et al. 2017 anneal 1 -> 0.5).
Curve train_dvae(Dvae<float>& m, const ImageSet& train, const ImageSet& test, int epochs, double tau0, double tau_min,
                 std::uint64_t seed, std::ostream* progress);

// ---- chapter 8's Gaussian VAE, for comparison ---------------------------------------------------------
// The one-sample ELBO of every test image (the per-image values behind ch08::mean_elbo).
VecD gaussian_test_elbo(ch08::Vae<float>& m, const ImageSet& test, std::uint64_t seed, VecD* kl = nullptr);
Curve train_gaussian_vae(ch08::Vae<float>& m, const ImageSet& train, const ImageSet& test, int epochs, std::uint64_t seed,
                         std::ostream* progress);

}  // namespace course::ch12
