// One seeded random generator for the whole course, and fixed-chunk parallel Monte Carlo.
//
// Rng is xoshiro256** seeded through SplitMix64 from a (seed, stream) pair. Parallel work is split
// into fixed chunks; chunk c draws from Rng(seed, c) and partial results are combined in chunk
// order, so every result is bitwise the same for any number of threads.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <vector>

#include "course/parallel.hpp"
#include "course/types.hpp"

namespace course {

class Rng {
 public:
  using result_type = std::uint64_t;

  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0);

  // 64 random bits (UniformRandomBitGenerator, so std::shuffle etc. accept an Rng).
  result_type operator()();
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }

  // Uniform on [0, 1) with 53 random bits.
  double uniform();
  // Uniform on [a, b).
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  // Standard normal N(0, 1) by the Marsaglia polar method.
  double normal();
  // Uniform integer in [0, n), unbiased.
  std::uint64_t below(std::uint64_t n);
  // Bernoulli(p).
  bool bernoulli(double p) { return uniform() < p; }

  // A rows x cols matrix of independent N(0, 1) draws (filled column by column).
  template <class Scalar>
  Mat<Scalar> normal_matrix(Index rows, Index cols) {
    Mat<Scalar> m(rows, cols);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<Scalar>(normal());
    return m;
  }
  // A rows x cols matrix of independent U(a, b) draws.
  template <class Scalar>
  Mat<Scalar> uniform_matrix(Index rows, Index cols, double a, double b) {
    Mat<Scalar> m(rows, cols);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) m(i, j) = static_cast<Scalar>(uniform(a, b));
    return m;
  }

  // Fisher-Yates shuffle (portable: the same permutation on every platform).
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t s_[4];
  double cached_normal_ = 0.0;
  bool has_cached_normal_ = false;
};

// Splits the items [0, n) into consecutive chunks of `chunk` items. Chunk c is processed by
// f(rng, begin, end) with its own Rng(seed, c); the partial results come back in chunk order.
// The chunks run in parallel (parallel::for_blocks); the result does not depend on the thread
// count. If chunks throw (a student's NotImplemented inside a sampler), the exception of the
// first chunk that threw is rethrown after all ran, so a test fails cleanly.
template <class F>
auto parallel_chunks(Index n, Index chunk, std::uint64_t seed, F f) {
  using Partial = decltype(f(std::declval<Rng&>(), Index{0}, Index{0}));
  const Index chunks = n <= 0 ? 0 : (n + chunk - 1) / chunk;
  std::vector<Partial> partial(static_cast<std::size_t>(chunks));
  parallel::for_blocks(chunks, [&](Index c) {
    Rng rng(seed, static_cast<std::uint64_t>(c));
    const Index begin = c * chunk;
    partial[static_cast<std::size_t>(c)] = f(rng, begin, std::min(n, begin + chunk));
  });
  return partial;
}

// Sets the number of threads of parallel::for_blocks and OpenMP (0: the default, all cores).
// Eigen's own threading stays off (one thread): products are parallel through for_blocks.
void set_threads(int threads);

// Runs Eigen single-threaded while alive, restoring the previous count after. Eigen is now
// single-threaded throughout (set_threads and parallel.cpp keep it at one thread), so this only
// documents intent where a chapter relied on it. Minibatch products are too small for Eigen's
// threaded GEMM to pay, and its OpenMP threads spin-wait on each other: on a loaded 2-core machine
// two threads took five times the CPU time of one (measured in chapter 4).
class SingleThreadedEigen {
 public:
  SingleThreadedEigen() : saved_(Eigen::nbThreads()) { Eigen::setNbThreads(1); }
  ~SingleThreadedEigen() { Eigen::setNbThreads(saved_); }
  SingleThreadedEigen(const SingleThreadedEigen&) = delete;
  SingleThreadedEigen& operator=(const SingleThreadedEigen&) = delete;

 private:
  int saved_;
};

}  // namespace course
