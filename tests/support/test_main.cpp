// The Boost.Test main shared by every test executable.
#define BOOST_TEST_MODULE course
#include <boost/test/unit_test.hpp>
#include <boost/test/unit_test_monitor.hpp>

#include "course/error.hpp"

namespace {

// An exercise that is still a stub fails its test with "exercise N.k name not implemented yet",
// reported as a failed check rather than as an unexpected exception.
void report_not_implemented(const course::NotImplemented& e) { BOOST_FAIL(e.what()); }

struct RegisterTranslators {
  RegisterTranslators() {
    boost::unit_test::unit_test_monitor.register_exception_translator<course::NotImplemented>(
        &report_not_implemented);
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(RegisterTranslators);
