// The bodies of 11_ae_limits/checks.hpp's checks, compiled once for the chapter program and its tests.
#include "11_ae_limits/checks.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

namespace course::ch11 {

// =============================================================================================
// (11.1), (11.2) Frechet distance
// =============================================================================================

FrechetCase frechet_case(std::uint64_t seed) {
  // Two elongated Gaussians whose long axes are 45 and 30 degrees apart (far from commuting), seen
  // through a common random rotation Q, with random means.
  Rng rng(seed);
  const Index d = 4;
  auto rotation = [](double degrees) {
    const double a = degrees * std::numbers::pi / 180.0;
    return (Eigen::Matrix2d() << std::cos(a), -std::sin(a), std::sin(a), std::cos(a)).finished();
  };
  MatD A = MatD::Zero(d, d), B = MatD::Zero(d, d);
  A.topLeftCorner(2, 2) = Eigen::Vector2d(9.0, 0.04).asDiagonal();
  A.bottomRightCorner(2, 2) = Eigen::Vector2d(2.0, 0.5).asDiagonal();
  B.topLeftCorner(2, 2) = rotation(45) * Eigen::Vector2d(9.0, 0.04).asDiagonal() * rotation(45).transpose();
  B.bottomRightCorner(2, 2) = rotation(30) * Eigen::Vector2d(0.5, 2.0).asDiagonal() * rotation(30).transpose();
  const MatD Q = rng.normal_matrix<double>(d, d).householderQr().householderQ();
  FrechetCase c;
  c.m1 = rng.normal_matrix<double>(d, 1);
  c.m2 = rng.normal_matrix<double>(d, 1);
  c.S1 = Q * A * Q.transpose();
  c.S2 = Q * B * Q.transpose();
  return c;
}

MatD optimal_map(const MatD& S1, const MatD& S2) {
  const MatD root1 = psd_sqrt(S1);
  const MatD inv_root1 = root1.inverse();
  const MatD T = inv_root1 * psd_sqrt(root1 * S2 * root1) * inv_root1;
  return 0.5 * (T + T.transpose());
}

McEstimate coupling_cost_monte_carlo(const FrechetCase& c, const MatD& T, Index n, std::uint64_t seed) {
  const MatD L1 = c.S1.llt().matrixL();
  return monte_carlo(n, seed, [&](Rng& rng) {
    const VecD dx = L1 * rng.normal_matrix<double>(c.m1.size(), 1);
    const VecD x1 = c.m1 + dx, x2 = c.m2 + T * dx;
    return (x1 - x2).squaredNorm();
  });
}

CheckRow check_eq_11_1_frechet_vs_coupling(const FrechetCase& c, const FrechetFn& frechet) {
  const double d2 = frechet(c.m1, c.S1, c.m2, c.S2);
  return check_monte_carlo("11.1", "Frechet d^2 closed form = E||x1 - x2||^2 under the optimal coupling", d2,
                           coupling_cost_monte_carlo(c, optimal_map(c.S1, c.S2)));
}

CheckRow check_eq_11_1_one_dimensional(const FrechetFn& frechet) {
  const double m1 = 0.7, m2 = -1.1, s1 = 1.9, s2 = 0.4;
  const double d2 = frechet(VecD::Constant(1, m1), MatD::Constant(1, 1, s1 * s1), VecD::Constant(1, m2),
                            MatD::Constant(1, 1, s2 * s2));
  return check_identity("11.1", "1-D: d^2 = (m1 - m2)^2 + (s1 - s2)^2", (m1 - m2) * (m1 - m2) + (s1 - s2) * (s1 - s2), d2);
}

CheckRow check_eq_11_2_map_pushes_forward(const FrechetCase& c, const MatD& T) {
  return check_identity("11.2", "the optimal map T pushes N(m1, S1) onto N(m2, S2): T S1 T = S2", c.S2,
                        MatD(T * c.S1 * T.transpose()), 1e-9);
}

CheckRow check_eq_11_2_independent_coupling_costs_more(const FrechetCase& c, const FrechetFn& frechet) {
  const double independent = (c.m1 - c.m2).squaredNorm() + c.S1.trace() + c.S2.trace();
  return check_bound("11.2", "d^2 <= cost of the independent coupling ||dm||^2 + tr S1 + tr S2",
                     frechet(c.m1, c.S1, c.m2, c.S2), independent);
}

CheckRow check_eq_11_2_cholesky_coupling_costs_more(const FrechetCase& c, const FrechetFn& frechet) {
  // x2 - m2 = L2 L1^{-1} (x1 - m1) = L2 eps when x1 - m1 = L1 eps: cost ||dm||^2 + ||L1 - L2||_F^2.
  const MatD L1 = c.S1.llt().matrixL(), L2 = c.S2.llt().matrixL();
  const double cholesky = (c.m1 - c.m2).squaredNorm() + (L1 - L2).squaredNorm();
  return check_bound("11.2", "d^2 <= cost of the Cholesky coupling ||dm||^2 + ||L1 - L2||_F^2",
                     frechet(c.m1, c.S1, c.m2, c.S2), cholesky);
}

// =============================================================================================
// (11.3) Holes
// =============================================================================================

double null_hole_rate(Index n_calibration, double alpha) {
  const double slots = double(n_calibration + 1);
  return std::floor(alpha * slots + 1e-9) / slots;
}

namespace {
// n points of a mixture of three 2-D Gaussian clusters of different sizes.
MatD cluster_points(Index n, Rng& rng) {
  static const double centre[3][2] = {{0.0, 0.0}, {3.0, 0.5}, {1.0, 3.0}};
  static const double sd[3] = {0.3, 0.8, 0.5};
  MatD X(2, n);
  for (Index j = 0; j < n; ++j) {
    const int k = int(rng.below(3));
    X(0, j) = centre[k][0] + sd[k] * rng.normal();
    X(1, j) = centre[k][1] + sd[k] * rng.normal();
  }
  return X;
}
}  // namespace

CheckRow check_eq_11_3_null_rate(double alpha, const HoleFn& holes, Index n_reference, Index n_calibration, Index m,
                                 Index trials, std::uint64_t seed) {
  {  // Called once here first, so an exercise stub throws on this thread.
    Rng rng(seed, 1u << 30);
    holes(cluster_points(n_reference, rng), cluster_points(n_calibration, rng), cluster_points(m, rng), alpha);
  }
  const McEstimate e = monte_carlo(trials, seed, [&](Rng& rng) {
    const MatD reference = cluster_points(n_reference, rng), calibration = cluster_points(n_calibration, rng);
    return holes(reference, calibration, cluster_points(m, rng), alpha);
  });
  std::ostringstream claim;
  claim << "queries like the codes are holes at rate floor(a(n_c+1))/(n_c+1), a = " << alpha << ", n_c = " << n_calibration;
  return check_monte_carlo("11.3", claim.str(), null_hole_rate(n_calibration, alpha), e);
}

CheckRow check_eq_11_3_far_queries(const HoleFn& holes) {
  Rng rng(1131);
  const Index nc = 9;
  const MatD reference = rng.normal_matrix<double>(2, 20), calibration = rng.normal_matrix<double>(2, nc);
  const MatD far = rng.normal_matrix<double>(2, 5).array() + 1e3;
  const MatD on_reference = reference.leftCols(5);
  // Far queries: pval = 1 / (n_c + 1) = 0.1, so holes at alpha = 0.1 and not at alpha = 0.099;
  // queries on reference codes: dist = 0, pval = 1.
  const double got = holes(reference, calibration, far, 0.1) + 10.0 * holes(reference, calibration, far, 0.099) +
                     100.0 * holes(reference, calibration, on_reference, 0.999);
  CheckRow r = check_identity("11.3", "far queries: holes iff alpha >= 1/(n_c+1); queries on codes: never", 1.0, got, 0.0);
  r.detail = "encoded as f(far, 0.1) + 10 f(far, 0.099) + 100 f(on codes, 0.999), expected 1 + 0 + 0";
  return r;
}

CheckRow check_eq_11_3_tied_queries(const HoleFn& holes) {
  Rng rng(1132);
  const Index nc = 9;
  const MatD reference = rng.normal_matrix<double>(2, 20), calibration = rng.normal_matrix<double>(2, nc);
  // Distinct scores (continuous codes); each query ties with exactly one calibration score, its own.
  const double got = holes(reference, calibration, calibration, 0.2) + 10.0 * holes(reference, calibration, calibration, 0.15);
  CheckRow r = check_identity("11.3", "queries = calibration codes (each ties with itself, >= counts it): 1 hole in n_c at a = 2/(n_c+1)",
                              1.0 / double(nc), got, 1e-12);
  r.detail = "encoded as f(0.2) + 10 f(0.15), expected 1/9 + 0; ties not counted (>) gives 2/9 + 10/9";
  return r;
}

// =============================================================================================
// (11.4), (11.5) ROC and AUC
// =============================================================================================

Roc roc_curve(const VecD& normal, const VecD& anomaly) {
  std::vector<double> t(normal.data(), normal.data() + normal.size());
  t.insert(t.end(), anomaly.data(), anomaly.data() + anomaly.size());
  std::sort(t.begin(), t.end(), std::greater<>());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  std::vector<double> n(normal.data(), normal.data() + normal.size()), a(anomaly.data(), anomaly.data() + anomaly.size());
  std::sort(n.begin(), n.end(), std::greater<>());
  std::sort(a.begin(), a.end(), std::greater<>());
  Roc roc{{0.0}, {0.0}};
  std::size_t in = 0, ia = 0;
  for (double threshold : t) {
    while (in < n.size() && n[in] >= threshold) ++in;
    while (ia < a.size() && a[ia] >= threshold) ++ia;
    roc.fpr.push_back(double(in) / double(n.size()));
    roc.tpr.push_back(double(ia) / double(a.size()));
  }
  return roc;
}

double roc_area(const Roc& roc) {
  double area = 0.0;
  for (std::size_t k = 1; k < roc.fpr.size(); ++k)
    area += (roc.fpr[k] - roc.fpr[k - 1]) * 0.5 * (roc.tpr[k] + roc.tpr[k - 1]);
  return area;
}

double auc_pairwise(const VecD& normal, const VecD& anomaly) {
  double wins = 0.0;
  for (Index i = 0; i < anomaly.size(); ++i)
    for (Index j = 0; j < normal.size(); ++j) wins += anomaly(i) > normal(j) ? 1.0 : (anomaly(i) == normal(j) ? 0.5 : 0.0);
  return wins / (double(anomaly.size()) * double(normal.size()));
}

Scores tied_scores(std::uint64_t seed) {
  Rng rng(seed);
  Scores s;
  s.normal.resize(300);
  s.anomaly.resize(170);
  // Rounded to a grid of 0.25: 6.3% of the anomaly-normal pairs are ties (ties as wins adds half of that to the AUC).
  for (Index j = 0; j < s.normal.size(); ++j) s.normal(j) = std::round(4.0 * rng.normal()) / 4.0;
  for (Index i = 0; i < s.anomaly.size(); ++i) s.anomaly(i) = std::round(4.0 * (0.6 + rng.normal())) / 4.0;
  return s;
}

CheckRow check_eq_11_4_auc_is_mann_whitney(const Scores& s, const AucFn& auc) {
  return check_identity("11.4", "AUC from midranks = P(a > n) + 1/2 P(a = n), pair by pair (many ties)",
                        auc_pairwise(s.normal, s.anomaly), auc(s.normal, s.anomaly), 1e-12);
}

CheckRow check_eq_11_4_roc_area_is_mann_whitney(const Scores& s, const std::function<double(const Scores&)>& area) {
  return check_identity("11.4", "trapezoidal area under the empirical ROC = the pairwise Mann-Whitney count",
                        auc_pairwise(s.normal, s.anomaly), area(s), 1e-12);
}

double ExponentialScores::theta() const { return 1.0 / (1.0 + rate); }
double ExponentialScores::q1() const { return 1.0 / (1.0 + 2.0 * rate); }
double ExponentialScores::q2() const { return 1.0 - 2.0 * rate / (1.0 + rate) + rate / (2.0 + rate); }
double ExponentialScores::auc_variance() const {
  const double t = theta();
  return (t * (1.0 - t) + double(n1 - 1) * (q1() - t * t) + double(n0 - 1) * (q2() - t * t)) / (double(n0) * double(n1));
}
double ExponentialScores::delong_expectation() const {
  const double t = theta();
  return auc_variance() + (t + t * t - q1() - q2()) / (double(n0) * double(n1));
}
Scores ExponentialScores::draw(Rng& rng) const {
  // Exp(lambda) by inversion: -log(1 - u) / lambda.
  Scores s{VecD(n0), VecD(n1)};
  for (Index j = 0; j < n0; ++j) s.normal(j) = -std::log1p(-rng.uniform());
  for (Index i = 0; i < n1; ++i) s.anomaly(i) = -std::log1p(-rng.uniform()) / rate;
  return s;
}

CheckRow check_eq_11_5_auc_variance(const ExponentialScores& e, const AucFn& auc, Index reps, std::uint64_t seed) {
  {
    Rng rng(seed, 1u << 30);
    const Scores s = e.draw(rng);
    auc(s.normal, s.anomaly);
  }
  const double theta = e.theta();
  const McEstimate mc = monte_carlo(reps, seed, [&](Rng& rng) {
    const Scores s = e.draw(rng);
    const double a = auc(s.normal, s.anomaly) - theta;
    return a * a;
  });
  return check_monte_carlo("11.5", "Var(AUC) = [t(1-t) + (n1-1)(Q1-t^2) + (n0-1)(Q2-t^2)] / (n0 n1), E(AUC - t)^2",
                           e.auc_variance(), mc);
}

CheckRow check_eq_11_5_delong_expectation(const ExponentialScores& e, const AucFn& delong, Index reps, std::uint64_t seed) {
  {
    Rng rng(seed, 1u << 30);
    const Scores s = e.draw(rng);
    delong(s.normal, s.anomaly);
  }
  const McEstimate mc = monte_carlo(reps, seed, [&](Rng& rng) {
    const Scores s = e.draw(rng);
    return delong(s.normal, s.anomaly);
  });
  return check_monte_carlo("11.5", "E[DeLong S10/n1 + S01/n0] = Var(AUC) + (t + t^2 - Q1 - Q2) / (n0 n1)",
                           e.delong_expectation(), mc);
}

// =============================================================================================
// (11.6), (11.7) Pixel losses
// =============================================================================================

VecD shift_left(const VecD& x, Index rows, Index cols) {
  VecD out = VecD::Zero(x.size());
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c + 1 < cols; ++c) out(r * cols + c) = x(r * cols + c + 1);
  return out;
}

VecD gaussian_blur(const VecD& x, Index rows, Index cols, double sigma) {
  const int radius = int(std::ceil(3.0 * sigma));
  std::vector<double> k(std::size_t(2 * radius + 1));
  double sum = 0.0;
  for (int t = -radius; t <= radius; ++t) sum += k[std::size_t(t + radius)] = std::exp(-0.5 * t * t / (sigma * sigma));
  for (double& v : k) v /= sum;
  VecD tmp = VecD::Zero(x.size()), out = VecD::Zero(x.size());
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c)
      for (int t = -radius; t <= radius; ++t)
        if (c + t >= 0 && c + t < cols) tmp(r * cols + c) += k[std::size_t(t + radius)] * x(r * cols + c + t);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c)
      for (int t = -radius; t <= radius; ++t)
        if (r + t >= 0 && r + t < rows) out(r * cols + c) += k[std::size_t(t + radius)] * tmp((r + t) * cols + c);
  return out;
}

double horizontal_gradient_energy(const VecD& x, Index rows, Index cols) {
  double e = 0.0;
  for (Index r = 0; r < rows; ++r) {
    for (Index c = 0; c + 1 < cols; ++c) {
      const double d = x(r * cols + c) - x(r * cols + c + 1);
      e += d * d;
    }
    e += x(r * cols + cols - 1) * x(r * cols + cols - 1);
  }
  return e;
}

CheckRow check_eq_11_6_shift_error(const VecD& x, Index rows, Index cols,
                                   const std::function<double(const VecD&, Index, Index)>& energy) {
  return check_identity("11.6", "||x - shift(x)||^2 = sum of squared horizontal differences (+ the edge)",
                        (x - shift_left(x, rows, cols)).squaredNorm(), energy(x, rows, cols));
}

CheckRow check_eq_11_7_loglik_difference(const VecD& x, const VecD& a, const VecD& b, double s2, const GaussianLogLik& loglik) {
  return check_identity("11.7", "log N(x; a, s2) - log N(x; b, s2) = (||x-b||^2 - ||x-a||^2) / (2 s2)",
                        ((x - b).squaredNorm() - (x - a).squaredNorm()) / (2.0 * s2), loglik(x, a, s2) - loglik(x, b, s2));
}

double profile_log_likelihood(double squared_error, Index D) {
  return -0.5 * double(D) * (std::log(2.0 * std::numbers::pi * squared_error / double(D)) + 1.0);
}

CheckRow check_eq_11_7_profile(const VecD& x, const VecD& a, double profile_value, const GaussianLogLik& loglik) {
  // Golden-section search for the maximum of f(t) = log N(x; a, exp(t) I) over t = log s2; f is
  // unimodal in t (its derivative is (SE exp(-t) - D) / 2, decreasing).
  auto f = [&](double t) { return loglik(x, a, std::exp(t)); };
  double lo = -30.0, hi = 10.0;
  const double g = 0.5 * (std::sqrt(5.0) - 1.0);
  double c = hi - g * (hi - lo), d = lo + g * (hi - lo), fc = f(c), fd = f(d);
  while (hi - lo > 1e-11) {
    if (fc > fd) {
      hi = d, d = c, fd = fc;
      c = hi - g * (hi - lo), fc = f(c);
    } else {
      lo = c, c = d, fc = fd;
      d = lo + g * (hi - lo), fd = f(d);
    }
  }
  return check_identity("11.7", "max over s2 of log N(x; a, s2 I) = -D/2 (log(2 pi SE/D) + 1) (numeric maximum)",
                        f(0.5 * (lo + hi)), profile_value, 1e-9);
}

// =============================================================================================
// (11.8) Mean vs sample
// =============================================================================================

VecD row_variance(const MatD& X, bool unbiased) {
  const VecD mean = X.rowwise().mean();
  return (X.colwise() - mean).rowwise().squaredNorm() / double(unbiased ? X.cols() - 1 : X.cols());
}

CheckRow check_eq_11_8_decoder_moments(Decoder decoder, double sigma2, const SamplerFn& sampler, bool unbiased_variance,
                                       Index draws, std::uint64_t seed, const VecD& given_mean) {
  const Index D = given_mean.size() > 0 ? given_mean.size() : 24, k = 5;
  VecD mean = given_mean;
  if (given_mean.size() == 0) {
    mean.resize(D);
    for (Index i = 0; i < D; ++i)
      mean(i) = decoder == Decoder::Bernoulli ? 0.03 + 0.94 * double(i) / double(D - 1) : -1.0 + 3.0 * double(i) / double(D - 1);
  }
  const MatD replicated = mean.replicate(1, k);
  {
    Rng rng(seed, 1u << 30);
    const MatD x = sampler(replicated, decoder, sigma2, rng);
    if (x.rows() != D || x.cols() != k) return check_identity("11.8", "sample shape D x B", 0.0, NAN);
  }
  const McVecEstimate e = monte_carlo_vec(draws, 2 * D, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD x = sampler(replicated, decoder, sigma2, rng);
    out.head(D) = x.rowwise().mean();
    out.tail(D) = row_variance(x, unbiased_variance);
  });
  VecD analytic(2 * D);
  if (decoder == Decoder::Bernoulli)
    analytic << mean, (mean.array() * (1.0 - mean.array())).matrix();
  else
    analytic << mean, VecD::Constant(D, sigma2);
  const std::string what = decoder == Decoder::Bernoulli ? "Bernoulli: mean p, variance p(1-p)"
                                                         : "Gaussian: mean mu, variance sigma^2 = " + std::to_string(sigma2).substr(0, 4);
  return check_monte_carlo("11.8", "decoder samples, " + std::to_string(D) + " pixels, " + what + " (unbiased s^2 of 5)",
                           analytic, e);
}

}  // namespace course::ch11
