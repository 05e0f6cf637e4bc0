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

// Eigen's dense decompositions of MatD are compiled once, in course_common
// (common/src/eigen_instances*.cpp), not in every file that uses them: with GCC 12 at -O3 one
// Eigen::BDCSVD<MatD> costs a file 35 s of compile time (JacobiSVD 11 s), with this declaration
// 2 s. Code that uses them is unchanged; other matrix types are instantiated as usual.
extern template class Eigen::BDCSVD<course::MatD>;
extern template class Eigen::JacobiSVD<course::MatD>;
extern template class Eigen::SelfAdjointEigenSolver<course::MatD>;
extern template class Eigen::HouseholderQR<course::MatD>;
extern template class Eigen::ColPivHouseholderQR<course::MatD>;
extern template class Eigen::LLT<course::MatD>;
extern template class Eigen::LDLT<course::MatD>;
extern template class Eigen::PartialPivLU<course::MatD>;
