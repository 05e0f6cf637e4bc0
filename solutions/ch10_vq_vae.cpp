// Reference solutions of chapter 10. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch10_vq_vae.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "course/error.hpp"

namespace course::ch10 {

std::vector<Index> nearest_codes(const MatD& Ze, const MatD& E) {
  // BEGIN SOLUTION
  // HINT: all squared distances at once: ||e_j||^2 - 2 e_j.z_n (+ ||z_n||^2, which does not depend on j).
  // HINT: then the index of the smallest entry of each column (eq. 10.1).
  const VecD e_norm2 = E.colwise().squaredNorm().transpose();
  const MatD scores = (-2.0 * (E.transpose() * Ze)).colwise() + e_norm2;  // K x N
  std::vector<Index> codes(static_cast<std::size_t>(Ze.cols()));
  for (Index n = 0; n < Ze.cols(); ++n) scores.col(n).minCoeff(&codes[std::size_t(n)]);
  return codes;
  // END SOLUTION
}

VqLoss vq_loss(const MatD& Ze, const MatD& E, const std::vector<Index>& codes, double beta, Index images) {
  // BEGIN SOLUTION
  // HINT: sum over columns n of ||Ze.col(n) - E.col(codes[n])||^2, divided by B = images (eq. 10.2).
  double sum = 0.0;
  for (Index n = 0; n < Ze.cols(); ++n) sum += (Ze.col(n) - E.col(codes[std::size_t(n)])).squaredNorm();
  const double per_image = sum / double(images);
  return {per_image, beta * per_image};
  // END SOLUTION
}

VqGradients vq_gradients(const MatD& dRec_dZq, const MatD& Ze, const MatD& E, const std::vector<Index>& codes,
                         double beta, Index images) {
  // BEGIN SOLUTION
  // HINT: straight-through: start from dRec_dZq, then add the commitment gradient (eq. 10.3).
  // HINT: the codebook gradient of code k sums over the columns that chose it (eq. 10.4).
  const double B = double(images);
  VqGradients g;
  g.Ze = dRec_dZq;
  g.E = MatD::Zero(E.rows(), E.cols());
  for (Index n = 0; n < Ze.cols(); ++n) {
    const Index k = codes[std::size_t(n)];
    const VecD diff = Ze.col(n) - E.col(k);  // z_n - e_k
    g.Ze.col(n) += (2.0 * beta / B) * diff;
    g.E.col(k) -= (2.0 / B) * diff;
  }
  return g;
  // END SOLUTION
}

void ema_codebook_update(EmaCodebook& cb, const MatD& Ze, const std::vector<Index>& codes, double decay) {
  // BEGIN SOLUTION
  // HINT: accumulate n_k and batch_sum over the columns, then the two moving averages (eq. 10.5).
  // HINT: recompute e_k only where counts_k > 0.
  const Index K = cb.E.cols();
  VecD n_k = VecD::Zero(K);
  MatD batch_sum = MatD::Zero(cb.E.rows(), K);
  for (Index n = 0; n < Ze.cols(); ++n) {
    const Index k = codes[std::size_t(n)];
    n_k(k) += 1.0;
    batch_sum.col(k) += Ze.col(n);
  }
  cb.counts = decay * cb.counts + (1.0 - decay) * n_k;
  cb.sums = decay * cb.sums + (1.0 - decay) * batch_sum;
  for (Index k = 0; k < K; ++k)
    if (cb.counts(k) > 0.0) cb.E.col(k) = cb.sums.col(k) / cb.counts(k);
  // END SOLUTION
}

double perplexity(const VecD& counts) {
  // BEGIN SOLUTION
  // HINT: p = counts / counts.sum(); skip the p_k == 0 terms (0 log 0 = 0) (eq. 10.6).
  const double total = counts.sum();
  double entropy = 0.0;
  for (Index k = 0; k < counts.size(); ++k) {
    const double p = counts(k) / total;
    if (p > 0.0) entropy -= p * std::log(p);
  }
  return std::exp(entropy);
  // END SOLUTION
}

MatD causal_mask(Index kernel, bool include_centre) {
  // BEGIN SOLUTION
  // HINT: tap (i, j) of a kernel centred on the output pixel reads the pixel (row + i - c, col + j - c).
  // HINT: it is in the past in raster order when i < c, or when i == c and j < c (eq. 10.9).
  if (kernel < 1 || kernel % 2 == 0) throw std::invalid_argument("causal_mask: the kernel must be odd");
  const Index c = kernel / 2;
  MatD m = MatD::Zero(kernel, kernel);
  for (Index i = 0; i < kernel; ++i)
    for (Index j = 0; j < kernel; ++j)
      if (i < c || (i == c && j < c)) m(i, j) = 1.0;
  if (include_centre) m(c, c) = 1.0;
  return m;
  // END SOLUTION
}

double grid_log_likelihood(const MatD& logits, const std::vector<Index>& codes) {
  // BEGIN SOLUTION
  // HINT: log softmax(a)_k = a_k - log sum_j exp(a_j); subtract max_j a_j inside the exp (eq. 10.8).
  if (Index(codes.size()) != logits.cols())
    throw std::invalid_argument("grid_log_likelihood: one code per column of logits");
  double total = 0.0;
  for (Index q = 0; q < logits.cols(); ++q) {
    const double m = logits.col(q).maxCoeff();
    const double lse = m + std::log((logits.col(q).array() - m).exp().sum());
    total += logits(codes[std::size_t(q)], q) - lse;
  }
  return total;
  // END SOLUTION
}

CodebookUsage codebook_usage(const std::vector<Index>& codes, Index K) {
  // BEGIN SOLUTION
  // HINT: p_k = counts_k / N over the N codes; H = -sum_k p_k log2 p_k; perplexity 2^H (eq. 10.10).
  CodebookUsage u;
  u.counts = VecD::Zero(K);
  for (Index k : codes) u.counts(k) += 1.0;
  const double n = double(codes.size());
  for (Index k = 0; k < K; ++k) {
    if (u.counts(k) == 0.0) {
      ++u.dead;
      continue;
    }
    const double p = u.counts(k) / n;
    u.entropy_bits -= p * std::log2(p);
  }
  u.perplexity = std::exp2(u.entropy_bits);
  return u;
  // END SOLUTION
}

}  // namespace course::ch10
