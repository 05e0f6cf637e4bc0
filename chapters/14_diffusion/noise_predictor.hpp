// The DDPM noise predictor eps_theta(x_t, t): a small MLP on [x_t; e(t)], where e(t) is a sinusoidal
// time embedding (Vaswani et al. 2017; Ho et al. 2020), trained on the simplified loss (eq. 14.6)
//   L_simple = E_{x_0, t, eps} || eps - eps_theta(sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps, t) ||^2
// with the course's layer stack (nn::Sequential), Adam and training loop (train_minibatches).
#pragma once

#include <iosfwd>
#include <vector>

#include "14_diffusion/diffusion.hpp"
#include "course/sequential.hpp"

namespace course::ch14 {

// The time at which the learned score is compared with the exact one (eq. 14.7).
inline constexpr int kScoreCheckTime = 25;

struct TrainingConfig {
  int epochs = 300;            // passes over the training set (79 Adam steps each: 23,700 steps)
  Index batch = 256;           // (x_0, t, eps) triples per step, t uniform on 1..T
  Index hidden = 128;          // width of the three hidden layers (ReLU)
  Index embedding = 16;        // sin/cos pairs of the time embedding: 2 x 8 numbers
  double lr = 2e-3;            // Adam's step, divided by 10 for the last quarter of the epochs
  Index train_points = 20000;  // a fixed training set drawn from the mixture
};
TrainingConfig default_training();
TrainingConfig quick_training();

// e(t): entries 2k and 2k + 1 are sin(t w_k) and cos(t w_k), w_k = 1000^(-k / (E/2)), k < E/2.
MatD time_embedding(int t, Index embedding, Index batch);

struct TrainedPredictor {
  // [x; e(t)] (2 + E) -> hidden -> hidden -> hidden -> 2. Mutable: forward() keeps its caches.
  mutable nn::Sequential<float> net;
  TrainingConfig config;
  std::vector<double> epoch, loss;  // the mean training loss of each epoch
  double seconds = 0.0;
};

// eps_theta(X, t) of a trained predictor (X: 2 x B).
MatD predict_eps(const TrainedPredictor& p, const MatD& X, int t);
EpsFn predictor_fn(const TrainedPredictor& p);

// Trains on `config.train_points` points of g; `log` gets a line every 20 epochs.
TrainedPredictor train_noise_predictor(const GaussianMixture2D& g, const NoiseSchedule& s, const TrainingConfig& config,
                                       std::uint64_t seed, std::ostream* log = nullptr);

}  // namespace course::ch14
