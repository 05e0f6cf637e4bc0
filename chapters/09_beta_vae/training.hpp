// Training the MLP beta-VAE (float, Adam) and measuring it on held-out images: rate, distortion,
// the KL of each latent dimension, and the MIG against the sprites' known factors (eq. 9.6).
#pragma once

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "09_beta_vae/beta_vae.hpp"
#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch09_beta_vae.hpp"

namespace course::ch09 {

struct TrainConfig {
  Index hidden = 256, latent = 8, batch = 64;
  int epochs = 15;
  float lr = 1e-3f;
  std::uint64_t seed = 1;
};

struct BetaRun {
  double beta = 1.0;
  MlpVae<float> vae;
  double distortion = 0.0, rate = 0.0;  // test means, nats per image
  VecD kl_per_dim;                      // test mean KL of each latent
  double mig = 0.0;
  std::vector<double> factor_gap;       // per factor: (I_(1) - I_(2)) / H(v_k)
  double seconds = 0.0;
};

// Trains one model at weight beta on `train` (every batch checked for a finite loss).
inline MlpVae<float> train_beta_vae(const ImageSet& train, float beta, const TrainConfig& c, std::ostream& os) {
  Rng rng(c.seed);
  MlpVae<float> vae(train.dim(), c.hidden, c.latent, rng);
  Adam<float> adam(vae.params(), c.lr);
  std::ostringstream what;
  what << "beta = " << beta;
  Progress progress(os, what.str(), c.epochs, (train.size() + c.batch - 1) / c.batch);
  for (int epoch = 0; epoch < c.epochs; ++epoch) {
    Minibatches batches(train.size(), c.batch, rng);
    double sum_d = 0.0, sum_r = 0.0;
    for (Index b = 0; b < batches.count(); ++b) {
      const MatF X = train.batch<float>(batches.indices(b), batches.size(b));
      const auto pass = vae.forward(X, rng.normal_matrix<float>(c.latent, X.cols()));
      const auto loss = MlpVae<float>::loss(pass, beta);
      require_finite_loss(loss.loss, epoch, b);
      adam.zero_grad();
      vae.backward(pass, beta);
      adam.step();
      sum_d += loss.distortion;
      sum_r += loss.rate;
      progress.batch(b, loss.loss);
    }
    std::ostringstream m;
    m << "distortion " << sum_d / double(batches.count()) << "  rate " << sum_r / double(batches.count()) << " nats";
    progress.epoch(epoch, m.str());
  }
  return vae;
}

// Test rate and distortion (one z sample per image, fixed seed), KL per latent, and the MIG of
// the posterior means against the factors (latents and continuous factors in 20 equal-width bins;
// the shape factor keeps its 3 values).
inline void evaluate(BetaRun& run, const ImageSet& test, std::uint64_t seed) {
  Rng rng(seed);
  const Index k = run.vae.latent(), n = test.size(), chunk = 500;
  MatD mu_all(k, n);
  run.distortion = run.rate = 0.0;
  run.kl_per_dim = VecD::Zero(k);
  for (Index first = 0; first < n; first += chunk) {
    const Index m = std::min(chunk, n - first);
    const MatF X = test.range<float>(first, m);
    const auto pass = run.vae.forward(X, rng.normal_matrix<float>(k, m));
    const auto loss = MlpVae<float>::loss(pass, 1.0f);
    run.distortion += double(loss.distortion) * double(m) / double(n);
    run.rate += double(loss.rate) * double(m) / double(n);
    const MatD mu = pass.mu.cast<double>(), lv = pass.log_var.cast<double>();
    run.kl_per_dim += 0.5 * (mu.array().square() + lv.array().exp() - 1.0 - lv.array()).matrix().rowwise().sum() / double(n);
    mu_all.middleCols(first, m) = mu;
  }
  std::vector<std::vector<int>> codes, factors;
  for (Index j = 0; j < k; ++j) codes.push_back(discretise(mu_all.row(j).transpose(), 20));
  for (Index f = 0; f < test.factors.cols(); ++f) {
    if (f == 0) {
      std::vector<int> shape;
      for (Index i = 0; i < n; ++i) shape.push_back(int(test.factors(i, 0)));
      factors.push_back(shape);
    } else {
      factors.push_back(discretise(test.factors.col(f), 20));
    }
  }
  run.mig = mutual_information_gap(codes, factors);
  run.factor_gap.clear();
  for (const auto& v : factors) run.factor_gap.push_back(mutual_information_gap(codes, {v}));
}

}  // namespace course::ch09
