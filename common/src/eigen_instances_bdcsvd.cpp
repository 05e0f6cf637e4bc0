// The one instantiation of Eigen::BDCSVD<MatD> (declared extern in course/types.hpp). It is the
// costliest of them, so it has a file of its own: the two halves compile in parallel.
#include "course/types.hpp"

template class Eigen::BDCSVD<course::MatD>;
