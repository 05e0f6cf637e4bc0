// The bodies of 13_gan/ring.hpp's experiments, compiled once.
#include "13_gan/ring.hpp"

#include <cmath>
#include <ostream>

#include "08_vae/vae.hpp"
#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch13 {

GanConfig ring_config(int epochs) {
  GanConfig c;
  c.data_dim = 2;
  c.latent = 2;
  c.hidden = 128;
  c.layers = 2;
  c.batch = 256;
  c.epochs = epochs;
  return c;
}

RingRun train_ring_gan(const std::string& name, const GanConfig& config, const MatF& train, std::uint64_t seed,
                       Index eval_n, const std::vector<int>& snapshot_epochs, std::ostream* progress) {
  const GaussianMixture2D g = ring_data();
  RingRun run;
  run.name = name;
  run.config = config;
  Rng init(seed);
  Gan gan = make_gan(config, init);
  run.history = train_gan(
      gan, columns_of(train), seed, snapshot_epochs, eval_n,
      [&](int e) {
        Rng r(seed + 7, std::uint64_t(e));
        const ModeCoverage m = mode_coverage(g, generate(gan, eval_n, r));
        run.covered.push_back(m.covered);
        run.on_mode.push_back(m.on_mode);
        return "modes " + std::to_string(m.covered) + "/8, on-mode " + std::to_string(int(std::lround(100 * m.on_mode))) + "%";
      },
      progress);
  Rng r(seed + 8);
  run.samples = generate(gan, eval_n, r);
  run.final = mode_coverage(g, run.samples);
  return run;
}

RingVae train_ring_vae(const MatF& train, int epochs, std::uint64_t seed, Index n) {
  ch08::VaeConfig c;
  c.input = 2;
  c.hidden = 128;
  c.latent = 2;
  c.likelihood = ch08::Likelihood::Gaussian;
  c.log_noise_var = std::log(0.1);
  Rng init(seed);
  ch08::Vae<float> vae(c, init);
  Adam<float> adam(vae.parameters(), 1e-3f);
  TrainOptions opt;
  opt.epochs = epochs;
  opt.batch = 256;
  opt.seed = seed;
  opt.what = "VAE on the ring";
  const TrainLog log = train_minibatches(train.cols(), adam, opt, [&](const Minibatch& b) {
    MatF X(2, b.size);
    for (Index j = 0; j < b.size; ++j) X.col(j) = train.col(b.indices[j]);
    Rng r = b.rng();
    const float loss = vae.forward(X, r.normal_matrix<float>(c.latent, b.size));
    vae.backward(X);
    return double(loss);
  }, no_metrics);
  RingVae out;
  Rng r(seed + 1);
  out.noise_sd = std::exp(0.5 * double(vae.log_noise_var));
  const MatD mean = vae.decode_mean(r.normal_matrix<float>(c.latent, n)).cast<double>();
  out.samples = mean + out.noise_sd * r.normal_matrix<double>(2, n);
  out.seconds = log.seconds;
  return out;
}

}  // namespace course::ch13
