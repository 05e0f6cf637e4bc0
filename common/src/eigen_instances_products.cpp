// The one instantiation of Eigen's matrix-product kernels for float, double and long double
// (declared extern in course/types.hpp).
#include "course/types.hpp"

COURSE_EIGEN_PRODUCTS()
