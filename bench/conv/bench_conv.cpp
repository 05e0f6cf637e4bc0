// Forward + backward of a small convolutional autoencoder on one batch of 128 images, with the
// course's layer stack (common/include/course/conv.hpp), timed over many repetitions:
//
//   conv 1->32 k3 s2 p1 (28 -> 14), relu, conv 32->64 k3 s2 p1 (14 -> 7), relu,
//   conv-transpose 64->32 k4 s2 p1 (7 -> 14), relu, conv-transpose 32->1 k4 s2 p1 (14 -> 28),
//   loss: binary cross-entropy from the logits, summed over pixels, mean over the batch.
//
// The same network in PyTorch is bench/conv/conv.py; bench/conv/run_interleaved.sh runs both.
//   build/bench/conv/bench_conv [--threads N] [--repeats R] [--data DIR]
// Prints: c++ threads=N batch=128 ms_per_batch=... images_per_second=... loss=...
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/conv.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/rng.hpp"
#include "course/sequential.hpp"

using namespace course;
using namespace course::nn;

int main(int argc, char** argv) {
  int threads = 2, repeats = 30;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
      return 2;
    }
    if (a == "--threads") threads = std::stoi(argv[++i]);
    else if (a == "--repeats") repeats = std::stoi(argv[++i]);
    else if (a == "--data") dir = argv[++i];
    else {
      std::fprintf(stderr, "error: unknown option %s (use --threads N, --repeats R, --data DIR)\n", a.c_str());
      return 2;
    }
  }
  if (threads < 1 || repeats < 1) {
    std::fprintf(stderr, "error: --threads and --repeats must be positive\n");
    return 2;
  }
  set_threads(threads);
  std::ostringstream log;
  const TrainTest data = load_image_data(dir, log, 200, 10);
  if (data.train.rows != 28 || data.train.cols != 28) {
    std::fprintf(stderr, "error: the benchmark needs 28x28 images\n");
    return 2;
  }
  const Index B = 128;
  const MatF X = data.train.range<float>(0, B);

  Rng init(1);
  Sequential<float> net;
  net.add(Conv2d<float>(1, 32, 3, 2, 1, 28, 28, init));
  net.add(Activation::ReLU);
  net.add(Conv2d<float>(32, 64, 3, 2, 1, 14, 14, init));
  net.add(Activation::ReLU);
  net.add(ConvTranspose2d<float>(64, 32, 4, 2, 1, 7, 7, init));
  net.add(Activation::ReLU);
  net.add(ConvTranspose2d<float>(32, 1, 4, 2, 1, 14, 14, init));

  auto step = [&] {
    net.zero_grad();
    const MatF& logits = net.forward(X);
    const float loss = bce_with_logits_loss<float>(logits, X);
    net.backward(bce_with_logits_backward<float>(logits, X), false);
    return loss;
  };
  float loss = 0;
  for (int w = 0; w < 3; ++w) loss = step();  // warm-up: buffers allocated, caches filled
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    Stopwatch clock;
    loss = step();
    ms.push_back(1000.0 * clock.seconds());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("c++ threads=%d batch=%d ms_per_batch=%.2f images_per_second=%.0f loss=%.3f data=%s\n", threads, int(B),
              median, 1000.0 * double(B) / median, double(loss), data.real ? data.train.name.c_str() : "sprites");
  return 0;
}
