// The layer stack's promise, tested once per model family: a model trained from a fixed seed has
// bitwise the same parameters whatever the number of threads (course/parallel.hpp: fixed blocks,
// never derived from the thread count; course/train.hpp: randomness from (seed, epoch, batch)).
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <vector>

#include "course/optim.hpp"
#include "course/rng.hpp"
#include "course/types.hpp"

namespace course::test {

// Copies of the values of parameter blocks (a model's params() or parameters()).
template <class Scalar>
std::vector<std::vector<Scalar>> values_of(const std::vector<Param<Scalar>>& params) {
  std::vector<std::vector<Scalar>> out;
  for (const auto& p : params) out.emplace_back(p.value, p.value + p.size);
  return out;
}

// The bits of a double matrix as words of Scalar (a float model's list of values can then carry
// its double codebook too, compared bit for bit like the rest; not meant as numbers).
template <class Scalar>
std::vector<Scalar> bits_of(const MatD& M) {
  static_assert(sizeof(double) % sizeof(Scalar) == 0);
  std::vector<Scalar> out(std::size_t(M.size()) * (sizeof(double) / sizeof(Scalar)));
  std::memcpy(out.data(), M.data(), std::size_t(M.size()) * sizeof(double));
  return out;
}

// Runs train() (which trains a model from its fixed seed and returns values_of its parameters)
// with 1 and with 2 threads (course::set_threads; the default is restored after) and requires
// every number to agree bit for bit (memcmp: a -0 against a 0, or any NaN, fails). `initial` is
// values_of the same model before training: the runs must have moved some parameter, so that a
// "training" that does nothing cannot pass.
template <class Scalar, class Train>
void check_bitwise_equal_for_1_and_2_threads(const std::vector<std::vector<Scalar>>& initial, Train&& train) {
  struct Restore {
    ~Restore() { set_threads(0); }
  } restore;
  set_threads(1);
  const std::vector<std::vector<Scalar>> one = train();
  set_threads(2);
  const std::vector<std::vector<Scalar>> two = train();
  BOOST_REQUIRE_EQUAL(one.size(), two.size());
  BOOST_REQUIRE_EQUAL(one.size(), initial.size());
  bool moved = false;
  for (std::size_t k = 0; k < one.size(); ++k) {
    BOOST_REQUIRE_EQUAL(one[k].size(), two[k].size());
    BOOST_TEST(std::memcmp(one[k].data(), two[k].data(), one[k].size() * sizeof(Scalar)) == 0,
               "parameter block " << k << " differs between 1 and 2 threads");
    moved = moved || one[k] != initial[k];
  }
  BOOST_TEST(moved, "training left every parameter at its initial value");
}

}  // namespace course::test
