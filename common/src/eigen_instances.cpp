// The one instantiation of Eigen's dense decompositions of MatD (declared extern in
// course/types.hpp, so no other file compiles them again). BDCSVD is in eigen_instances_bdcsvd.cpp.
#include "course/types.hpp"

template class Eigen::JacobiSVD<course::MatD>;
template class Eigen::SelfAdjointEigenSolver<course::MatD>;
template class Eigen::HouseholderQR<course::MatD>;
template class Eigen::ColPivHouseholderQR<course::MatD>;
template class Eigen::LLT<course::MatD>;
template class Eigen::LDLT<course::MatD>;
template class Eigen::PartialPivLU<course::MatD>;
template Eigen::SelfAdjointEigenSolver<course::MatD>&
Eigen::SelfAdjointEigenSolver<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&, int);
template Eigen::LLT<course::MatD>& Eigen::LLT<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&);
template Eigen::LDLT<course::MatD>& Eigen::LDLT<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&);
template Eigen::ColPivHouseholderQR<course::MatD>&
Eigen::ColPivHouseholderQR<course::MatD>::compute(const Eigen::EigenBase<course::MatD>&);
