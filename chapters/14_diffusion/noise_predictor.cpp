// The bodies of 14_diffusion/noise_predictor.hpp's functions, compiled once.
#include "14_diffusion/noise_predictor.hpp"

#include <cmath>
#include <memory>
#include <string>

#include "course/cli.hpp"
#include "course/error.hpp"

namespace course::ch14 {

TrainingConfig default_training() { return {}; }

TrainingConfig quick_training() {
  TrainingConfig c;
  c.steps = 4000;
  c.hidden = 64;
  return c;
}

MatD time_embedding(int t, Index embedding, Index batch) {
  const Index half = embedding / 2;
  VecD e(2 * half);
  for (Index k = 0; k < half; ++k) {
    const double w = std::pow(1000.0, -double(k) / double(half));
    e(2 * k) = std::sin(double(t) * w);
    e(2 * k + 1) = std::cos(double(t) * w);
  }
  return e.replicate(1, batch);
}

namespace {
// The network's input [x; e(t_j)] for a batch with one time per column.
MatF network_input(const MatD& X, const std::vector<int>& t, Index embedding) {
  MatF in(2 + embedding, X.cols());
  in.topRows(2) = X.cast<float>();
  for (Index j = 0; j < X.cols(); ++j) in.col(j).tail(embedding) = time_embedding(t[std::size_t(j)], embedding, 1).cast<float>();
  return in;
}
}  // namespace

MatD predict_eps(const TrainedPredictor& p, const MatD& X, int t) {
  const SingleThreadedEigen single;  // 64 x 2000 products: Eigen's threads would only wait on each other
  MatF in(2 + p.config.embedding, X.cols());
  in.topRows(2) = X.cast<float>();
  in.bottomRows(p.config.embedding) = time_embedding(t, p.config.embedding, X.cols()).cast<float>();
  return p.net.forward(in).cast<double>();
}

EpsFn predictor_fn(const TrainedPredictor& p) {
  return [&p](const MatD& X, int t) { return predict_eps(p, X, t); };
}

TrainedPredictor train_noise_predictor(const GaussianMixture2D& g, const NoiseSchedule& s, const TrainingConfig& c,
                                       std::uint64_t seed, std::ostream* log) {
  const SingleThreadedEigen single;
  Rng rng(seed);
  TrainedPredictor p;
  p.config = c;
  const Index in = 2 + c.embedding;
  p.net = ch03::Mlp<float>({in, c.hidden, c.hidden, c.hidden, 2}, nn::Activation::ReLU, nn::Activation::Identity, rng);
  Adam<float> adam(p.net.params(), float(c.lr));
  const MatD data = g.sample(c.train_points, rng);
  const int T = int(s.beta.size());
  const int per_epoch = 500, epochs = (c.steps + per_epoch - 1) / per_epoch;
  std::unique_ptr<Progress> progress;
  if (log) progress = std::make_unique<Progress>(*log, "DDPM noise predictor", epochs, per_epoch);
  double running = 0.0;
  std::vector<int> times(std::size_t(c.batch));
  for (int k = 0; k < c.steps; ++k) {
    if (k == c.steps * 3 / 4) adam.set_lr(float(c.lr / 10.0));
    MatD X0(2, c.batch), Xt(2, c.batch);
    const MatD eps = rng.normal_matrix<double>(2, c.batch);
    for (Index j = 0; j < c.batch; ++j) {
      X0.col(j) = data.col(Index(rng.below(std::uint64_t(data.cols()))));
      times[std::size_t(j)] = 1 + int(rng.below(std::uint64_t(T)));
      Xt.col(j) = q_sample(X0.col(j), s.alpha_bar(times[std::size_t(j)] - 1), eps.col(j));
    }
    const MatF input = network_input(Xt, times, c.embedding);
    typename ch03::Mlp<float>::Cache cache;
    const MatF out = p.net.forward(input, &cache);
    // L = 1/B sum_j ||eps_j - eps_hat_j||^2 (the simplified loss, summed over the 2 coordinates).
    const MatF diff = out - eps.cast<float>();
    const double loss = double(diff.squaredNorm()) / double(c.batch);
    require_finite_loss(loss, k / per_epoch, k % per_epoch, "DDPM loss");
    adam.zero_grad();
    p.net.backward(cache, MatF(2.0f * diff / float(c.batch)));
    adam.step();
    running = k == 0 ? loss : 0.98 * running + 0.02 * loss;
    if ((k + 1) % 50 == 0) {
      p.step.push_back(k + 1);
      p.loss.push_back(running);
    }
    if (progress) {
      progress->batch(k % per_epoch, loss);
      if ((k + 1) % per_epoch == 0 || k + 1 == c.steps) progress->epoch(k / per_epoch, "loss " + std::to_string(running));
    }
  }
  return p;
}

}  // namespace course::ch14
