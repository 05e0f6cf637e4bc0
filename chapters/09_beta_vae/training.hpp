// Training beta-VAEs and measuring them on held-out images: rate, distortion, the KL of each
// latent dimension, and (sprites) the MIG against the known factors (eq. 9.6).
//
// The model is chapter 8's VAE (chapters/08_vae/vae.hpp), whose config already carries the KL
// weight beta: its loss is (1/B) sum_b [ -log p(x_b|z_b) + beta KL_b ] (eq. 9.1), trained here with
// the course's training loop (course::train_minibatches) and course::Adam (float, thread-count
// independent), with the sizes of TrainConfig (784-hidden-latent, Bernoulli decoder).
#pragma once

#include <algorithm>
#include <exception>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "08_vae/vae.hpp"
#include "course/cli.hpp"
#include "course/parallel.hpp"
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
ch08::VaeConfig beta_vae_config(Index dim, const TrainConfig& c, double beta);

// Trains one model at weight beta on `train` with Adam through course::train_minibatches (every
// batch checked for a finite loss before its step): epoch e shuffles and draws eps from
// seed + 1000 e, as chapter 8 does.
Vae<float> train_beta_vae(const ImageSet& train, double beta, const TrainConfig& c, std::ostream& os);

// Equal-width binning of x into `bins` labels 0..bins-1 over [min x, max x] (for the MIG, eq. 9.6).
std::vector<int> discretise(const VecD& x, int bins);

// Test distortion and rate (one z sample per image, fixed seed) and the mean KL of each latent;
// the posterior means into *mu_all (k x n) when given.
void measure_rate_distortion(BetaRun& run, const ImageSet& test, std::uint64_t seed, MatD* mu_all = nullptr);

// The above, and the MIG of the posterior means against the sprites' factors (latents and
// continuous factors in 20 equal-width bins; the shape factor keeps its 3 values).
void evaluate(BetaRun& run, const ImageSet& test, std::uint64_t seed);

// Trains and measures one model per beta, the models in parallel: one block of
// course::parallel::for_blocks per model, --threads of them at a time. Inside a block every
// product of the model runs on that block's thread (a nested for_blocks runs inline), so there is
// no fork and join per layer, which on shared cores costs more than these small layers. The
// results are those of a sequential run (chapter 8's VAE does not depend on the thread count).
// Each model's progress goes to a buffer, printed in the order of `betas` afterwards; an exception
// (a non-finite loss) is carried out of the parallel loop and rethrown. measure(run) fills the run's test metrics.
template <class Measure>
std::vector<BetaRun> train_sweep(const ImageSet& train, const std::vector<double>& betas, const TrainConfig& c,
                                 std::ostream& os, Measure measure) {
  const Index n = Index(betas.size());
  std::vector<BetaRun> runs(betas.size());
  std::vector<std::ostringstream> logs(betas.size());
  std::vector<std::exception_ptr> errors(betas.size());
  parallel::for_blocks(n, [&](Index i) {
    try {
      Stopwatch clock;
      BetaRun& run = runs[std::size_t(i)];
      run.beta = betas[std::size_t(i)];
      run.vae = train_beta_vae(train, run.beta, c, logs[std::size_t(i)]);
      measure(run);
      run.seconds = clock.seconds();
    } catch (...) {
      errors[std::size_t(i)] = std::current_exception();
    }
  });
  for (std::size_t i = 0; i < betas.size(); ++i) {
    os << logs[i].str();
    if (errors[i]) std::rethrow_exception(errors[i]);
  }
  return runs;
}

}  // namespace course::ch09
