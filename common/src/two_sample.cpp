#include "course/two_sample.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "course/parallel.hpp"

namespace course {

namespace {

// sum_ij k(a_i, b_j) over the columns of A and B, in fixed blocks of 64 rows of A.
double kernel_sum(const MatD& A, const MatD& B, double inv_two_h2) {
  constexpr Index kBlock = 64;
  const Index blocks = (A.cols() + kBlock - 1) / kBlock;
  std::vector<double> partial(std::size_t(blocks), 0.0);
  const Eigen::ArrayXd b_norm = B.colwise().squaredNorm().transpose().array();
  parallel::for_blocks(blocks, [&](Index k) {
    const Index begin = k * kBlock, n = std::min(kBlock, A.cols() - begin);
    // ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b for a block of rows at once.
    const MatD cross = A.middleCols(begin, n).transpose() * B;
    double s = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double a_norm = A.col(begin + i).squaredNorm();
      for (Index j = 0; j < B.cols(); ++j) {
        const double d2 = std::max(0.0, a_norm + b_norm(j) - 2.0 * cross(i, j));
        s += std::exp(-d2 * inv_two_h2);
      }
    }
    partial[std::size_t(k)] = s;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

double mmd_biased(const MatD& X, const MatD& Y, double bandwidth) {
  if (X.rows() != Y.rows()) throw std::invalid_argument("mmd_biased: points of different dimensions");
  if (X.cols() < 1 || Y.cols() < 1) throw std::invalid_argument("mmd_biased: an empty sample");
  if (!(bandwidth > 0.0)) throw std::invalid_argument("mmd_biased: the bandwidth must be positive");
  const double c = 1.0 / (2.0 * bandwidth * bandwidth);
  const double m = double(X.cols()), n = double(Y.cols());
  const double mmd2 = kernel_sum(X, X, c) / (m * m) + kernel_sum(Y, Y, c) / (n * n) -
                      2.0 * kernel_sum(X, Y, c) / (m * n);
  if (!std::isfinite(mmd2)) return mmd2;
  return std::sqrt(std::max(0.0, mmd2));
}

double mmd_threshold(Index m, double alpha) {
  return std::sqrt(2.0 / double(m)) * (1.0 + std::sqrt(2.0 * std::log(1.0 / alpha)));
}

CheckRow check_two_sample(const std::string& id, const std::string& claim, const MatD& X, const MatD& Y,
                          double bandwidth, double alpha) {
  if (X.cols() != Y.cols()) throw std::invalid_argument("check_two_sample: the two samples differ in size");
  const double mmd = X.allFinite() && Y.allFinite() ? mmd_biased(X, Y, bandwidth) : std::nan("");
  const double threshold = mmd_threshold(X.cols(), alpha);
  CheckRow r = check_row(id, claim, "two-sample", mmd, threshold, mmd - threshold, 0.0);
  std::ostringstream os;
  os << "MMD_b = " << mmd << " <= " << threshold << " = sqrt(2/m)(1 + sqrt(2 log(1/alpha))), m = " << X.cols()
     << ", Gaussian kernel h = " << bandwidth << ", false-failure rate <= " << alpha
     << " (Gretton et al. 2012, Cor. 9)";
  r.detail = os.str();
  return r;
}

}  // namespace course
