// One epoch of chapter 8's VAE (784-400-20, ReLU, Bernoulli decoder, as the PyTorch example) on the
// 60,000 Fashion-MNIST training images: batch 128, Adam lr 1e-3, float. Prints seconds per epoch,
// images per second, the test ELBO and the peak resident memory. See bench/README.md.
//
//   bench_vae_epoch [--threads N] [--epochs E] [--seed S] [--data DIR]
//       one run with N threads (default 2): one line of figures per epoch
//   bench_vae_epoch --compare [--epochs E]
//       the same training with 1 and with 2 threads in one process: are the parameters bitwise equal?
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "08_vae/vae.hpp"
#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"

using namespace course;
using namespace course::ch08;

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

Vae<float> train(const TrainTest& data, int threads, int epochs, std::uint64_t seed, bool print) {
  set_threads(threads);
  VaeConfig cfg;  // 784-400-20, Bernoulli, beta = 1
  Rng init(seed);
  Vae<float> vae(cfg, init);
  Adam<float> adam(vae.parameters(), 1e-3f);
  for (int e = 0; e < epochs; ++e) {
    Stopwatch clock;
    train_epoch(vae, adam, data.train, 128, seed + 1000 * std::uint64_t(e),
                [&](Index k, double loss) { require_finite_loss(loss, e, k); });
    const double seconds = clock.seconds();
    const double test_elbo = mean_elbo(vae, data.test, seed + 77);
    if (print)
      std::printf("c++ threads=%d epoch=%d seconds=%.3f images_per_second=%.0f test_elbo=%.3f peak_rss_mb=%.1f\n",
                  threads, e + 1, seconds, double(data.train.size()) / seconds, test_elbo, peak_rss_mb());
  }
  return vae;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, epochs = 1;
  std::uint64_t seed = 1;
  bool compare = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = std::stoi(value());
    else if (a == "--epochs") epochs = std::stoi(value());
    else if (a == "--seed") seed = std::stoull(value());
    else if (a == "--data") dir = value();
    else if (a == "--compare") compare = true;
    else {
      std::fprintf(stderr, "unrecognised option '%s'\n", a.c_str());
      return 2;
    }
  }
  try {
    const TrainTest data = load_image_data(dir, std::cerr);
    if (!compare) {
      train(data, threads, epochs, seed, true);
      return 0;
    }
    const Vae<float> one = train(data, 1, epochs, seed, true);
    const Vae<float> two = train(data, 2, epochs, seed, true);
    const nn::Linear<float>* a[] = {&one.enc1, &one.enc2, &one.dec1, &one.dec2};
    const nn::Linear<float>* b[] = {&two.enc1, &two.enc2, &two.dec1, &two.dec2};
    double max_diff = 0;
    bool equal = true;
    for (int l = 0; l < 4; ++l) {
      equal = equal && (a[l]->W.array() == b[l]->W.array()).all() && (a[l]->b.array() == b[l]->b.array()).all();
      max_diff = std::max({max_diff, double((a[l]->W - b[l]->W).cwiseAbs().maxCoeff()),
                           double((a[l]->b - b[l]->b).cwiseAbs().maxCoeff())});
    }
    std::printf("parameters after %d epoch(s) with 1 and 2 threads: %s (max |difference| %.3g)\n", epochs,
                equal ? "bitwise equal" : "DIFFERENT", max_diff);
    return equal ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_vae_epoch: %s\n", e.what());
    return 2;
  }
}
