// The bodies of 14_diffusion/checks.hpp's checks, compiled once: the chapter program and the
// chapter's tests link this file.
#include "14_diffusion/checks.hpp"

#include <algorithm>
#include <boost/math/special_functions/bessel.hpp>
#include <cmath>
#include <numbers>

#include "03_denoising_ae/dae.hpp"
#include "06_gaussian_kl/quadrature.hpp"
#include "07_reparameterization/checks.hpp"
#include "course/two_sample.hpp"

namespace course::ch14 {

namespace {

double log_normal(double x, double mean, double var) {
  return -0.5 * (std::log(2.0 * std::numbers::pi * var) + (x - mean) * (x - mean) / var);
}

VecD vec1(double x) { return VecD::Constant(1, x); }
MatD mat1(double x) { return MatD::Constant(1, 1, x); }

// Mean and standard error of each row of S (one sample per column).
McVecEstimate row_moments(const MatD& S, std::uint64_t seed) {
  McVecEstimate e;
  const double n = double(S.cols());
  e.mean = S.rowwise().mean();
  const MatD centred = S.colwise() - e.mean;
  e.se = (centred.rowwise().squaredNorm() / (n - 1.0) / n).cwiseSqrt();
  e.n = S.cols();
  e.seed = seed;
  return e;
}

// The integral of f over [lo, hi] on panels of width at most h (composite 10-point Gauss-Legendre),
// and its change when the panels are halved.
template <class F>
double integrate_fine(const F& f, double lo, double hi, double h) {
  const int panels = std::clamp(int(std::ceil((hi - lo) / h)), 8, 20000);
  return ch06::integrate(f, lo, hi, panels);
}

// An x_t that q(x_t | x_0) makes likely: `deviation` standard deviations from its mean (a fixed x_t
// would be thousands of standard deviations away at small t, where every density underflows to 0).
double typical_xt(const NoiseSchedule& s, int t, double x0, double deviation) {
  const double ab = s.alpha_bar(t - 1);
  return std::sqrt(ab) * x0 + std::sqrt(1.0 - ab) * deviation;
}

}  // namespace

// ---- (14.1) -------------------------------------------------------------------------------------

CheckRow check_eq_14_1_forward_step(const ForwardStepFn& step, Index n, std::uint64_t seed) {
  const double beta = 0.3;
  MatD x(2, 1);
  x << 1.1, -0.6;
  step(x, beta, MatD::Zero(2, 1));  // a stub throws here, not inside the parallel loop
  const McVecEstimate e = monte_carlo_vec(n, 4, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD y = step(x, beta, rng.normal_matrix<double>(2, 1));
    out.head(2) = y.col(0);
    out.tail(2) = (y.col(0) - std::sqrt(1.0 - beta) * x.col(0)).array().square().matrix();
  });
  VecD analytic(4);
  analytic << std::sqrt(1.0 - beta) * x.col(0), beta, beta;
  return check_monte_carlo("14.1", "one step: mean sqrt(alpha) x, variance beta", analytic, e);
}

// ---- (14.2) -------------------------------------------------------------------------------------

namespace {
MatD uniform_unit_variance(Index n, Rng& rng) {
  const double a = std::sqrt(3.0);
  return rng.uniform_matrix<double>(2, n, -a, a);
}
}  // namespace

CheckRow check_eq_14_2_variance_preserved(const ForwardStepFn& step, Index chains, std::uint64_t seed) {
  const NoiseSchedule s = chapter_schedule();
  const int T = int(s.beta.size());
  const std::vector<int> times = {T / 10, T / 2, T};
  Rng rng(seed);
  MatD X = uniform_unit_variance(chains, rng);
  MatD squares(6, chains);
  int next = 0;
  for (int t = 1; t <= T; ++t) {
    X = step(X, s.beta(t - 1), rng.normal_matrix<double>(2, chains));
    if (t == times[std::size_t(next)]) {
      squares.middleRows(2 * next, 2) = X.array().square().matrix();
      ++next;
    }
  }
  return check_monte_carlo("14.2", "Var(x_0) = 1 => E[x_t^2] = 1 at t = T/10, T/2, T", VecD::Ones(6),
                           row_moments(squares, seed));
}

std::vector<double> chain_variance(const ForwardStepFn& step, Index chains, std::uint64_t seed) {
  const NoiseSchedule s = chapter_schedule();
  Rng rng(seed);
  MatD X = uniform_unit_variance(chains, rng);
  std::vector<double> var = {X.squaredNorm() / double(2 * chains)};
  for (Index t = 1; t <= s.beta.size(); ++t) {
    X = step(X, s.beta(t - 1), rng.normal_matrix<double>(2, chains));
    var.push_back(X.squaredNorm() / double(2 * chains));
  }
  return var;
}

// ---- (14.3) -------------------------------------------------------------------------------------

CheckRow check_eq_14_3_marginal_vs_chain(const ScheduleFn& schedule, const QSampleFn& q, Index chains,
                                         std::uint64_t seed) {
  const NoiseSchedule truth = chapter_schedule();  // the chain runs on the betas alone
  const NoiseSchedule s = schedule(truth.beta);
  const int T = int(truth.beta.size());
  const std::vector<int> times = {10, 60, T};
  MatD x0(2, 1);
  x0 << 1.2, -0.7;
  Rng rng(seed);
  MatD X = x0.replicate(1, chains);
  MatD samples(12, chains);
  VecD analytic(12);
  int next = 0;
  for (int t = 1; t <= T; ++t) {
    X = std::sqrt(1.0 - truth.beta(t - 1)) * X + std::sqrt(truth.beta(t - 1)) * rng.normal_matrix<double>(2, chains);
    if (t != times[std::size_t(next)]) continue;
    const double ab = s.alpha_bar(t - 1);
    const VecD mean = q(x0, ab, MatD::Zero(2, 1)).col(0);
    const VecD sd = q(MatD::Zero(2, 1), ab, MatD::Ones(2, 1)).col(0);
    samples.middleRows(4 * next, 2) = X;
    samples.middleRows(4 * next + 2, 2) = (X.colwise() - mean).array().square().matrix();
    analytic.segment(4 * next, 2) = mean;
    analytic.segment(4 * next + 2, 2) = sd.array().square().matrix();
    ++next;
  }
  return check_monte_carlo("14.3", "t chain steps from x_0 = N(sqrt(ab_t) x_0, (1 - ab_t) I), t = 10, 60, T",
                           analytic, row_moments(samples, seed));
}

CheckRow check_eq_14_3_chapman_kolmogorov(const QSampleFn& q) {
  const NoiseSchedule s = chapter_schedule();
  const double x0 = 0.9;
  VecD integral(4), closed(4);
  int k = 0;
  for (int t : {2, 30, 125, 250}) {
    const double xt = typical_xt(s, t, x0, -0.8);
    const double alpha = s.alpha(t - 1), beta = s.beta(t - 1), ab_prev = s.alpha_bar(t - 2);
    // The two factors as functions of y = x_{t-1}: the prior N(sqrt(ab_prev) x0, 1 - ab_prev) and the
    // step's likelihood of x_t, centred at x_t / sqrt(alpha) with sd sqrt(beta / alpha).
    const double c1 = std::sqrt(ab_prev) * x0, s1 = std::sqrt(1.0 - ab_prev);
    const double c2 = xt / std::sqrt(alpha), s2 = std::sqrt(beta / alpha);
    const double h = std::min(s1, s2);
    const auto f = [&](double y) {
      return std::exp(log_normal(xt, std::sqrt(alpha) * y, beta) + log_normal(y, std::sqrt(ab_prev) * x0, 1.0 - ab_prev));
    };
    integral(k) = integrate_fine(f, std::min(c1, c2) - 40.0 * h, std::max(c1, c2) + 40.0 * h, h / 2.0);
    const double ab = s.alpha_bar(t - 1);
    const double mean = q(mat1(x0), ab, mat1(0.0))(0, 0), sd = q(mat1(0.0), ab, mat1(1.0))(0, 0);
    closed(k) = std::exp(log_normal(xt, mean, sd * sd));
    ++k;
  }
  return check_identity("14.3", "int q(x_t|x_{t-1}) q(x_{t-1}|x_0) dx_{t-1} = q(x_t|x_0) (quadrature)", MatD(closed),
                        MatD(integral));
}

// ---- (14.4) -------------------------------------------------------------------------------------

CheckRow check_eq_14_4_posterior_vs_bayes(const PosteriorFn& posterior, double x0, double deviation) {
  const NoiseSchedule s = chapter_schedule();
  VecD bayes(8), closed(8);
  int k = 0;
  for (int t : {2, 30, 125, 250}) {
    const double xt = typical_xt(s, t, x0, deviation);
    const double alpha = s.alpha(t - 1), beta = s.beta(t - 1), ab_prev = s.alpha_bar(t - 2);
    const double c1 = std::sqrt(ab_prev) * x0, s1 = std::sqrt(1.0 - ab_prev);
    const double c2 = xt / std::sqrt(alpha), s2 = std::sqrt(beta / alpha);
    const double h = std::min(s1, s2), lo = std::min(c1, c2) - 40.0 * h, hi = std::max(c1, c2) + 40.0 * h;
    const auto f = [&](double y) {
      return std::exp(log_normal(xt, std::sqrt(alpha) * y, beta) + log_normal(y, c1, 1.0 - ab_prev));
    };
    const double Z = integrate_fine(f, lo, hi, h / 2.0);
    const double mean = integrate_fine([&](double y) { return y * f(y); }, lo, hi, h / 2.0) / Z;
    const double var = integrate_fine([&](double y) { return (y - mean) * (y - mean) * f(y); }, lo, hi, h / 2.0) / Z;
    const PosteriorCoefficients c = posterior(s, t);
    bayes.segment(2 * k, 2) << mean, var;
    closed.segment(2 * k, 2) << c.x0 * x0 + c.xt * xt, c.variance;
    ++k;
  }
  return check_identity("14.4", "q(x_{t-1}|x_t,x_0): closed-form mean, variance = Bayes by quadrature",
                        MatD(closed), MatD(bayes));
}

// ---- (14.5) -------------------------------------------------------------------------------------

TinyChain tiny_chain() {
  TinyChain c;
  VecD beta(4);
  beta << 0.05, 0.15, 0.3, 0.5;
  c.s = make_schedule(beta);
  c.a.resize(4);
  c.b.resize(4);
  c.v.resize(4);
  c.a << 0.9, 0.8, 0.7, 0.6;
  c.b << 0.05, -0.1, 0.1, 0.0;
  c.v << 0.02, 0.1, 0.2, 0.3;
  return c;
}

VecD elbo_terms(const TinyChain& c, const PosteriorFn& posterior, const KlFn& kl) {
  const int T = int(c.s.beta.size());
  VecD L(T + 1);
  // L_T: the prior-matching term.
  const double abT = c.s.alpha_bar(T - 1);
  L(T) = kl(vec1(std::sqrt(abT) * c.x0), mat1(1.0 - abT), vec1(0.0), mat1(1.0));
  // L_{t-1}, t = 2..T: the KL between the posterior and the model's step, averaged over x_t.
  for (int t = 2; t <= T; ++t) {
    const PosteriorCoefficients q = posterior(c.s, t);
    const double ab = c.s.alpha_bar(t - 1), centre = std::sqrt(ab) * c.x0, sd = std::sqrt(1.0 - ab);
    const auto f = [&](double xt) {
      const double kl_t = kl(vec1(q.x0 * c.x0 + q.xt * xt), mat1(q.variance), vec1(c.a(t - 1) * xt + c.b(t - 1)),
                             mat1(c.v(t - 1)));
      return std::exp(log_normal(xt, centre, 1.0 - ab)) * kl_t;
    };
    L(t - 1) = ch06::integrate_line(f, centre, sd).value;
  }
  // L_0: the reconstruction term.
  const double ab1 = c.s.alpha_bar(0), centre = std::sqrt(ab1) * c.x0, sd = std::sqrt(1.0 - ab1);
  L(0) = ch06::integrate_line([&](double x1) {
    return -std::exp(log_normal(x1, centre, 1.0 - ab1)) * log_normal(c.x0, c.a(0) * x1 + c.b(0), c.v(0));
  }, centre, sd).value;
  return L;
}

namespace {

// One forward path x_1..x_T from x_0 (x[t] for t = 0..T) and its per-term log-ratios.
struct PathTerms {
  VecD terms;            // T + 1: s_0, ..., s_T (the Monte Carlo integrands of L_0..L_T)
  double forward = 0.0;  // log q(x_{1:T} | x_0) - log p(x_{0:T}) with q factored forward
  double log_q_forward = 0.0, log_q_bayes = 0.0;
};

PathTerms path_terms(const TinyChain& c, const PosteriorFn& posterior, Rng& rng) {
  const int T = int(c.s.beta.size());
  std::vector<double> x(std::size_t(T) + 1);
  x[0] = c.x0;
  for (int t = 1; t <= T; ++t)
    x[std::size_t(t)] = std::sqrt(c.s.alpha(t - 1)) * x[std::size_t(t) - 1] + std::sqrt(c.s.beta(t - 1)) * rng.normal();
  PathTerms p;
  p.terms.resize(T + 1);
  // log p(x_{t-1} | x_t) of the model, t = 1..T.
  auto log_p = [&](int t) { return log_normal(x[std::size_t(t) - 1], c.a(t - 1) * x[std::size_t(t)] + c.b(t - 1), c.v(t - 1)); };
  const double abT = c.s.alpha_bar(T - 1);
  const double log_qT = log_normal(x[std::size_t(T)], std::sqrt(abT) * c.x0, 1.0 - abT);
  const double log_prior = log_normal(x[std::size_t(T)], 0.0, 1.0);
  p.terms(T) = log_qT - log_prior;
  p.log_q_bayes = log_qT;
  for (int t = 2; t <= T; ++t) {
    const PosteriorCoefficients q = posterior(c.s, t);
    const double log_post = log_normal(x[std::size_t(t) - 1], q.x0 * c.x0 + q.xt * x[std::size_t(t)], q.variance);
    p.terms(t - 1) = log_post - log_p(t);
    p.log_q_bayes += log_post;
  }
  p.terms(0) = -log_p(1);
  double log_p_joint = log_prior;
  for (int t = 1; t <= T; ++t) {
    p.log_q_forward += log_normal(x[std::size_t(t)], std::sqrt(c.s.alpha(t - 1)) * x[std::size_t(t) - 1], c.s.beta(t - 1));
    log_p_joint += log_p(t);
  }
  p.forward = p.log_q_forward - log_p_joint;
  return p;
}

}  // namespace

McVecEstimate elbo_terms_monte_carlo(const TinyChain& c, Index n, std::uint64_t seed, const PosteriorFn& posterior) {
  const int T = int(c.s.beta.size());
  posterior(c.s, 2);  // a stub throws here, not inside the parallel loop
  return monte_carlo_vec(n, T + 2, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const PathTerms p = path_terms(c, posterior, rng);
    out.head(T + 1) = p.terms;
    out(T + 1) = p.forward;
  });
}

CheckRow check_eq_14_5_elbo_terms(const TinyChain& c, const VecD& terms, const McVecEstimate& mc) {
  const Index T = c.s.beta.size();
  VecD analytic(T + 2);
  analytic << terms, terms.sum();
  return check_monte_carlo("14.5", "-ELBO = L_0 + sum KL terms + L_T: each term and the sum vs paths of q", analytic,
                           mc);
}

CheckRow check_eq_14_5_factorisation(const TinyChain& c, const PosteriorFn& posterior) {
  Rng rng(1451);
  VecD forward(200), bayes(200);
  for (Index i = 0; i < 200; ++i) {
    const PathTerms p = path_terms(c, posterior, rng);
    forward(i) = p.log_q_forward;
    bayes(i) = p.log_q_bayes;
  }
  return check_identity("14.5", "prod_t q(x_t|x_{t-1}) = q(x_T|x_0) prod_t q(x_{t-1}|x_t,x_0) on 200 paths",
                        MatD(forward), MatD(bayes));
}

// ---- (14.6) -------------------------------------------------------------------------------------

CheckRow check_eq_14_6_mean_from_eps(const MeanFn& mean, const PosteriorFn& posterior) {
  const NoiseSchedule s = chapter_schedule();
  Rng rng(146);
  MatD lhs(2, 15), rhs(2, 15);
  int k = 0;
  for (int t : {2, 50, 250}) {
    const MatD X0 = rng.normal_matrix<double>(2, 5), Eps = rng.normal_matrix<double>(2, 5);
    const double ab = s.alpha_bar(t - 1);
    const MatD Xt = std::sqrt(ab) * X0 + std::sqrt(1.0 - ab) * Eps;
    const PosteriorCoefficients c = posterior(s, t);
    lhs.middleCols(5 * k, 5) = c.x0 * X0 + c.xt * Xt;
    rhs.middleCols(5 * k, 5) = mean(Xt, Eps, s, t);
    ++k;
  }
  return check_identity("14.6", "posterior mean = (x_t - beta/sqrt(1-ab) eps)/sqrt(alpha)", lhs, rhs);
}

double eps_loss_weight(const NoiseSchedule& s, int t) {
  const double beta = s.beta(t - 1), alpha = s.alpha(t - 1), ab = s.alpha_bar(t - 1);
  const double beta_tilde = (1.0 - s.alpha_bar(t - 2)) / (1.0 - ab) * beta;
  return beta * beta / (2.0 * beta_tilde * alpha * (1.0 - ab));
}

CheckRow check_eq_14_6_kl_is_weighted_noise_error(double weight, const MeanFn& mean, const KlFn& kl) {
  const NoiseSchedule s = chapter_schedule();
  Rng rng(1462);
  VecD lhs(9), rhs(9);
  int k = 0;
  for (int t : {2, 50, 250}) {
    for (int r = 0; r < 3; ++r) {
      const MatD x0 = rng.normal_matrix<double>(2, 1), eps = rng.normal_matrix<double>(2, 1);
      const MatD eps_hat = eps + 0.3 * rng.normal_matrix<double>(2, 1);
      const double ab = s.alpha_bar(t - 1);
      const MatD xt = std::sqrt(ab) * x0 + std::sqrt(1.0 - ab) * eps;
      const PosteriorCoefficients c = posterior_coefficients(s, t);
      const MatD cov = c.variance * MatD::Identity(2, 2);
      lhs(k) = kl(VecD(c.x0 * x0 + c.xt * xt), cov, VecD(mean(xt, eps_hat, s, t)), cov);
      rhs(k) = weight * eps_loss_weight(s, t) * (eps - eps_hat).squaredNorm();
      ++k;
    }
  }
  return check_identity("14.6", "KL(q post || p_theta) = beta^2/(2 bt alpha (1-ab)) ||eps - eps_hat||^2", MatD(lhs),
                        MatD(rhs));
}

// ---- (14.7) -------------------------------------------------------------------------------------

MatD tweedie_points() {
  MatD X(2, 6);
  X << 0.0, 1.3, -0.8, 0.2, 2.5, -1.6,  //
      0.0, 0.4, -0.9, 1.5, -0.3, 1.1;
  return X;
}

CheckRow check_eq_14_7_tweedie(const ScoreFn& score, bool clean_score) {
  const NoiseSchedule s = chapter_schedule();
  const GaussianMixture2D g = chapter_data();
  const MatD X = tweedie_points();
  MatD lhs(2, 18), rhs(2, 18);
  int k = 0;
  for (int t : {5, 50, 250}) {
    const double ab = s.alpha_bar(t - 1);
    lhs.middleCols(6 * k, 6) = score(optimal_eps(g, ab, X), ab);
    rhs.middleCols(6 * k, 6) = clean_score ? mixture_score_t(g, 1.0, X) : mixture_score_t(g, ab, X);
    ++k;
  }
  return check_identity("14.7", "-E[eps|x_t]/sqrt(1-ab) = grad log q_t(x_t) on the mixture", lhs, rhs);
}

CheckRow check_eq_14_7_learned_score(const EpsFn& eps, int t, const std::string& what, std::uint64_t seed) {
  const NoiseSchedule s = chapter_schedule();
  const GaussianMixture2D g = chapter_data();
  Rng rng(seed);
  const double ab = s.alpha_bar(t - 1);
  const MatD X = q_sample(g.sample(2000, rng), ab, rng.normal_matrix<double>(2, 2000));
  const MatD est = score_from_eps(eps(X, t), ab), truth = mixture_score_t(g, ab, X);
  const double cosine = ch03::mean_cosine(est, truth);
  CheckRow r = check_bound("14.7", what + ": mean cos(score, true score) >= 0.9 at t = " + std::to_string(t),
                           kCosineBound, cosine, 0.0);
  r.detail += "; 2000 points from q_t";
  return r;
}

// ---- (14.8) -------------------------------------------------------------------------------------

CheckRow check_eq_14_8_samples(const MatD& samples, const std::string& what, std::uint64_t seed) {
  Rng rng(seed);
  const MatD data = chapter_data().sample(samples.cols(), rng);
  return check_two_sample("14.8", what + " vs fresh data: MMD test accepts", samples, data, kMmdBandwidth);
}

double data_radius_cdf(double r) {
  // The Rice density f(r) = r / v exp(-(r^2 + m^2) / (2 v)) I_0(r m / v), integrated once on a grid
  // of 4,000 cells of [0, 4] (10-point Gauss-Legendre per cell, exact to rounding), then linear
  // interpolation (error ~ h^2 max|f'| / 8 ~ 1e-5, against a KS critical value of 0.04).
  static const std::vector<double> table = [] {
    const double m = 1.4, v = 0.02;
    const auto f = [&](double x) {
      return x / v * std::exp(-(x * x + m * m) / (2.0 * v)) * boost::math::cyl_bessel_i(0, x * m / v);
    };
    std::vector<double> F = {0.0};
    for (int k = 0; k < 4000; ++k) F.push_back(F.back() + ch06::integrate(f, k * 1e-3, (k + 1) * 1e-3, 1));
    return F;
  }();
  if (!(r > 0.0)) return 0.0;
  const double u = r / 1e-3;
  if (u >= 4000.0) return 1.0;
  const std::size_t k = std::size_t(u);
  return table[k] + (u - double(k)) * (table[k + 1] - table[k]);
}

CheckRow check_eq_14_8_radii(const MatD& samples, const std::string& what) {
  std::vector<double> radii(std::size_t(samples.cols()));
  for (Index j = 0; j < samples.cols(); ++j) radii[std::size_t(j)] = samples.col(j).norm();
  const double D = ch07::ks_statistic(radii, data_radius_cdf);
  const double crit = ch07::ks_critical_value(samples.cols(), 1e-6);
  CheckRow r = check_row("14.8", what + ": radii |x| ~ the data's (Kolmogorov-Smirnov)", "goodness of fit", D, crit,
                         D - crit, 0.0);
  r.detail = "D_n = " + format_number(D) + " <= " + format_number(crit) + " = sqrt(ln(2/alpha)/(2n)), n = " +
             std::to_string(samples.cols()) + ", false-failure rate <= 1e-6 (DKW with Massart's constant)";
  return r;
}

MatD exact_samples(std::uint64_t seed, const ReverseStepFn& step, Index n) {
  const NoiseSchedule s = chapter_schedule();
  Rng rng(seed);
  return run_reverse(s, exact_eps(chapter_data(), s), n, rng, {}, nullptr, step);
}

}  // namespace course::ch14
