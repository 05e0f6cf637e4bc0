# Precompiled headers. Every file of the course includes Eigen, a dozen standard headers and the
# course's common headers (and every test file Boost.Test): parsing them took 2-6 s per file, a
# large part of a clean build. They are compiled once into two precompiled headers, one for the
# programs and libraries (course_pch) and one for the tests (course_pch_test, with Boost.Test),
# which every other target reuses (course_use_pch). The exercise libraries (solutions/,
# exercises/) use course_pch too, and so does the grader for a submitted file: it compiles with
# the command of compile_commands.json (chapter 1's solution: 15 s without, 9 s with it).
# -DCOURSE_PCH=OFF turns them off.
option(COURSE_PCH "Precompile Eigen, the standard headers and the course's common headers" ON)

set(course_pch_headers
    <algorithm> <cmath> <cstdint> <filesystem> <functional> <iostream> <memory> <numbers>
    <optional> <sstream> <string> <utility> <vector> <omp.h> <Eigen/Dense>
    "${PROJECT_SOURCE_DIR}/common/include/course/types.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/rng.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/check.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/nn.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/sequential.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/conv.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/data.hpp"
    "${PROJECT_SOURCE_DIR}/common/include/course/error.hpp")

if(COURSE_PCH)
  # Same definitions, options and libraries as the targets that reuse them (a precompiled header
  # built with other macros or -m flags is silently ignored; -Winvalid-pch would say so).
  add_library(course_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
  target_include_directories(course_pch PRIVATE ${PROJECT_SOURCE_DIR}/common/include)
  target_link_libraries(course_pch PRIVATE Eigen3::Eigen OpenMP::OpenMP_CXX
                        Boost::program_options Boost::iostreams Boost::filesystem)
  target_precompile_headers(course_pch PRIVATE ${course_pch_headers})
  course_compile_options(course_pch)

  add_library(course_pch_test OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
  target_include_directories(course_pch_test PRIVATE ${PROJECT_SOURCE_DIR}/common/include)
  target_link_libraries(course_pch_test PRIVATE Eigen3::Eigen OpenMP::OpenMP_CXX
                        Boost::program_options Boost::iostreams Boost::filesystem Boost::unit_test_framework)
  target_compile_definitions(course_pch_test PRIVATE BOOST_TEST_DYN_LINK)
  target_precompile_headers(course_pch_test PRIVATE ${course_pch_headers} <boost/test/unit_test.hpp>)
  course_test_options(course_pch_test)
endif()

# course_use_pch(target base|test): compile target's sources with the shared precompiled header.
function(course_use_pch target kind)
  if(NOT COURSE_PCH)
    return()
  endif()
  if(kind STREQUAL "test")
    target_precompile_headers(${target} REUSE_FROM course_pch_test)
  else()
    target_precompile_headers(${target} REUSE_FROM course_pch)
  endif()
endfunction()
