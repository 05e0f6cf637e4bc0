# Every dependency comes from a Debian package; a missing one stops configure with the package name.
function(course_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "${what} not found. Install it with:  sudo apt-get install ${package}"
                        "   (or run ./course, which installs everything it needs)")
  endif()
endfunction()

find_package(Eigen3 3.4 QUIET NO_MODULE)
course_require(Eigen3_FOUND "Eigen 3.4" libeigen3-dev)

find_package(Boost 1.74 QUIET COMPONENTS unit_test_framework program_options iostreams filesystem)
course_require(Boost_FOUND "Boost (unit_test_framework, program_options, iostreams, filesystem)"
               "libboost-test-dev libboost-program-options-dev libboost-iostreams-dev libboost-filesystem-dev")

find_package(OpenMP QUIET COMPONENTS CXX)
course_require(OpenMP_CXX_FOUND "OpenMP for C++" "libomp-dev (g++ ships libgomp)")

find_path(GNUPLOT_IOSTREAM_INCLUDE_DIR gnuplot-iostream.h)
course_require(GNUPLOT_IOSTREAM_INCLUDE_DIR "gnuplot-iostream.h" libgnuplot-iostream-dev)

find_program(GNUPLOT_EXECUTABLE gnuplot)
if(NOT GNUPLOT_EXECUTABLE)
  message(WARNING "gnuplot not found: figures will be written as .gp + .dat only "
                  "(install gnuplot-nox to render PNG/PDF/SVG)")
endif()

find_package(Python3 QUIET COMPONENTS Interpreter)
course_require(Python3_Interpreter_FOUND "Python 3 (for the exercise generator and grader)" python3)

# ccache, when installed, makes rebuilds (and the grader's builds of many submissions) cheap.
# Without the pch_defines and time_macros sloppiness ccache refuses every compile that uses the
# precompiled header (cmake/CoursePch.cmake), that is, nearly all of them.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros
      ${CCACHE_PROGRAM})
endif()
