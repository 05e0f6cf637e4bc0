// The source of the precompiled-header owners course_pch and course_pch_test (cmake/CoursePch.cmake):
// it compiles nothing itself.
