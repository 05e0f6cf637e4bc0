// The course's one training loop: epochs of shuffled minibatches, a progress display, a stopwatch
// and a stop with a clear message on a non-finite loss. Every chapter trains through it.
//
//   TrainOptions opt{.epochs = 10, .batch = 128, .seed = seed, .what = "VAE", .progress = &std::cout};
//   Adam<float> adam(model.parameters(), 1e-3f);
//   train_minibatches(images.size(), adam, opt,
//       [&](const Minibatch& b) {                     // forward + backward of one batch
//         const MatF X = images.batch<float>(b.indices, b.size);
//         return double(model.loss_and_gradient(X));  // gradients accumulate (course/nn.hpp)
//       },
//       [&](int epoch) { return "test error " + std::to_string(test_error()); });
//
// Per batch the loop calls optimizer.zero_grad(), the step, checks that the loss is finite
// (TrainingDiverged, naming the run, epoch and batch, otherwise) and calls optimizer.step(). A
// model with its own update (two optimisers, a GAN) uses the overload without an optimiser: its
// step does zero_grad/step itself.
//
// Randomness is a function of (seed, epoch, batch), never of the thread count: epoch e shuffles
// with Rng(seed + 1000 e, 0xABCD), and batch k of it draws its noise (eps, corruption, dropout)
// from Minibatch::rng() = Rng(seed + 1000 e, k).
//
// Public names (stable): TrainOptions, Minibatch, TrainLog, train_minibatches, no_metrics.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/rng.hpp"
#include "course/types.hpp"

namespace course {

struct TrainOptions {
  int epochs = 1;
  Index batch = 128;
  std::uint64_t seed = 1;
  std::string what = "training";     // names the run in the progress display and in a divergence
  std::ostream* progress = nullptr;  // where the progress goes; null: silent
};

// One minibatch as the loop hands it to the step.
struct Minibatch {
  int epoch = 0;                 // 0-based
  Index index = 0;               // 0-based, within the epoch
  Index count = 0;               // batches in the epoch
  const Index* indices = nullptr;  // the samples of the batch
  Index size = 0;
  std::uint64_t epoch_seed = 0;  // seed + 1000 * epoch
  // The batch's own random stream.
  Rng rng() const { return Rng(epoch_seed, std::uint64_t(index)); }
};

struct TrainLog {
  std::vector<double> epoch_loss;  // the mean batch loss of each epoch
  double seconds = 0.0;            // wall-clock time of the whole loop
};

inline std::string no_metrics(int) { return ""; }

// `step(const Minibatch&) -> double`: one batch's update, returning its loss.
// `after_epoch(int epoch) -> std::string` or `after_epoch(int epoch, double mean_loss) -> std::string`:
// metrics for the epoch's progress line (mean_loss: the mean batch loss of the epoch).
template <class Step, class AfterEpoch>
TrainLog train_minibatches(Index n, const TrainOptions& opt, Step&& step, AfterEpoch&& after_epoch) {
  if (n <= 0 || opt.batch <= 0) throw InputError(opt.what + ": nothing to train on (" + std::to_string(n) + " samples, batch " + std::to_string(opt.batch) + ")");
  const Index batches = (n + opt.batch - 1) / opt.batch;
  std::unique_ptr<Progress> bar;
  if (opt.progress) bar = std::make_unique<Progress>(*opt.progress, opt.what, opt.epochs, long(batches));
  TrainLog log;
  Stopwatch clock;
  for (int e = 0; e < opt.epochs; ++e) {
    Minibatch b;
    b.epoch = e;
    b.epoch_seed = opt.seed + 1000 * std::uint64_t(e);
    Rng shuffle(b.epoch_seed, 0xABCD);
    const Minibatches order(n, opt.batch, shuffle);
    b.count = order.count();
    double total = 0.0;
    for (Index k = 0; k < order.count(); ++k) {
      b.index = k;
      b.indices = order.indices(k);
      b.size = order.size(k);
      const double loss = step(static_cast<const Minibatch&>(b));
      require_finite_loss(loss, e, long(k), opt.what + " loss");
      total += loss;
      if (bar) bar->batch(long(k), loss);
    }
    log.epoch_loss.push_back(total / double(order.count()));
    std::string metrics;
    if constexpr (std::is_invocable_v<AfterEpoch, int, double>)
      metrics = after_epoch(e, log.epoch_loss.back());
    else
      metrics = after_epoch(e);
    if (bar) bar->epoch(e, metrics);
  }
  log.seconds = clock.seconds();
  return log;
}

// The same with the optimiser's zero_grad() before and step() after each batch:
// `batch_loss(const Minibatch&) -> double` runs forward and backward and returns the loss.
template <class Optimizer, class BatchLoss, class AfterEpoch>
TrainLog train_minibatches(Index n, Optimizer& optimizer, const TrainOptions& opt, BatchLoss&& batch_loss,
                           AfterEpoch&& after_epoch) {
  return train_minibatches(
      n, opt,
      [&](const Minibatch& b) {
        optimizer.zero_grad();
        const double loss = batch_loss(b);
        // A non-finite loss must stop before its gradient reaches the parameters.
        require_finite_loss(loss, b.epoch, long(b.index), opt.what + " loss");
        optimizer.step();
        return loss;
      },
      after_epoch);
}

}  // namespace course
