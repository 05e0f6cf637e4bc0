// Basic types. A batch is a D x B matrix with one sample per column (Eigen is column-major), so
// code reads like the lecture: H = relu(W * X + b).
#pragma once

#include <Eigen/Dense>
#include <cstdint>

namespace course {

using Index = Eigen::Index;

template <class Scalar> using Mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar> using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

using MatD = Mat<double>;
using VecD = Vec<double>;
using MatF = Mat<float>;
using VecF = Vec<float>;

}  // namespace course
