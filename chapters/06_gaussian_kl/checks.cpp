// The bodies of 06_gaussian_kl/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "06_gaussian_kl/checks.hpp"

namespace course::ch06 {

Pair general_pair() {
  VecD mu0(3), mu1(3);
  mu0 << 0.5, -1.0, 0.3;
  mu1 << -0.2, 0.4, 1.0;
  MatD S0(3, 3), S1(3, 3);
  S0 << 1.0, 0.3, -0.2,  0.3, 0.8, 0.1,  -0.2, 0.1, 0.5;
  S1 << 1.5, -0.4, 0.2,  -0.4, 1.2, 0.3,  0.2, 0.3, 0.9;
  return {Gaussian(mu0, S0), Gaussian(mu1, S1)};
}

DiagPosterior vae_posterior() {
  DiagPosterior p{VecD(8), VecD(8)};
  p.mu << 0.8, -0.5, 0.0, 1.2, -1.5, 0.3, 0.1, -0.7;
  p.log_var << -1.0, 0.5, -2.0, 0.0, 0.3, -0.6, 1.0, -3.0;
  return p;
}

VecD vec1(double x) { return VecD::Constant(1, x); }

MatD mat1(double x) { return MatD::Constant(1, 1, x); }

double kl_of(const Gaussian& q0, const Gaussian& q1, const KlFn& kl) {
  return kl(q0.mean(), q0.cov(), q1.mean(), q1.cov());
}

McEstimate mc_kl(const Gaussian& q0, const Gaussian& q1, Index n, std::uint64_t seed) {
  return monte_carlo(n, seed, [&](Rng& rng) {
    SmallVec z(q0.dim());
    q0.sample(rng, z);
    return q0.log_density(z) - q1.log_density(z);
  });
}

McEstimate mc_expected_log_density(const Gaussian& q0, const Gaussian& q, Index n, std::uint64_t seed) {
  return monte_carlo(n, seed, [&](Rng& rng) {
    SmallVec z(q0.dim());
    q0.sample(rng, z);
    return q.log_density(z);
  });
}

McVecEstimate mc_second_moment_about(const Gaussian& q0, const VecD& a, Index n, std::uint64_t seed) {
  const Index k = q0.dim();
  return monte_carlo_vec(n, k * k, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    SmallVec z(k);
    q0.sample(rng, z);
    z -= a;
    for (Index j = 0; j < k; ++j)
      for (Index i = 0; i < k; ++i) out(i + j * k) = z(i) * z(j);
  });
}

VecD flatten(const MatD& M) { return Eigen::Map<const VecD>(M.data(), M.size()); }

CheckRow check_eq_6_1_density_1d(double mu, double var, const LogDensityFn& log_density) {
  const double s = std::sqrt(var);
  auto p = [&](double z) { return std::exp(log_density(vec1(z), vec1(mu), mat1(var))); };
  const double mass = integrate_line(p, mu, s).value;
  const double mean = integrate_line([&](double z) { return z * p(z); }, mu, s).value;
  const double variance = integrate_line([&](double z) { return (z - mu) * (z - mu) * p(z); }, mu, s).value;
  VecD expected(3), got(3);
  expected << 1.0, mu, var;
  got << mass, mean, variance;
  CheckRow r = check_identity("6.1", "1-D: quadrature of N(z; mu, s^2) gives mass 1, mean mu, var s^2",
                              MatD(expected), MatD(got));
  r.detail = "mass " + std::to_string(mass) + ", mean " + std::to_string(mean) + ", variance " +
             std::to_string(variance) + " by composite 10-point Gauss-Legendre on mu +- 40 s";
  return r;
}

CheckRow check_eq_6_1_density_2d(const LogDensityFn& log_density) {
  VecD mu(2);
  mu << 0.4, -0.7;
  MatD S(2, 2);
  S << 0.8, 0.3, 0.3, 0.5;
  const double sx = std::sqrt(S(0, 0)), sy = std::sqrt(S(1, 1));
  const double ax = mu(0) - 12 * sx, bx = mu(0) + 12 * sx, ay = mu(1) - 12 * sy, by = mu(1) + 12 * sy;
  const int panels = 48;  // width s / 2 per axis
  VecD z(2);
  auto moment = [&](auto g) {
    return integrate_box([&](double x, double y) {
      z << x, y;
      return g(x - mu(0), y - mu(1)) * std::exp(log_density(z, mu, S));
    }, ax, bx, ay, by, panels);
  };
  VecD expected(6), got(6);
  expected << 1.0, mu(0), mu(1), S(0, 0), S(0, 1), S(1, 1);
  const double mass = moment([](double, double) { return 1.0; });
  got << mass, mu(0) * mass + moment([](double dx, double) { return dx; }),
      mu(1) * mass + moment([](double, double dy) { return dy; }), moment([](double dx, double) { return dx * dx; }),
      moment([](double dx, double dy) { return dx * dy; }), moment([](double, double dy) { return dy * dy; });
  CheckRow r = check_identity("6.1", "2-D: quadrature of N(z; mu, S) gives mass 1, mean mu, cov S",
                              MatD(expected), MatD(got));
  r.detail = "entries: mass, mean (2), S_00, S_01, S_11; tensor-product Gauss-Legendre, " +
             std::to_string(panels * 10) + "^2 nodes on mean +- 12 sd";
  return r;
}

CheckRow check_eq_6_2_centred_second_moment(const Pair& p, Index n, std::uint64_t seed) {
  return check_monte_carlo("6.2", "E_q0[(z - mu0)(z - mu0)^T] = S0 (9 entries)", flatten(p.q0.cov()),
                           mc_second_moment_about(p.q0, p.q0.mean(), n, seed));
}

MatD second_moment_about_mu1(const Pair& p) {
  const VecD d = p.q0.mean() - p.q1.mean();
  return p.q0.cov() + d * d.transpose();
}

CheckRow check_eq_6_3_second_moment_about_mu1(const Pair& p, Index n, std::uint64_t seed) {
  return check_monte_carlo("6.3", "E_q0[(z - mu1)(z - mu1)^T] = S0 + (mu0-mu1)(mu0-mu1)^T",
                           flatten(second_moment_about_mu1(p)),
                           mc_second_moment_about(p.q0, p.q1.mean(), n, seed));
}

MatD quadratic_form_matrix() {
  MatD A(3, 3);
  A << 1.0, 0.5, -0.3,  -0.2, 0.8, 0.4,  0.6, -0.1, 1.2;
  return A;
}

double quadratic_form_trace(const Pair& p) {
  const VecD& m = p.q0.mean();
  return (quadratic_form_matrix() * (p.q0.cov() + m * m.transpose())).trace();
}

McEstimate mc_quadratic_form(const Pair& p, Index n, std::uint64_t seed) {
  const MatD A = quadratic_form_matrix();
  return monte_carlo(n, seed, [&](Rng& rng) {
    SmallVec x(3);
    p.q0.sample(rng, x);
    return x.dot(A * x);
  });
}

CheckRow check_eq_6_4_quadratic_form(const Pair& p, Index n, std::uint64_t seed) {
  return check_monte_carlo("6.4", "E[x^T A x] = tr(A E[x x^T]), A not symmetric", quadratic_form_trace(p),
                           mc_quadratic_form(p, n, seed));
}

double expected_log_q0(const Pair& p) {
  const double k = double(p.q0.dim());
  return -0.5 * (k * std::log(2.0 * std::numbers::pi) + p.q0.log_det() + k);
}

double expected_log_q1(const Pair& p) {
  const double k = double(p.q0.dim());
  const Eigen::LLT<MatD> L1(p.q1.cov());
  const VecD d = p.q0.mean() - p.q1.mean();
  return -0.5 * (k * std::log(2.0 * std::numbers::pi) + p.q1.log_det() + L1.solve(p.q0.cov()).trace() +
                 d.dot(L1.solve(d)));
}

CheckRow check_eq_6_5_expected_log_q0(const Pair& p, Index n, std::uint64_t seed) {
  return check_monte_carlo("6.5", "E_q0[log q0] = -1/2 (k log 2pi + log det S0 + k)", expected_log_q0(p),
                           mc_expected_log_density(p.q0, p.q0, n, seed));
}

CheckRow check_eq_6_5_expected_log_q1(const Pair& p, Index n, std::uint64_t seed) {
  return check_monte_carlo("6.5", "E_q0[log q1] = -1/2 (.. + tr(S1^-1 S0) + d^T S1^-1 d)", expected_log_q1(p),
                           mc_expected_log_density(p.q0, p.q1, n, seed));
}

CheckRow check_eq_6_6_kl_vs_monte_carlo(const Pair& p, Index n, std::uint64_t seed,
                                               const KlFn& kl) {
  return check_monte_carlo("6.6", "KL(q0 || q1) closed form vs E_q0[log q0 - log q1], k = 3",
                           kl_of(p.q0, p.q1, kl), mc_kl(p.q0, p.q1, n, seed));
}

Quadrature kl_by_quadrature_1d(double m0, double v0, double m1, double v1) {
  auto log_normal = [](double z, double m, double v) {
    return -0.5 * (std::log(2.0 * std::numbers::pi * v) + (z - m) * (z - m) / v);
  };
  return integrate_line([&](double z) {
    const double lq0 = log_normal(z, m0, v0);
    return std::exp(lq0) * (lq0 - log_normal(z, m1, v1));
  }, m0, std::sqrt(v0));
}

CheckRow check_eq_6_6_kl_vs_quadrature(const KlFn& kl, double m0, double v0,
                                              double m1, double v1) {
  const Quadrature q = kl_by_quadrature_1d(m0, v0, m1, v1);
  CheckRow r = check_identity("6.6", "KL(q0 || q1) closed form vs quadrature, k = 1",
                              kl(vec1(m0), mat1(v0), vec1(m1), mat1(v1)), q.value);
  r.detail = "quadrature error estimate " + std::to_string(q.error_estimate) + " (halving the panels)";
  return r;
}

CheckRow check_eq_6_7_diag_equals_general(const DiagPosterior& q, const KlDiagFn& kl_diag) {
  const Index k = q.mu.size();
  const double general = kl_gaussian(q.mu, MatD(q.log_var.array().exp().matrix().asDiagonal()), VecD::Zero(k),
                                     MatD::Identity(k, k));
  return check_identity("6.7", "diagonal form = general form with S0 = diag(s^2), mu1 = 0, S1 = I", general,
                        kl_diag(q.mu, q.log_var));
}

CheckRow check_eq_6_7_lecture_form(const DiagPosterior& q, const KlDiagFn& kl_diag) {
  // 1/2 (||mu||^2 + ||sigma||^2) - sum_j log sigma_j - m/2, with log sigma_j = log_var_j / 2.
  const double lecture = 0.5 * (q.mu.squaredNorm() + q.log_var.array().exp().sum()) - 0.5 * q.log_var.sum() -
                         0.5 * double(q.mu.size());
  return check_identity("6.7", "diagonal form = lecture's 1/2(|mu|^2+|s|^2) - sum log s - m/2", lecture,
                        kl_diag(q.mu, q.log_var));
}

CheckRow check_eq_6_7_diag_vs_monte_carlo(const DiagPosterior& q, Index n, std::uint64_t seed,
                                                 const KlDiagFn& kl_diag) {
  return check_monte_carlo("6.7", "diagonal KL vs E_q[log q - log N(0, I)], k = 8", kl_diag(q.mu, q.log_var),
                           mc_kl(diagonal_gaussian(q.mu, q.log_var), standard_normal(q.mu.size()), n, seed));
}

CheckRow check_eq_6_7_diag_vs_quadrature(const KlDiagFn& kl_diag, double mu,
                                                double log_var) {
  const Quadrature qd = kl_by_quadrature_1d(mu, std::exp(log_var), 0.0, 1.0);
  CheckRow r = check_identity("6.7", "diagonal KL vs quadrature, k = 1", kl_diag(vec1(mu), vec1(log_var)), qd.value);
  r.detail = "quadrature error estimate " + std::to_string(qd.error_estimate);
  return r;
}

CheckRow check_eq_6_8_gradient(const DiagPosterior& q, const KlDiagGradFn& grad) {
  const Index k = q.mu.size();
  const KlDiagGradient g = grad(q.mu, q.log_var);
  if (g.mu.size() != k || g.log_var.size() != k) {
    CheckRow r = check_identity("6.8", "dKL/dmu, dKL/dlog s^2 vs central differences", 0.0, NAN);
    r.detail = "gradient sizes " + std::to_string(g.mu.size()) + " and " + std::to_string(g.log_var.size()) +
               " differ from k = " + std::to_string(k);
    return r;
  }
  VecD x(2 * k), analytic(2 * k);
  x << q.mu, q.log_var;
  analytic << g.mu, g.log_var;
  return check_gradient("6.8", "dKL/dmu = mu, dKL/dlog s^2 = (s^2 - 1)/2 vs central differences",
                        [k](const VecD& v) { return kl_diag_std_normal(v.head(k), v.tail(k)); }, x, analytic);
}

double kl_by_eigenvalues(const Gaussian& q0, const Gaussian& q1) {
  const Eigen::GeneralizedSelfAdjointEigenSolver<MatD> ges(q0.cov(), q1.cov());
  const VecD l = ges.eigenvalues();
  const VecD d = q1.mean() - q0.mean();
  const double mahalanobis = d.dot(Eigen::LLT<MatD>(q1.cov()).solve(d));
  return 0.5 * ((l.array() - 1.0 - l.array().log()).sum() + mahalanobis);
}

CheckRow check_eq_6_9_eigenvalue_form(const Pair& p, const KlFn& kl) {
  return check_identity("6.9", "KL = 1/2 [sum (l_i - 1 - log l_i) + d^T S1^-1 d], l = eig(S1^-1 S0)",
                        kl_by_eigenvalues(p.q0, p.q1), kl_of(p.q0, p.q1, kl));
}

CheckRow check_eq_6_9_nonnegative(const KlFn& kl, int pairs, std::uint64_t seed) {
  Rng rng(seed);
  double smallest = INFINITY;
  for (int i = 0; i < pairs; ++i) {
    const VecD mu0 = rng.normal_matrix<double>(3, 1);
    const MatD S0 = random_spd(3, rng, 0.05);
    VecD mu1 = rng.normal_matrix<double>(3, 1);
    MatD S1 = random_spd(3, rng, 0.05);
    if (i % 2) {  // nearby: S1 = C (I + eps E) C^T with S0 = C C^T and E symmetric, |eps E| < 1
      const double eps = std::pow(10.0, rng.uniform(-4.0, 0.0));
      const MatD C = Eigen::LLT<MatD>(S0).matrixL();
      MatD E = rng.uniform_matrix<double>(3, 3, -1.0, 1.0);
      E = (E + E.transpose()) / 8.0;  // entries within +-1/4: the eigenvalues of I + eps E exceed 1/4
      S1 = C * (MatD::Identity(3, 3) + eps * E) * C.transpose();
      mu1 = mu0 + eps * (C * rng.normal_matrix<double>(3, 1));
    }
    smallest = std::min(smallest, kl(mu0, S0, mu1, S1));
  }
  return check_bound("6.9", "KL >= 0: smallest KL over " + std::to_string(pairs) + " random pairs, k = 3", 0.0,
                     smallest, 0.0);
}

CheckRow check_eq_6_9_zero_iff_equal(const KlFn& kl, std::uint64_t seed) {
  Rng rng(seed);
  double worst = 0.0;
  for (int i = 0; i < 100; ++i) {
    const VecD mu = rng.normal_matrix<double>(3, 1);
    const MatD S = random_spd(3, rng, 0.05);
    worst = std::max(worst, std::abs(kl(mu, S, mu, S)));
  }
  return check_identity("6.9", "KL(q || q) = 0: largest |KL(q||q)| over 100 random q", 0.0, worst);
}

CheckRow check_eq_6_9_mean_shift(const Pair& p, const KlFn& kl) {
  VecD delta(3);
  delta << 1e-3, -2e-3, 0.5e-3;
  const MatD& S = p.q1.cov();
  const double expected = 0.5 * delta.dot(Eigen::LLT<MatD>(S).solve(delta));
  CheckRow r = check_identity("6.9", "equal covariances: KL = 1/2 d^T S^-1 d > 0 for a shift d ~ 1e-3", expected,
                              kl(p.q1.mean() + delta, S, p.q1.mean(), S), 0.0);
  r.error = std::abs(r.numeric - expected) / expected;  // relative: both sides are ~1e-6
  r.tolerance = 1e-6;
  r.pass = std::isfinite(r.numeric) && r.numeric > 0 && r.error <= r.tolerance;
  r.detail = "error is relative; the shift is small, so a KL that is not exactly 0 at d = 0 fails too";
  return r;
}

CheckRow check_eq_6_10_forward(const KlFn& kl) {
  return check_identity("6.10", "KL(N(0,1) || N(0,4)) closed form vs quadrature",
                        kl(vec1(0), mat1(1), vec1(0), mat1(4)), kl_by_quadrature_1d(0, 1, 0, 4).value);
}

CheckRow check_eq_6_10_reverse(const KlFn& kl) {
  return check_identity("6.10", "KL(N(0,4) || N(0,1)) closed form vs quadrature",
                        kl(vec1(0), mat1(4), vec1(0), mat1(1)), kl_by_quadrature_1d(0, 4, 0, 1).value);
}

CheckRow check_eq_6_10_not_symmetric(const KlFn& kl) {
  const double forward = kl(vec1(0), mat1(1), vec1(0), mat1(4)), reverse = kl(vec1(0), mat1(4), vec1(0), mat1(1));
  CheckRow r = check_bound("6.10", "not symmetric: KL(p||q) + 0.1 <= KL(q||p) for p = N(0,1), q = N(0,4)",
                           forward + 0.1, reverse, 0.0);
  r.detail = "KL(p||q) = " + std::to_string(forward) + ", KL(q||p) = " + std::to_string(reverse);
  return r;
}

std::vector<CheckRow> all_checks(const McSizes& n, std::uint64_t seed) {
  const Pair p = general_pair();
  const DiagPosterior q = vae_posterior();
  return {check_eq_6_1_density_1d(0.7, 0.36),
          check_eq_6_1_density_2d(),
          check_eq_6_2_centred_second_moment(p, n.moments, seed + 2),
          check_eq_6_3_second_moment_about_mu1(p, n.moments, seed + 3),
          check_eq_6_4_quadratic_form(p, n.moments, seed + 4),
          check_eq_6_5_expected_log_q0(p, n.moments, seed + 5),
          check_eq_6_5_expected_log_q1(p, n.moments, seed + 6),
          check_eq_6_6_kl_vs_monte_carlo(p, n.kl, seed + 7),
          check_eq_6_6_kl_vs_quadrature(),
          check_eq_6_7_diag_equals_general(q),
          check_eq_6_7_lecture_form(q),
          check_eq_6_7_diag_vs_monte_carlo(q, n.kl, seed + 8),
          check_eq_6_7_diag_vs_quadrature(),
          check_eq_6_8_gradient(q),
          check_eq_6_9_eigenvalue_form(p),
          check_eq_6_9_nonnegative(),
          check_eq_6_9_zero_iff_equal(),
          check_eq_6_9_mean_shift(p),
          check_eq_6_10_forward(),
          check_eq_6_10_reverse(),
          check_eq_6_10_not_symmetric()};
}

}  // namespace course::ch06
