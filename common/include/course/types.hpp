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
// compute() of these four is a member template: the class instantiation above does not cover it.
extern template Eigen::SelfAdjointEigenSolver<course::MatD>&
Eigen::SelfAdjointEigenSolver<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&, int);
extern template Eigen::LLT<course::MatD>& Eigen::LLT<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&);
extern template Eigen::LDLT<course::MatD>& Eigen::LDLT<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&);
extern template Eigen::ColPivHouseholderQR<course::MatD>&
Eigen::ColPivHouseholderQR<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&);

// Eigen's matrix-product kernels (the GEMM micro-kernel, the panel packers, the matrix-vector
// product) for float, double and long double are compiled once too, in
// common/src/eigen_instances_products.cpp. Each is a few thousand lines of AVX code per scalar type
// and storage order: compiled in every file that multiplies matrices they cost a chapter file
// 4-6 s. The template arguments are written with Eigen's own traits (mr, nr, packet types), so
// they follow the instruction set the build targets. COURSE_EIGEN_PRODUCTS(extern) declares them;
// COURSE_EIGEN_PRODUCTS() in the instances file defines them.
#define COURSE_EIGEN_GEMV(PREFIX, S, LHS, RHS, VERSION)                                         \
  PREFIX template struct Eigen::internal::general_matrix_vector_product<                        \
      Eigen::Index, S, Eigen::internal::const_blas_data_mapper<S, Eigen::Index, LHS>, LHS, false,  \
      S, Eigen::internal::const_blas_data_mapper<S, Eigen::Index, RHS>, false, VERSION>;
#define COURSE_EIGEN_PACKERS(PREFIX, S, ORDER)                                                  \
  PREFIX template struct Eigen::internal::gemm_pack_lhs<                                        \
      S, Eigen::Index, Eigen::internal::const_blas_data_mapper<S, Eigen::Index, ORDER>,          \
      Eigen::internal::gebp_traits<S, S>::mr, Eigen::internal::gebp_traits<S, S>::LhsProgress,   \
      Eigen::internal::gebp_traits<S, S>::LhsPacket4Packing, ORDER>;                            \
  PREFIX template struct Eigen::internal::gemm_pack_rhs<                                        \
      S, Eigen::Index, Eigen::internal::const_blas_data_mapper<S, Eigen::Index, ORDER>,          \
      Eigen::internal::gebp_traits<S, S>::nr, ORDER>;                                           \
  COURSE_EIGEN_GEMV(PREFIX, S, ORDER, Eigen::ColMajor, 0)                                       \
  COURSE_EIGEN_GEMV(PREFIX, S, ORDER, Eigen::RowMajor, 0)                                       \
  COURSE_EIGEN_GEMV(PREFIX, S, ORDER, Eigen::ColMajor, 1)                                       \
  COURSE_EIGEN_GEMV(PREFIX, S, ORDER, Eigen::RowMajor, 1)
#define COURSE_EIGEN_GEMM(PREFIX, S, LHS, RHS)                                                  \
  PREFIX template struct Eigen::internal::general_matrix_matrix_product<                        \
      Eigen::Index, S, LHS, false, S, RHS, false, Eigen::ColMajor, 1>;
#define COURSE_EIGEN_PRODUCTS_FOR(PREFIX, S)                                                    \
  PREFIX template struct Eigen::internal::gebp_kernel<                                          \
      S, S, Eigen::Index, Eigen::internal::blas_data_mapper<S, Eigen::Index, Eigen::ColMajor, Eigen::Unaligned, 1>, \
      Eigen::internal::gebp_traits<S, S>::mr, Eigen::internal::gebp_traits<S, S>::nr, false, false>; \
  COURSE_EIGEN_PACKERS(PREFIX, S, Eigen::ColMajor)                                              \
  COURSE_EIGEN_PACKERS(PREFIX, S, Eigen::RowMajor)                                              \
  COURSE_EIGEN_GEMM(PREFIX, S, Eigen::ColMajor, Eigen::ColMajor)                                \
  COURSE_EIGEN_GEMM(PREFIX, S, Eigen::ColMajor, Eigen::RowMajor)                                \
  COURSE_EIGEN_GEMM(PREFIX, S, Eigen::RowMajor, Eigen::ColMajor)                                \
  COURSE_EIGEN_GEMM(PREFIX, S, Eigen::RowMajor, Eigen::RowMajor)
#define COURSE_EIGEN_PRODUCTS(PREFIX)                                                           \
  COURSE_EIGEN_PRODUCTS_FOR(PREFIX, float)                                                      \
  COURSE_EIGEN_PRODUCTS_FOR(PREFIX, double)                                                     \
  COURSE_EIGEN_PRODUCTS_FOR(PREFIX, long double)

COURSE_EIGEN_PRODUCTS(extern)
