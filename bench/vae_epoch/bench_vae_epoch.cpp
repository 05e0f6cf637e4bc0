// One epoch of chapter 8's VAE (784-400-20, ReLU, Bernoulli decoder, as the PyTorch example) on the
// 60,000 Fashion-MNIST training images: batch 128, Adam lr 1e-3, float. Prints seconds per epoch,
// images per second, the test ELBO and the peak resident memory. See bench/README.md.
//
//   bench_vae_epoch [--threads N] [--epochs E] [--seed S] [--data DIR]
//       one run with N threads (default 2): one line of figures per epoch
//   bench_vae_epoch --compare [--epochs E]
//       the same training with 1 and with 2 threads in one process: are the parameters bitwise equal?
//   bench_vae_epoch --gemm
//       Eigen's GEMM rate on each product of a training step (1 core, and 2 cores running at once),
//       and the GEMM bound of an epoch: the time its products alone take at those rates
//   bench_vae_epoch --profile [--threads N]
//       one epoch timed by phase: data gathering, forward, backward, optimiser; the products alone
//       (as the model partitions them), so the elementwise passes are forward + backward - products
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "08_vae/vae.hpp"
#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/parallel.hpp"

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

// =============================================================================================
// The GEMM bound: the products of one training step, as shapes
// =============================================================================================
// For a layer in -> out and a batch of B images (one per column), a step runs
//   forward   Y  = W X       (out x in) (in x B)
//   backward  dW = dY X^T    (out x B) (B x in)
//             dX = W^T dY    (in x out) (out x B)     (not for the first layer: its input is data)
// Each costs 2 m n k floating-point operations.
struct Product {
  const char* what;
  Index m, n, k;  // C (m x n) = A (m x k) B (k x n)
  int kind;       // 0: W X, 1: dY X^T, 2: W^T dY
};

std::vector<Product> step_products(Index batch) {
  struct Layer { const char* name; Index in, out; bool first; };
  const Layer layers[] = {{"enc1 784->400", 784, 400, true}, {"enc2 400->40", 400, 40, false},
                          {"dec1 20->400", 20, 400, false}, {"dec2 400->784", 400, 784, false}};
  std::vector<Product> p;
  for (const Layer& l : layers) {
    p.push_back({l.name, l.out, batch, l.in, 0});
    p.push_back({l.name, l.out, l.in, batch, 1});
    if (!l.first) p.push_back({l.name, l.in, batch, l.out, 2});
  }
  return p;
}

double flops(const Product& p) { return 2.0 * double(p.m) * double(p.n) * double(p.k); }

// The operands of one product in the layout the model uses, and C = A B over rows [r, r + h).
struct Operands {
  MatF W, X, dY, C;
  explicit Operands(const Product& p, Rng& rng) {
    if (p.kind == 0) { W = rng.normal_matrix<float>(p.m, p.k); X = rng.normal_matrix<float>(p.k, p.n); }
    if (p.kind == 1) { dY = rng.normal_matrix<float>(p.m, p.k); X = rng.normal_matrix<float>(p.n, p.k); }
    if (p.kind == 2) { W = rng.normal_matrix<float>(p.k, p.m); dY = rng.normal_matrix<float>(p.k, p.n); }
    C.resize(p.m, p.n);
  }
  void rows(int kind, Index r, Index h) {
    if (kind == 0) C.middleRows(r, h).noalias() = W.middleRows(r, h) * X;
    if (kind == 1) C.middleRows(r, h).noalias() = dY.middleRows(r, h) * X.transpose();
    if (kind == 2) C.middleRows(r, h).noalias() = W.middleCols(r, h).transpose() * dY;
  }
};

// Seconds per call of f: the fastest of repeated runs of ~20 ms within `budget` seconds, after a
// warm-up (the minimum, not the mean: on a shared machine other programs only ever add time).
template <class F>
double seconds_per_call(F&& f, double budget = 0.2) {
  for (int i = 0; i < 3; ++i) f();
  long calls = 1;
  for (Stopwatch probe; probe.seconds() < 0.02; ++calls) f();
  double best = 1e300;
  for (Stopwatch clock; clock.seconds() < budget;) {
    Stopwatch run;
    for (long i = 0; i < calls; ++i) f();
    best = std::min(best, run.seconds() / double(calls));
  }
  return best;
}

// Seconds per product when two cores each run their own copy of it at the same time (both cores
// busy, as in a 2-thread epoch: shared caches, memory bandwidth and clock).
double seconds_per_call_on_two_cores(const Product& p) {
  Rng r1(1), r2(2);
  Operands a(p, r1), b(p, r2);
  std::atomic<int> ready{0};
  double t[2] = {0, 0};
  auto run = [&](Operands& o, int slot) {
    ready.fetch_add(1);
    while (ready.load() < 2) {}
    t[slot] = seconds_per_call([&] { o.rows(p.kind, 0, p.m); });
  };
  std::thread other(run, std::ref(b), 1);
  run(a, 0);
  other.join();
  return std::max(t[0], t[1]) / 2.0;  // two products done per that time
}

// The model's partition of an m-row product: at most 4 row blocks of a multiple of 8 rows.
Index rows_per_block(Index m) { return std::max<Index>(8, ((m + 3) / 4 + 7) / 8 * 8); }

// Seconds for the products of one step as the model runs them: fixed row blocks, for_blocks.
double partitioned_step_products(int threads) {
  set_threads(threads);
  Rng rng(3);
  std::vector<Product> ps = step_products(128);
  std::vector<Operands> ops;
  for (const auto& p : ps) ops.emplace_back(p, rng);
  return seconds_per_call([&] {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const Index m = ps[i].m, block = rows_per_block(m), blocks = (m + block - 1) / block;
      parallel::for_blocks(blocks, [&](Index k) {
        const Index r = k * block;
        ops[i].rows(ps[i].kind, r, std::min(block, m - r));
      });
    }
  }, 0.5);
}

constexpr double kImages = 60000, kBatch = 128;

int gemm_report() {
  set_threads(1);
  const std::vector<Product> ps = step_products(Index(kBatch));
  std::printf("Eigen %d.%d.%d float GEMM on the products of one training step (batch %g), hot caches:\n",
              EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, kBatch);
  std::printf("  %-14s %-9s %5s %5s %5s  %10s %10s\n", "layer", "product", "m", "n", "k", "1 core", "2 cores");
  double step_flops = 0, t1 = 0, t2 = 0;
  const char* names[] = {"W X", "dY X^T", "W^T dY"};
  for (const auto& p : ps) {
    Rng rng(7);
    Operands o(p, rng);
    const double s1 = seconds_per_call([&] { o.rows(p.kind, 0, p.m); });
    const double s2 = seconds_per_call_on_two_cores(p);
    step_flops += flops(p);
    t1 += s1;
    t2 += s2;
    std::printf("  %-14s %-9s %5td %5td %5td  %6.1f GF/s %6.1f GF/s\n", p.what, names[p.kind], p.m, p.n, p.k,
                flops(p) / s1 / 1e9, flops(p) / s2 / 1e9);
  }
  const double steps = kImages / kBatch;
  std::printf("gemm_rate shape=400x784x128 (as torch's 128x784 @ 784x400) threads=1 gflops=%.1f\n",
              flops(ps[0]) / [&] { Rng r(9); Operands o(ps[0], r); return seconds_per_call([&] { o.rows(0, 0, ps[0].m); }); }() / 1e9);
  std::printf("gemm_bound epoch_gflop=%.1f threads=1 seconds=%.3f gflops=%.1f\n", steps * step_flops / 1e9, steps * t1,
              step_flops / t1 / 1e9);
  std::printf("gemm_bound epoch_gflop=%.1f threads=2 seconds=%.3f gflops=%.1f\n", steps * step_flops / 1e9, steps * t2,
              step_flops / t2 / 1e9);
  for (int t : {1, 2})
    std::printf("partitioned_products threads=%d seconds=%.3f (the model's fixed row blocks, for_blocks, alone)\n", t,
                steps * partitioned_step_products(t));
  return 0;
}

// One epoch timed by phase: the loop of train_epoch (course::train_minibatches: shuffle, gather,
// zero_grad, forward, backward, step), with a stopwatch around each part.
int profile(const TrainTest& data, int threads, std::uint64_t seed) {
  set_threads(threads);
  VaeConfig cfg;
  Rng init(seed);
  Vae<float> vae(cfg, init);
  Adam<float> adam(vae.parameters(), 1e-3f);
  Rng shuffle_rng(seed, 0xABCD);
  const Minibatches batches(data.train.size(), Index(kBatch), shuffle_rng);
  double gather = 0, fwd = 0, bwd = 0, opt = 0;
  Mat<float> X;
  Stopwatch total;
  for (Index k = 0; k < batches.count(); ++k) {
    Stopwatch c0;
    X = data.train.batch<float>(batches.indices(k), batches.size(k));
    Rng rng(seed, std::uint64_t(k));
    const Mat<float> eps = rng.normal_matrix<float>(vae.latent(), X.cols());
    gather += c0.seconds();
    Stopwatch c1;
    adam.zero_grad();
    const float loss = vae.forward(X, eps);
    fwd += c1.seconds();
    require_finite_loss(double(loss), 0, k);
    Stopwatch c2;
    vae.backward(X);
    bwd += c2.seconds();
    Stopwatch c3;
    adam.step();
    opt += c3.seconds();
  }
  const double epoch = total.seconds();
  const double products = (kImages / kBatch) * partitioned_step_products(threads);
  std::printf("profile threads=%d epoch=%.3f gather=%.3f forward=%.3f backward=%.3f optimiser=%.3f products=%.3f "
              "elementwise=%.3f\n", threads, epoch, gather, fwd, bwd, opt, products, fwd + bwd - products);
  std::printf("(forward includes zero_grad; elementwise = forward + backward - products)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, epochs = 1;
  std::uint64_t seed = 1;
  bool compare = false, gemm = false, prof = false;
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
    else if (a == "--gemm") gemm = true;
    else if (a == "--profile") prof = true;
    else {
      std::fprintf(stderr, "unrecognised option '%s'\n", a.c_str());
      return 2;
    }
  }
  if (threads < 1) {
    std::fprintf(stderr, "--threads must be >= 1, not %d\n", threads);
    return 2;
  }
  try {
    if (gemm) return gemm_report();
    const TrainTest data = load_image_data(dir, std::cerr);
    if (prof) return profile(data, threads, seed);
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
