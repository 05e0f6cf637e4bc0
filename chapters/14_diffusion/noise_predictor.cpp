// The bodies of 14_diffusion/noise_predictor.hpp's functions, compiled once.
#include "14_diffusion/noise_predictor.hpp"

#include <cmath>
#include <iomanip>
#include <ostream>
#include <string>

#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch14 {

TrainingConfig default_training() { return {}; }

TrainingConfig quick_training() {
  TrainingConfig c;
  c.epochs = 50;
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

MatD predict_eps(const TrainedPredictor& p, const MatD& X, int t) {
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
  Rng rng(seed);
  TrainedPredictor p;
  p.config = c;
  p.net.add(nn::Linear<float>(2 + c.embedding, c.hidden, rng));
  p.net.add(nn::Activation::ReLU);
  p.net.add(nn::Linear<float>(c.hidden, c.hidden, rng));
  p.net.add(nn::Activation::ReLU);
  p.net.add(nn::Linear<float>(c.hidden, c.hidden, rng));
  p.net.add(nn::Activation::ReLU);
  p.net.add(nn::Linear<float>(c.hidden, 2, rng));
  Adam<float> adam(p.net.parameters("eps"), float(c.lr));
  const MatD data = g.sample(c.train_points, rng);
  const int T = int(s.beta.size());
  TrainOptions opt;
  opt.epochs = c.epochs;
  opt.batch = c.batch;
  opt.seed = seed;
  opt.what = "DDPM noise predictor";
  MatF input(2 + c.embedding, c.batch), eps(2, c.batch);
  const TrainLog trained = train_minibatches(
      data.cols(), adam, opt,
      [&](const Minibatch& b) {
        // A fresh t and eps for each x_0 of the batch, from the batch's own stream.
        Rng r = b.rng();
        input.resize(2 + c.embedding, b.size);
        eps.resize(2, b.size);
        for (Index j = 0; j < b.size; ++j) {
          const int t = 1 + int(r.below(std::uint64_t(T)));
          const MatD e = r.normal_matrix<double>(2, 1);
          input.col(j).head(2) = q_sample(data.col(b.indices[j]), s.alpha_bar(t - 1), e).cast<float>();
          input.col(j).tail(c.embedding) = time_embedding(t, c.embedding, 1).cast<float>();
          eps.col(j) = e.cast<float>();
        }
        // L = 1/B sum_j ||eps_hat_j - eps_j||^2 (the simplified loss, summed over the 2 coordinates).
        const MatF diff = p.net.forward(input) - eps;
        p.net.backward(MatF(2.0f * diff / float(b.size)), false);
        return double(diff.squaredNorm()) / double(b.size);
      },
      [&](int e) {
        if (e + 1 == c.epochs * 3 / 4) adam.set_lr(float(c.lr / 10.0));
        return std::string();
      });
  for (std::size_t e = 0; e < trained.epoch_loss.size(); ++e) {
    p.epoch.push_back(double(e + 1));
    p.loss.push_back(trained.epoch_loss[e]);
    if (log && ((e + 1) % 20 == 0 || e + 1 == trained.epoch_loss.size()))
      *log << "  DDPM noise predictor epoch " << e + 1 << "/" << c.epochs << "  loss " << std::setprecision(4)
           << trained.epoch_loss[e] << "\n";
  }
  p.seconds = trained.seconds;
  return p;
}

}  // namespace course::ch14
