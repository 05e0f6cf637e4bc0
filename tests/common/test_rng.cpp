#include <set>

#include "check_test.hpp"
#include "course/rng.hpp"

using namespace course;

BOOST_AUTO_TEST_SUITE(rng)

BOOST_AUTO_TEST_CASE(same_seed_and_stream_give_the_same_draws_different_streams_differ) {
  Rng a(42, 3), b(42, 3), c(42, 4), d(43, 3);
  for (int i = 0; i < 10; ++i) {
    const auto x = a();
    BOOST_TEST(x == b());
    BOOST_TEST(x != c());
    BOOST_TEST(x != d());
  }
}

BOOST_AUTO_TEST_CASE(uniform_and_normal_have_the_right_moments) {
  // Means and second moments against their exact values at a 1e-6 false-failure rate.
  COURSE_CHECK(check_monte_carlo("rng", "E[U] = 1/2", 0.5, monte_carlo(100000, 1, [](Rng& r) { return r.uniform(); })));
  COURSE_CHECK(check_monte_carlo("rng", "E[U^2] = 1/3", 1.0 / 3, monte_carlo(100000, 2, [](Rng& r) { const double u = r.uniform(); return u * u; })));
  COURSE_CHECK(check_monte_carlo("rng", "E[Z] = 0", 0.0, monte_carlo(100000, 3, [](Rng& r) { return r.normal(); })));
  COURSE_CHECK(check_monte_carlo("rng", "E[Z^4] = 3", 3.0, monte_carlo(200000, 4, [](Rng& r) { const double z = r.normal(); return z * z * z * z; })));
}

BOOST_AUTO_TEST_CASE(below_is_in_range_and_shuffle_is_a_permutation) {
  Rng r(9);
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[std::size_t(i)] = i;
  r.shuffle(v);
  BOOST_TEST(std::set<int>(v.begin(), v.end()).size() == 100u);
  for (int i = 0; i < 1000; ++i) BOOST_TEST(r.below(7) < 7u);
}

BOOST_AUTO_TEST_CASE(parallel_chunks_are_in_chunk_order_for_any_thread_count) {
  auto run = [] {
    return parallel_chunks(10000, 1000, 5, [](Rng& r, Index b, Index e) { return double(r()) + double(b + e); });
  };
  set_threads(1);
  const auto one = run();
  set_threads(2);
  const auto two = run();
  BOOST_TEST(one.size() == 10u);
  BOOST_TEST(one == two);
}

BOOST_AUTO_TEST_CASE(an_exception_in_a_chunk_is_rethrown_not_fatal) {
  // A stub's NotImplemented inside a parallel sampler must fail the test, not terminate.
  set_threads(2);
  BOOST_CHECK_THROW(monte_carlo(100000, 1, [](Rng& r) -> double {
                      if (r.uniform() < 2.0) throw std::runtime_error("from a sampler");
                      return 0.0;
                    }),
                    std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
