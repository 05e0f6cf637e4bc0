// Reference solutions of chapter 9. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch09_beta_vae.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

#include "course/error.hpp"

namespace course::ch09 {

RateDistortion beta_vae_objective(const VecD& nll, const MatD& mu, const MatD& log_var, double beta) {
  // BEGIN SOLUTION
  // HINT: rate per sample: chapter 6's diagonal KL (eq. 6.7) of that column, a column sum.
  // HINT: average both terms over the B samples; beta multiplies the rate only (eq. 9.1).
  RateDistortion r;
  const double B = double(nll.size());
  r.distortion = nll.sum() / B;
  r.rate = 0.5 * (mu.array().square() + log_var.array().exp() - 1.0 - log_var.array()).sum() / B;
  r.loss = r.distortion + beta * r.rate;
  return r;
  // END SOLUTION
}

LinearVaeDirection linear_vae_optimum(double lambda, double noise_var, double beta) {
  // BEGIN SOLUTION
  // HINT: t = beta * noise_var plays the role of the noise variance (eq. 9.2).
  // HINT: two cases, an active direction (w > 0) and a collapsed one (w = 0): which wins when? (eq. 9.3)
  LinearVaeDirection d;
  const double t = beta * noise_var;
  if (lambda > t) {
    d.w = std::sqrt(lambda - t);
    d.post_var = t / lambda;
    d.v = d.w / (d.w * d.w + t);
  }
  return d;
  // END SOLUTION
}

Index count_collapsed(const VecD& lambda, double noise_var, double beta) {
  // BEGIN SOLUTION
  // HINT: apply exercise 9.2's case distinction to each eigenvalue (eq. 9.4).
  return Index((lambda.array() < beta * noise_var).count());
  // END SOLUTION
}

double entropy(const std::vector<int>& a) {
  // BEGIN SOLUTION
  // HINT: count each label (a std::map<int, long>), p = count / n, sum -p log p (eq. 9.5).
  std::map<int, long> count;
  for (int x : a) ++count[x];
  const double n = double(a.size());
  double h = 0.0;
  for (const auto& [label, c] : count) {
    const double p = double(c) / n;
    h -= p * std::log(p);
  }
  return h;
  // END SOLUTION
}

double mutual_information(const std::vector<int>& a, const std::vector<int>& b) {
  // BEGIN SOLUTION
  // HINT: count pairs (a_i, b_i) and each marginal; sum p_ij log(p_ij / (p_i p_j)) over seen pairs (eq. 9.5).
  if (a.size() != b.size()) throw std::invalid_argument("mutual_information: a and b differ in length");
  std::map<std::pair<int, int>, long> joint;
  std::map<int, long> ca, cb;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++joint[{a[i], b[i]}];
    ++ca[a[i]];
    ++cb[b[i]];
  }
  const double n = double(a.size());
  double mi = 0.0;
  for (const auto& [ab, c] : joint) {
    const double pab = double(c) / n;
    mi += pab * std::log(pab * n * n / (double(ca[ab.first]) * double(cb[ab.second])));
  }
  return std::max(mi, 0.0);
  // END SOLUTION
}

double mutual_information_gap(const std::vector<std::vector<int>>& codes,
                              const std::vector<std::vector<int>>& factors) {
  // BEGIN SOLUTION
  // HINT: for each factor: the J values I(z_j; v_k), the largest two, (first - second) / H(v_k) (eq. 9.6).
  if (codes.size() < 2) throw std::invalid_argument("mutual_information_gap needs at least two codes");
  double sum = 0.0;
  for (const auto& v : factors) {
    std::vector<double> mi;
    for (const auto& z : codes) mi.push_back(mutual_information(z, v));
    std::partial_sort(mi.begin(), mi.begin() + 2, mi.end(), std::greater<>());
    sum += (mi[0] - mi[1]) / entropy(v);
  }
  return sum / double(factors.size());
  // END SOLUTION
}

MatD latent_traversal(const VecD& z0, Index dim, const VecD& values) {
  // BEGIN SOLUTION
  // HINT: start from z0 replicated m times (z0.replicate(1, m)), then overwrite row `dim` (eq. 9.7).
  MatD Z = z0.replicate(1, values.size());
  Z.row(dim) = values.transpose();
  return Z;
  // END SOLUTION
}

}  // namespace course::ch09
