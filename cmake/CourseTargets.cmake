# The two macros every chapter uses:
#   course_chapter(01 linear_ae_pca [SOURCES extra.cpp ...] [USES 08 ...])
#                                                   -> program chapters/ch01_linear_ae_pca
#   course_chapter_tests(01 SOURCES test_x.cpp ...)  -> test_ch01 (+ test_ch01_student)
# Chapter model code lives in headers beside main.cpp (templated on Scalar), so a test includes
# "01_linear_ae_pca/model.hpp" and checks exactly the code the chapter program runs.
# A chapter's non-template functions (its derivation checks in checks.hpp, its model helpers) are
# declared in the headers and defined in the .cpp files beside main.cpp, compiled once into the
# object library course_chNN_lib: the chapter program and test_chNN both link those objects
# (compiling every check into each of them doubled the build). USES adds another chapter's
# objects (chapter 9 reuses chapter 8's).

function(course_compile_options target)
  # GCC 12 reports false positives inside Eigen's AVX-512 kernels (maybe-/uninitialized, and
  # array-bounds for a packet load guarded by a size test at run time) and in std::string
  # (restrict, stringop-overflow for "W" + std::to_string(l), stringop-overread inside
  # Boost.Iostreams' gzip writer); they are noise in every translation unit.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-deprecated-copy -Wno-maybe-uninitialized
                         -Wno-uninitialized -Wno-restrict -Wno-array-bounds -Wno-stringop-overflow
                         -Wno-stringop-overread)
  if(COURSE_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  # std::sqrt (and friends) need not set errno: with errno, GCC cannot vectorise a loop that calls
  # them (each call keeps a scalar branch to sqrtf). Adam's update, sqrt per parameter, was 30% of
  # a VAE epoch (0.52 s of 1.8 s) before this flag and 0.12 s with it. Nothing here reads errno.
  target_compile_options(${target} PRIVATE -fno-math-errno)
  if(COURSE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Test files (and the tests' precompiled header) are compiled with -O1 in Release builds. They
# set up small problems, call the chapter's checks and models and compare: that code, course_common
# and Eigen's product kernels keep the build type's -O3. At -O3 the test files took 30-40% longer
# to compile (test_ch01: 30 s against 20 s at -O1, without the precompiled header).
function(course_test_options target)
  course_compile_options(${target})
  target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-O1>)
endfunction()

# The environment of every test that runs course code. ctest -j2 runs two OpenMP programs at once
# on two cores; with libgomp's default (active) waiting, a thread at a barrier spins while the
# partner it waits for is descheduled, at every one of thousands of small parallel regions:
# two test_ch08 at once took 104 s instead of 0.3 s, 0.45 s with passive waiting. (Alone,
# passive waiting costs a VAE epoch 2-8%, so the chapter programs keep the default.)
set(COURSE_TEST_ENVIRONMENT OMP_WAIT_POLICY=passive)

# Is chapter NUM selected by COURSE_CHAPTERS (empty = all)?
function(course_chapter_selected num out)
  if(COURSE_CHAPTERS STREQUAL "" OR num IN_LIST COURSE_CHAPTERS)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(course_chapter num name)
  cmake_parse_arguments(ARG "" "" "SOURCES;USES" ${ARGN})
  set(target ch${num}_${name})
  set(chapter_objects "")
  file(GLOB lib_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(REMOVE_ITEM lib_sources ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp)
  if(lib_sources)
    add_library(course_ch${num}_lib OBJECT ${lib_sources})
    target_link_libraries(course_ch${num}_lib PUBLIC course_exercise_headers course_common)
    target_include_directories(course_ch${num}_lib PUBLIC ${PROJECT_SOURCE_DIR}/chapters)
    course_compile_options(course_ch${num}_lib)
    course_use_pch(course_ch${num}_lib base)
    list(APPEND chapter_objects $<TARGET_OBJECTS:course_ch${num}_lib>)
  endif()
  foreach(used IN LISTS ARG_USES)
    if(NOT TARGET course_ch${used}_lib)
      message(FATAL_ERROR "chapter ${num} uses chapter ${used}'s code: add ${used} to COURSE_CHAPTERS")
    endif()
    list(APPEND chapter_objects $<TARGET_OBJECTS:course_ch${used}_lib>)
  endforeach()
  set_property(GLOBAL PROPERTY COURSE_CH${num}_OBJECTS "${chapter_objects}")
  add_executable(${target} main.cpp ${ARG_SOURCES} ${chapter_objects})
  course_use_pch(${target} base)
  target_link_libraries(${target} PRIVATE course::impl course_common)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/chapters)
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/chapters)
  course_compile_options(${target})
  set_property(GLOBAL APPEND PROPERTY COURSE_CHAPTER_TARGETS ${target})
  # Every chapter program must run its --quick mode cleanly: that is the smoke test of the driver.
  add_test(NAME ch${num}_program_quick
           COMMAND ${target} --quick --no-plots --out ${PROJECT_BINARY_DIR}/test-figures)
  set_tests_properties(ch${num}_program_quick PROPERTIES LABELS "ch${num};program" TIMEOUT 120
                       ENVIRONMENT "${COURSE_TEST_ENVIRONMENT}")
  # Bad input gets one clear line on stderr and exit code 2.
  add_test(NAME ch${num}_bad_flag_exits_2
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/expect_exit.py 2 "unrecognised option '--no-such-flag'"
                   -- $<TARGET_FILE:${target}> --no-such-flag)
  add_test(NAME ch${num}_bad_data_exits_2
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/expect_exit.py 2 "no such directory"
                   -- $<TARGET_FILE:${target}> --quick --no-plots --data ${PROJECT_BINARY_DIR}/no-such-data-dir)
  set_tests_properties(ch${num}_bad_flag_exits_2 ch${num}_bad_data_exits_2 PROPERTIES LABELS "ch${num};program" TIMEOUT 120
                       ENVIRONMENT "${COURSE_TEST_ENVIRONMENT}")
endfunction()

function(course_chapter_tests num)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  set(objs test_ch${num}_objs)
  add_library(${objs} OBJECT ${ARG_SOURCES})
  target_link_libraries(${objs} PUBLIC course_test_support course_exercise_headers course_common)
  target_include_directories(${objs} PUBLIC ${PROJECT_SOURCE_DIR}/chapters)
  course_test_options(${objs})
  course_use_pch(${objs} test)

  # The chapter's compiled checks and model code (course_chapter); none when its program is not
  # configured.
  get_property(chapter_objects GLOBAL PROPERTY COURSE_CH${num}_OBJECTS)

  add_executable(test_ch${num} $<TARGET_OBJECTS:${objs}> ${chapter_objects})
  target_link_libraries(test_ch${num} PRIVATE ${objs} course_test_main course::impl)
  course_compile_options(test_ch${num})
  add_test(NAME test_ch${num} COMMAND test_ch${num} --color_output=no)
  set_tests_properties(test_ch${num} PROPERTIES LABELS "ch${num}" TIMEOUT 300
                       ENVIRONMENT "${COURSE_TEST_ENVIRONMENT}")

  # The same test objects linked against the generated exercise stubs: every test must then fail
  # with "exercise N.k not implemented yet" (or pass, when it checks no exercise), never crash.
  if(COURSE_STUDENT_TWINS AND COURSE_IMPL STREQUAL "solutions" AND TARGET course_impl_stubs)
    add_executable(test_ch${num}_student $<TARGET_OBJECTS:${objs}> ${chapter_objects})
    target_link_libraries(test_ch${num}_student PRIVATE ${objs} course_test_main course_impl_stubs)
    course_compile_options(test_ch${num}_student)
    add_test(NAME test_ch${num}_student_stubs_fail_cleanly
             COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/expect_not_implemented.py
                     $<TARGET_FILE:test_ch${num}_student>)
    set_tests_properties(test_ch${num}_student_stubs_fail_cleanly PROPERTIES LABELS "ch${num};student" TIMEOUT 300
                         ENVIRONMENT "${COURSE_TEST_ENVIRONMENT}")
  endif()
endfunction()
