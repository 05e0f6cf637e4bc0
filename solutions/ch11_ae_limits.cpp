// Reference solutions of chapter 11. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch11_ae_limits.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "course/error.hpp"

namespace course::ch11 {

double frechet_distance(const VecD& m1, const MatD& S1, const VecD& m2, const MatD& S2) {
  // BEGIN SOLUTION
  // HINT: S1^{1/2} = V diag(sqrt(max(l, 0))) V^T from Eigen::SelfAdjointEigenSolver<MatD>(S1).
  // HINT: tr (S1^{1/2} S2 S1^{1/2})^{1/2} is the sum of the square roots of that matrix's eigenvalues (eq. 11.1).
  if (m1.size() != m2.size() || S1.rows() != m1.size() || S1.cols() != m1.size() || S2.rows() != m1.size() ||
      S2.cols() != m1.size())
    throw std::invalid_argument("frechet_distance: the means and covariances differ in dimension");
  const Eigen::SelfAdjointEigenSolver<MatD> e1(S1);
  const MatD root1 = e1.eigenvectors() * e1.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() *
                     e1.eigenvectors().transpose();
  const MatD M = root1 * S2 * root1;
  const Eigen::SelfAdjointEigenSolver<MatD> eM(0.5 * (M + M.transpose()), Eigen::EigenvaluesOnly);
  const double cross = eM.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return (m1 - m2).squaredNorm() + S1.trace() + S2.trace() - 2.0 * cross;
  // END SOLUTION
}

double hole_fraction(const MatD& reference, const MatD& calibration, const MatD& queries, double alpha) {
  // BEGIN SOLUTION
  // HINT: dist(x) = min over the reference columns of ||x - c||^2 (squared distances order the same way).
  // HINT: per query: count the calibration codes with dist >= dist(z), add 1 for z itself, divide by n_c + 1 (eq. 11.3).
  const Index nc = calibration.cols(), m = queries.cols();
  if (reference.cols() < 1 || nc < 1) throw std::invalid_argument("hole_fraction needs reference and calibration codes");
  if (calibration.rows() != reference.rows() || queries.rows() != reference.rows())
    throw std::invalid_argument("hole_fraction: the codes and queries differ in dimension");
  auto dist = [&](const auto& x) { return (reference.colwise() - x).colwise().squaredNorm().minCoeff(); };
  VecD dist_cal(nc);
  for (Index i = 0; i < nc; ++i) dist_cal(i) = dist(calibration.col(i));
  Index holes = 0;
  for (Index q = 0; q < m; ++q) {
    const double dist_z = dist(queries.col(q));
    const Index at_least = 1 + Index((dist_cal.array() >= dist_z).count());
    if (double(at_least) / double(nc + 1) <= alpha) ++holes;
  }
  return double(holes) / double(m);
  // END SOLUTION
}

double auc_mann_whitney(const VecD& normal, const VecD& anomaly) {
  // BEGIN SOLUTION
  // HINT: sort the indices of all n0 + n1 scores; a run of equal scores at sorted positions k..l gets rank (k + l) / 2 + 1.
  // HINT: the anomalies' rank sum counts their wins over normal scores plus their ranks among themselves (eq. 11.4).
  const Index n0 = normal.size(), n1 = anomaly.size(), n = n0 + n1;
  if (n0 == 0 || n1 == 0) throw std::invalid_argument("auc_mann_whitney needs scores of both kinds");
  VecD all(n);
  all << normal, anomaly;
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return all(a) < all(b); });
  double rank_sum = 0.0;
  for (Index k = 0; k < n;) {
    Index l = k;
    while (l + 1 < n && all(order[std::size_t(l + 1)]) == all(order[std::size_t(k)])) ++l;
    const double midrank = 0.5 * double(k + l) + 1.0;
    for (Index t = k; t <= l; ++t)
      if (order[std::size_t(t)] >= n0) rank_sum += midrank;
    k = l + 1;
  }
  return (rank_sum - 0.5 * double(n1) * double(n1 + 1)) / (double(n0) * double(n1));
  // END SOLUTION
}

double delong_variance(const VecD& normal, const VecD& anomaly) {
  // BEGIN SOLUTION
  // HINT: build the n1 x n0 matrix psi(a_i, n_j); V10 are its row means, V01 its column means, A its mean.
  // HINT: unbiased variances (divide by n1 - 1 and n0 - 1), then combine them as in eq. 11.5.
  const Index n0 = normal.size(), n1 = anomaly.size();
  if (n0 < 2 || n1 < 2) throw std::invalid_argument("delong_variance needs at least two scores of each kind");
  MatD psi(n1, n0);
  for (Index j = 0; j < n0; ++j)
    for (Index i = 0; i < n1; ++i)
      psi(i, j) = anomaly(i) > normal(j) ? 1.0 : (anomaly(i) == normal(j) ? 0.5 : 0.0);
  const double A = psi.mean();
  const VecD v10 = psi.rowwise().mean(), v01 = psi.colwise().mean().transpose();
  const double s10 = (v10.array() - A).square().sum() / double(n1 - 1);
  const double s01 = (v01.array() - A).square().sum() / double(n0 - 1);
  return s10 / double(n1) + s01 / double(n0);
  // END SOLUTION
}

MatD sample_decoder(const MatD& mean, Decoder decoder, double sigma2, Rng& rng) {
  // BEGIN SOLUTION
  // HINT: loop j over columns, i over rows; Bernoulli: rng.bernoulli(p) ? 1 : 0; Gaussian: mu + sqrt(sigma2) * rng.normal() (eq. 11.8).
  MatD x(mean.rows(), mean.cols());
  const double sigma = std::sqrt(sigma2);
  for (Index j = 0; j < mean.cols(); ++j)
    for (Index i = 0; i < mean.rows(); ++i)
      x(i, j) = decoder == Decoder::Bernoulli ? (rng.bernoulli(mean(i, j)) ? 1.0 : 0.0)
                                              : mean(i, j) + sigma * rng.normal();
  return x;
  // END SOLUTION
}

}  // namespace course::ch11
