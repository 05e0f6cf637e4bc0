// course::parallel::for_blocks: every block runs exactly once (also over thousands of back-to-back
// jobs, which is where a late worker could claim a block of the wrong job), nested calls, calls
// from several threads at once, exceptions, and results bitwise independent of the thread count
// on a real blocked matrix product. No timing here: how it behaves on a busy machine is measured
// by bench/vae_epoch (see bench/README.md).
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check_test.hpp"
#include "course/parallel.hpp"
#include "course/rng.hpp"

using namespace course;
using course::parallel::for_blocks;

namespace {

// Restores the default thread count when a test case ends.
struct ThreadCount {
  explicit ThreadCount(int n) { set_threads(n); }
  ~ThreadCount() { set_threads(0); }
};

// How many times each of `blocks` blocks ran in `jobs` consecutive for_blocks calls.
std::vector<int> run_counts(Index blocks, int jobs) {
  std::vector<std::atomic<int>> count(static_cast<std::size_t>(blocks));
  for (int j = 0; j < jobs; ++j)
    for_blocks(blocks, [&](Index k) { count[std::size_t(k)].fetch_add(1, std::memory_order_relaxed); });
  std::vector<int> out;
  for (auto& c : count) out.push_back(c.load());
  return out;
}

// C = A B, with C split into fixed row blocks of 8 rows (the partition of the layer stack).
MatF blocked_product(const MatF& A, const MatF& B) {
  MatF C(A.rows(), B.cols());
  const Index block = 8, blocks = (A.rows() + block - 1) / block;
  for_blocks(blocks, [&](Index k) {
    const Index r = k * block, h = std::min(block, A.rows() - r);
    C.middleRows(r, h).noalias() = A.middleRows(r, h) * B;
  });
  return C;
}

// The planted mistake: a partition chosen from the thread count. Here the inner dimension is cut
// into threads() slices whose partial products are added, as an OpenMP reduction would: the
// summation order, and so the rounding, changes with the thread count.
MatF product_split_by_thread_count(const MatF& A, const MatF& B) {
  const Index t = parallel::threads(), slice = (A.cols() + t - 1) / t;
  std::vector<MatF> part(static_cast<std::size_t>(t), MatF::Zero(A.rows(), B.cols()));
  for_blocks(t, [&](Index k) {
    const Index c = k * slice, w = std::min(slice, A.cols() - c);
    if (w > 0) part[std::size_t(k)].noalias() = A.middleCols(c, w) * B.middleRows(c, w);
  });
  MatF C = MatF::Zero(A.rows(), B.cols());
  for (const auto& p : part) C += p;
  return C;
}

bool bitwise_equal(const MatF& a, const MatF& b) { return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all(); }

MatF random_matrix(Index rows, Index cols, std::uint64_t seed) {
  Rng r(seed);
  return r.normal_matrix<float>(rows, cols);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parallel_for_blocks)

BOOST_AUTO_TEST_CASE(every_block_runs_exactly_once_for_1_2_and_4_threads) {
  for (int t : {1, 2, 4}) {
    const ThreadCount threads(t);
    for (Index blocks : {0, 1, 2, 3, 7, 64, 1000}) {
      const auto count = run_counts(blocks, 3);
      for (Index k = 0; k < blocks; ++k) BOOST_TEST(count[std::size_t(k)] == 3, "threads " << t << ", block " << k << " of " << blocks);
    }
  }
}

BOOST_AUTO_TEST_CASE(thousands_of_back_to_back_jobs_run_each_block_once) {
  // Short jobs one after another: a worker that wakes late must not claim a block of the next job
  // (nor run the previous job's function). A wrong count here means a block ran twice or never.
  const ThreadCount threads(2);
  const auto count = run_counts(5, 20000);
  for (int c : count) BOOST_TEST(c == 20000);
  // Different sizes in turn, so a stale block count would be visible too.
  std::atomic<long> total{0};
  long expected = 0;
  for (int j = 0; j < 5000; ++j) {
    const Index blocks = 1 + j % 9;
    expected += blocks * (blocks - 1) / 2;
    for_blocks(blocks, [&](Index k) { total.fetch_add(long(k), std::memory_order_relaxed); });
  }
  BOOST_TEST(total.load() == expected);
}

BOOST_AUTO_TEST_CASE(one_thread_runs_every_block_on_the_calling_thread_in_order) {
  const ThreadCount threads(1);
  std::vector<Index> order;
  const auto caller = std::this_thread::get_id();
  bool all_on_caller = true;
  for_blocks(6, [&](Index k) {
    order.push_back(k);
    all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
  });
  BOOST_TEST(all_on_caller);
  BOOST_TEST((order == std::vector<Index>{0, 1, 2, 3, 4, 5}));
}

BOOST_AUTO_TEST_CASE(nested_for_blocks_run_every_inner_block_once) {
  const ThreadCount threads(2);
  std::vector<std::atomic<int>> count(6 * 5);
  for_blocks(6, [&](Index i) {
    for_blocks(5, [&](Index j) { count[std::size_t(i * 5 + j)].fetch_add(1); });
  });
  for (auto& c : count) BOOST_TEST(c.load() == 1);
}

BOOST_AUTO_TEST_CASE(calls_from_two_threads_at_once_each_run_all_their_blocks) {
  // Only one job uses the pool at a time; a second caller runs its blocks itself.
  const ThreadCount threads(2);
  std::vector<std::atomic<int>> a(40), b(40);
  auto hammer = [](std::vector<std::atomic<int>>& c) {
    for (int j = 0; j < 2000; ++j) for_blocks(Index(c.size()), [&](Index k) { c[std::size_t(k)].fetch_add(1); });
  };
  std::thread other([&] { hammer(b); });
  hammer(a);
  other.join();
  for (auto& c : a) BOOST_TEST(c.load() == 2000);
  for (auto& c : b) BOOST_TEST(c.load() == 2000);
}

BOOST_AUTO_TEST_CASE(the_lowest_throwing_block_is_rethrown_after_every_block_ran) {
  // Blocks 3 and 7 throw; the caller must see block 3's exception whatever the thread count (a
  // "first exception to happen" rule would depend on timing), and every other block still runs.
  for (int t : {1, 2}) {
    const ThreadCount threads(t);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::atomic<int>> ran(10);
      std::string what;
      try {
        for_blocks(10, [&](Index k) {
          ran[std::size_t(k)].fetch_add(1);
          if (k == 3 || k == 7) throw std::runtime_error("block " + std::to_string(k));
        });
      } catch (const std::runtime_error& e) {
        what = e.what();
      }
      BOOST_TEST(what == "block 3", "threads " << t);
      for (auto& r : ran) BOOST_TEST(r.load() == 1);
    }
    // The pool is usable after an exception.
    const auto count = run_counts(16, 10);
    for (int c : count) BOOST_TEST(c == 10);
  }
}

BOOST_AUTO_TEST_CASE(a_blocked_product_is_bitwise_the_same_for_1_and_2_threads) {
  // A layer-sized product (400 x 784 times 784 x 128), with the partition fixed by the caller.
  const MatF A = random_matrix(400, 784, 1), B = random_matrix(784, 128, 2);
  MatF one, two, split_one, split_two;
  {
    const ThreadCount threads(1);
    one = blocked_product(A, B);
    split_one = product_split_by_thread_count(A, B);
  }
  {
    const ThreadCount threads(2);
    for (int repeat = 0; repeat < 5; ++repeat) {
      two = blocked_product(A, B);
      BOOST_TEST(bitwise_equal(one, two), "repeat " << repeat);
    }
    split_two = product_split_by_thread_count(A, B);
  }
  BOOST_TEST(one.allFinite());
  // The check can fail: the partition chosen from the thread count gives different bits.
  BOOST_TEST(!bitwise_equal(split_one, split_two));
  BOOST_TEST((split_one - one).cwiseAbs().maxCoeff() < 1e-2f);  // ... though the same product up to rounding
}

BOOST_AUTO_TEST_CASE(threads_follows_set_threads_and_0_restores_the_default) {
  set_threads(3);
  BOOST_TEST(parallel::threads() == 3);
  set_threads(1);
  BOOST_TEST(parallel::threads() == 1);
  set_threads(0);
  BOOST_TEST(parallel::threads() >= 1);
  BOOST_TEST(Eigen::nbThreads() == 1);  // Eigen's own threading stays off
}

BOOST_AUTO_TEST_SUITE_END()
