// What every derivation test includes: Boost.Test and two macros over the check harness.
#pragma once

#include <boost/test/unit_test.hpp>

#include "course/check.hpp"

// The check must pass (CheckRow::passed: its verdict, and every number in it finite). On failure Boost prints the row: analytic beside numeric, error, tolerance,
// and the detail (the worst coordinates of a gradient, the interval of a Monte Carlo estimate).
#define COURSE_CHECK(row_expr)                                \
  do {                                                        \
    const ::course::CheckRow course_row_ = (row_expr);        \
    BOOST_TEST_MESSAGE(course_row_.line());                   \
    BOOST_TEST(course_row_.passed(), course_row_.report());       \
  } while (0)

// The same check applied to a planted wrong formula must fail: the proof that the check can fail.
// `wrong` names the mistake, e.g. "a missing factor 1/2".
#define COURSE_CHECK_REJECTS(row_expr, wrong)                                                  \
  do {                                                                                         \
    const ::course::CheckRow course_row_ = (row_expr);                                         \
    BOOST_TEST_MESSAGE("rejects " << wrong << ": " << course_row_.line());                     \
    BOOST_TEST(!course_row_.passed(), "the check accepted " << wrong << ":\n" << course_row_.report()); \
  } while (0)
