// Training beta-VAEs and measuring them on held-out images: rate, distortion, the KL of each
// latent dimension, and (sprites) the MIG against the known factors (eq. 9.6).
//
// The model is chapter 8's VAE (chapters/08_vae/vae.hpp), whose config already carries the KL
// weight beta: its loss is (1/B) sum_b [ -log p(x_b|z_b) + beta KL_b ] (eq. 9.1), trained here with
// chapter 8's train_epoch and ParallelAdam (float, thread-count independent), with the sizes of
// TrainConfig (784-hidden-latent, Bernoulli decoder).
#pragma once

#include <omp.h>

#include <algorithm>
#include <exception>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "08_vae/vae.hpp"
#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch09_beta_vae.hpp"

namespace course::ch09 {

using ch08::Vae;

struct TrainConfig {
  Index hidden = 128, latent = 8, batch = 64;
  int epochs = 6;
  float lr = 1e-3f;
  std::uint64_t seed = 1;
};

struct BetaRun {
  double beta = 1.0;
  Vae<float> vae;
  double distortion = 0.0, rate = 0.0;  // test means, nats per image
  VecD kl_per_dim;                      // test mean KL of each latent
  double mig = 0.0;
  std::vector<double> factor_gap;       // per factor: (I_(1) - I_(2)) / H(v_k)
  double seconds = 0.0;
};

// Chapter 8's VAE configured for a beta sweep: input `dim`, the given sizes, Bernoulli decoder, beta.
inline ch08::VaeConfig beta_vae_config(Index dim, const TrainConfig& c, double beta) {
  ch08::VaeConfig v;
  v.input = dim;
  v.hidden = c.hidden;
  v.latent = c.latent;
  v.likelihood = ch08::Likelihood::Bernoulli;
  v.beta = beta;
  return v;
}

// Trains one model at weight beta on `train` with Adam (every batch checked for a finite loss).
// Epoch e shuffles and draws eps from seed + 1000 e, as chapter 8 does.
inline Vae<float> train_beta_vae(const ImageSet& train, double beta, const TrainConfig& c, std::ostream& os) {
  Rng init(c.seed);
  Vae<float> vae(beta_vae_config(train.dim(), c, beta), init);
  ch08::ParallelAdam<float> adam(vae.parameters(), c.lr);
  std::ostringstream what;
  what << "beta = " << beta;
  Progress progress(os, what.str(), c.epochs, (train.size() + c.batch - 1) / c.batch);
  for (int epoch = 0; epoch < c.epochs; ++epoch) {
    double sum_d = 0.0, sum_r = 0.0;
    Index batches = 0;
    ch08::train_epoch(vae, adam, train, c.batch, c.seed + 1000 * std::uint64_t(epoch), [&](Index k, double loss) {
      require_finite_loss(loss, epoch, long(k));
      // forward() has just filled the batch's per-image -log p(x|z) and KL.
      sum_d += double(vae.reconstruction.mean());
      sum_r += double(vae.kl.mean());
      ++batches;
      progress.batch(long(k), loss);
    });
    std::ostringstream m;
    m << "distortion " << sum_d / double(batches) << "  rate " << sum_r / double(batches) << " nats";
    progress.epoch(epoch, m.str());
  }
  return vae;
}

// Equal-width binning of x into `bins` labels 0..bins-1 over [min x, max x] (for the MIG, eq. 9.6).
inline std::vector<int> discretise(const VecD& x, int bins) {
  const double lo = x.minCoeff(), hi = x.maxCoeff();
  std::vector<int> out(std::size_t(x.size()), 0);
  if (!(hi > lo)) return out;
  for (Index i = 0; i < x.size(); ++i)
    out[std::size_t(i)] = std::min(bins - 1, int(double(bins) * (x(i) - lo) / (hi - lo)));
  return out;
}

// Test distortion and rate (one z sample per image, fixed seed) and the mean KL of each latent;
// the posterior means into *mu_all (k x n) when given.
inline void measure_rate_distortion(BetaRun& run, const ImageSet& test, std::uint64_t seed, MatD* mu_all = nullptr) {
  Rng rng(seed);
  Vae<float>& vae = run.vae;
  const Index k = vae.latent(), n = test.size(), chunk = 500;
  if (mu_all) mu_all->resize(k, n);
  run.distortion = run.rate = 0.0;
  run.kl_per_dim = VecD::Zero(k);
  for (Index first = 0; first < n; first += chunk) {
    const Index m = std::min(chunk, n - first);
    vae.forward(test.range<float>(first, m), rng.normal_matrix<float>(k, m));
    run.distortion += double(vae.reconstruction.sum()) / double(n);
    run.rate += double(vae.kl.sum()) / double(n);
    const MatD mu = vae.mu().cast<double>(), lv = vae.log_var().cast<double>();
    run.kl_per_dim += 0.5 * (mu.array().square() + lv.array().exp() - 1.0 - lv.array()).matrix().rowwise().sum() / double(n);
    if (mu_all) mu_all->middleCols(first, m) = mu;
  }
}

// The above, and the MIG of the posterior means against the sprites' factors (latents and
// continuous factors in 20 equal-width bins; the shape factor keeps its 3 values).
inline void evaluate(BetaRun& run, const ImageSet& test, std::uint64_t seed) {
  MatD mu_all;
  measure_rate_distortion(run, test, seed, &mu_all);
  const Index k = mu_all.rows(), n = mu_all.cols();
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

// Trains and measures one model per beta, the models in parallel (one per OpenMP thread at a
// time, --threads of them): inside a model every product then runs on its own thread (the nested
// regions of chapter 8's VAE get a team of one), so there is no fork and join per layer, which on
// shared cores costs more than these small layers. The results are those of a sequential run
// (chapter 8's VAE does not depend on the thread count). Each model's progress goes to a buffer,
// printed in the order of `betas` afterwards; an exception (a non-finite loss) is carried out of
// the parallel loop and rethrown. measure(run) fills the run's test metrics.
template <class Measure>
std::vector<BetaRun> train_sweep(const ImageSet& train, const std::vector<double>& betas, const TrainConfig& c,
                                 std::ostream& os, Measure measure) {
  const Index n = Index(betas.size());
  std::vector<BetaRun> runs(betas.size());
  std::vector<std::ostringstream> logs(betas.size());
  std::vector<std::exception_ptr> errors(betas.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (Index i = 0; i < n; ++i) {
    try {
      omp_set_num_threads(1);
      Stopwatch clock;
      BetaRun& run = runs[std::size_t(i)];
      run.beta = betas[std::size_t(i)];
      run.vae = train_beta_vae(train, run.beta, c, logs[std::size_t(i)]);
      measure(run);
      run.seconds = clock.seconds();
    } catch (...) {
      errors[std::size_t(i)] = std::current_exception();
    }
  }
  for (std::size_t i = 0; i < betas.size(); ++i) {
    os << logs[i].str();
    if (errors[i]) std::rethrow_exception(errors[i]);
  }
  return runs;
}

}  // namespace course::ch09
