// Chapter 7's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch07 asserts each one, and that each rejects the
// likely wrong formula named beside it (the function under test is a parameter, so a test can
// plant the wrong one). Every Monte Carlo row uses a fixed seed and a false-failure rate <= 1e-6.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "07_reparameterization/toy.hpp"
#include "course/check.hpp"

namespace course::ch07 {

// The false-failure rate of every statistical row of this chapter.
inline constexpr double kAlpha = 1e-6;

using Sampler = std::function<VecD(const VecD& mu, const VecD& log_var, const VecD& eps)>;
using SgdStep = std::function<VecD(const VecD& mu, const VecD& c, const MatD& eps, double lr)>;

// The Gaussian of the sampling checks: three coordinates with sigma = 0.5, 1.5, 3, so that
// sigma, sigma^2 and exp(log sigma^2) all differ.
struct SamplingCase {
  VecD mu, sigma, log_var;
};
inline SamplingCase sampling_case() {
  SamplingCase s;
  s.mu = (VecD(3) << 1.0, -2.0, 0.5).finished();
  s.sigma = (VecD(3) << 0.5, 1.5, 3.0).finished();
  s.log_var = (2.0 * s.sigma.array().log()).matrix();
  return s;
}

// A point of the toy problem away from the optimum with unequal sigmas (for eqs. 7.2-7.6).
struct ToyPoint {
  VecD mu, sigma, c;
};
inline ToyPoint general_point() {
  return {(VecD(2) << 1.0, 3.0).finished(), (VecD(2) << 0.7, 1.3).finished(), lecture_target()};
}
// The lecture's setting, sigma = 1, at a given mu (for eq. 7.7).
inline ToyPoint lecture_point(double mu0, double mu1) {
  return {(VecD(2) << mu0, mu1).finished(), VecD::Ones(2), lecture_target()};
}

// ---- 7.1 reparameterised sampling -------------------------------------------------------------

// (7.1) The moments of z = mu + sigma * eps: E z_i = mu_i, E (z_i - mu_i)^2 = sigma_i^2 and
// E (z_i - mu_i)(z_j - mu_j) = 0, nine entries at once (Bonferroni, 1e-6 for the row).
// Wrong formulas it rejects: exp(log_var) * eps (sigma^2 for sigma), sigma^2 in place of sigma.
inline CheckRow check_eq_7_1_moments(const Sampler& sample = reparameterize, Index n = Index(1) << 18,
                                     std::uint64_t seed = 71) {
  const SamplingCase s = sampling_case();
  VecD truth(9);
  truth << s.mu, s.sigma.array().square().matrix(), 0.0, 0.0, 0.0;
  // One call outside the parallel region first: an exception (an exercise not implemented yet) must
  // not escape an OpenMP region, where it would terminate the program.
  sample(s.mu, s.log_var, VecD::Zero(3));
  const McVecEstimate est = monte_carlo_vec(n, 9, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const VecD eps = (VecD(3) << rng.normal(), rng.normal(), rng.normal()).finished();
    const VecD z = sample(s.mu, s.log_var, eps);
    const VecD r = z - s.mu;
    out << z, r.array().square().matrix(), r(0) * r(1), r(0) * r(2), r(1) * r(2);
  });
  return check_monte_carlo("7.1", "z = mu + exp(log_var/2) eps: means, variances, covariances", truth, est, kAlpha);
}

// Phi, the standard normal CDF.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// The Kolmogorov-Smirnov statistic D_n = sup_x |F_n(x) - F(x)| of a sample against a CDF.
inline double ks_statistic(std::vector<double> x, const std::function<double(double)>& cdf) {
  std::sort(x.begin(), x.end());
  const double n = double(x.size());
  double d = 0.0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double f = cdf(x[k]);
    d = std::max({d, double(k + 1) / n - f, f - double(k) / n});
  }
  return d;
}

// The critical value of D_n at false-failure rate alpha from the Dvoretzky-Kiefer-Wolfowitz
// inequality with Massart's constant, P(D_n > t) <= 2 exp(-2 n t^2), valid for every n:
// t = sqrt(ln(2 / alpha) / (2 n)). (It is also the leading term of Kolmogorov's limit law.)
inline double ks_critical_value(Index n, double alpha) { return std::sqrt(std::log(2.0 / alpha) / (2.0 * double(n))); }

// (7.1) Goodness of fit: each coordinate of z against the CDF of N(mu_i, sigma_i^2), a KS test per
// coordinate at alpha / 3 (Bonferroni: 1e-6 for the row).
// Wrong formulas it rejects: exp(log_var) * eps, sigma^2 * eps.
inline CheckRow check_eq_7_1_goodness_of_fit(const Sampler& sample = reparameterize, Index n = Index(1) << 17,
                                             std::uint64_t seed = 72) {
  const SamplingCase s = sampling_case();
  const Index d = s.mu.size();
  // One call outside the parallel region first: an exception (an exercise not implemented yet) must
  // not escape an OpenMP region, where it would terminate the program.
  sample(s.mu, s.log_var, VecD::Zero(d));
  auto parts = parallel_chunks(n, 4096, seed, [&](Rng& rng, Index b, Index e) {
    MatD z(d, e - b);
    for (Index k = 0; k < e - b; ++k) {
      const VecD eps = (VecD(3) << rng.normal(), rng.normal(), rng.normal()).finished();
      z.col(k) = sample(s.mu, s.log_var, eps);
    }
    return z;
  });
  const double critical = ks_critical_value(n, kAlpha / double(d));
  double worst = 0.0;
  Index worst_i = 0;
  for (Index i = 0; i < d; ++i) {
    std::vector<double> xi;
    xi.reserve(std::size_t(n));
    for (const MatD& z : parts)
      for (Index k = 0; k < z.cols(); ++k) xi.push_back(z(i, k));
    const double mu = s.mu(i), sigma = s.sigma(i);
    const double D = ks_statistic(std::move(xi), [&](double x) { return normal_cdf((x - mu) / sigma); });
    if (D > worst || i == 0) worst = D, worst_i = i;
  }
  CheckRow r;
  r.id = "7.1";
  r.claim = "z_i ~ N(mu_i, sigma_i^2): Kolmogorov-Smirnov D_n, worst coordinate";
  r.kind = "goodness of fit";
  r.analytic = critical;
  r.numeric = worst;
  r.error = worst;
  r.tolerance = critical;
  r.pass = std::isfinite(worst) && worst <= critical;
  std::ostringstream os;
  os << "D_n = sup |F_n - Phi((x - mu_i)/sigma_i)| over n = " << n << " samples (seed " << seed
     << "), worst coordinate " << worst_i << "; critical value sqrt(ln(2/a)/(2n)) with a = 1e-6/" << d
     << " per coordinate (DKW-Massart bound, exact for every n): false-failure rate <= 1e-6 for the row";
  r.detail = os.str();
  return r;
}

// ---- 7.2-7.3 the toy loss and its gradient ------------------------------------------------------

// (7.2) The toy loss in closed form against a Monte Carlo average of ||mu + sigma eps - c||^2.
// Wrong formulas it rejects: a missing ||sigma||^2 (the noise's own contribution), sum sigma_i.
inline CheckRow check_eq_7_2_loss(const std::function<double(const VecD&, const VecD&, const VecD&)>& loss = toy_loss,
                                  Index n = Index(1) << 18, std::uint64_t seed = 73) {
  const ToyPoint p = general_point();
  const McEstimate est = monte_carlo(n, seed, [&](Rng& rng) {
    const VecD eps = (VecD(2) << rng.normal(), rng.normal()).finished();
    return (p.mu + (p.sigma.array() * eps.array()).matrix() - p.c).squaredNorm();
  });
  return check_monte_carlo("7.2", "L = ||mu - c||^2 + ||sigma||^2 vs E||x - c||^2", loss(p.mu, p.sigma, p.c), est);
}

// (7.3) grad L = 2 (mu - c) against central differences of the closed form (7.2).
// Wrong formulas it rejects: (mu - c) (a missing 2), 2 (c - mu) (a flipped sign).
inline CheckRow check_eq_7_3_gradient(const std::function<VecD(const VecD&, const VecD&)>& grad = toy_gradient) {
  const ToyPoint p = general_point();
  return check_gradient("7.3", "grad L = 2 (mu - c) vs central differences of L",
                        [&](const VecD& mu) { return toy_loss(mu, p.sigma, p.c); }, p.mu, grad(p.mu, p.c));
}

// ---- 7.4-7.5 the two estimators -----------------------------------------------------------------

// A fixed noise draw at which the estimators are differentiated.
inline VecD fixed_eps() { return (VecD(2) << 0.8, -1.3).finished(); }

// (7.4) The pathwise estimator is the mu-gradient of the sampled loss ||mu + sigma eps - c||^2 at
// fixed eps, against central differences. Wrong formulas: a missing 2, a flipped sign.
inline CheckRow check_eq_7_4_pathwise_is_the_path_derivative(const Estimator& g = pathwise_estimator()) {
  const ToyPoint p = general_point();
  const VecD eps = fixed_eps();
  return check_gradient("7.4", "pathwise 2(mu + sigma eps - c) = d/dmu ||x(mu, eps) - c||^2",
                        [&](const VecD& mu) { return (mu + (p.sigma.array() * eps.array()).matrix() - p.c).squaredNorm(); },
                        p.mu, g(p.mu, p.sigma, p.c, eps));
}

// The mean of an estimator over n draws against grad L = 2 (mu - c), both coordinates (1e-6).
inline CheckRow check_unbiased(const std::string& id, const std::string& claim, const Estimator& g,
                               const ToyPoint& p, Index n, std::uint64_t seed) {
  const McVecEstimate m = estimator_moments(g, p.mu, p.sigma, p.c, n, seed);
  McVecEstimate mean;
  mean.n = m.n;
  mean.seed = m.seed;
  mean.mean = m.mean.head(p.mu.size());
  mean.se = m.se.head(p.mu.size());
  return check_monte_carlo(id, claim, toy_gradient(p.mu, p.c), mean, kAlpha);
}

// (7.4) E[pathwise] = grad L. Wrong formulas: a missing 2, a flipped sign.
inline CheckRow check_eq_7_4_pathwise_unbiased(const Estimator& g = pathwise_estimator(), Index n = Index(1) << 18,
                                               std::uint64_t seed = 74) {
  return check_unbiased("7.4", "E[pathwise estimator] = 2 (mu - c)", g, general_point(), n, seed);
}

// (7.5) The score-function estimator at fixed x is the mu-gradient of f(x) log N(x; mu, sigma^2),
// against central differences. Wrong formulas: a score (x - mu) / sigma, a flipped sign (mu - x).
inline CheckRow check_eq_7_5_score_is_f_times_grad_log_density(
    const std::function<VecD(const VecD&, const VecD&, const VecD&, const VecD&)>& g = score_function_gradient) {
  const ToyPoint p = general_point();
  const VecD x = p.mu + (p.sigma.array() * fixed_eps().array()).matrix();
  const double f = (x - p.c).squaredNorm();
  return check_gradient("7.5", "score function = f(x) grad_mu log N(x; mu, sigma^2)",
                        [&](const VecD& mu) { return f * log_normal_density(x, mu, p.sigma); }, p.mu,
                        g(p.mu, p.sigma, p.c, x));
}

// (7.5) E[score function] = grad L. Wrong formulas: (x - mu) / sigma (biased for sigma != 1), a sign.
inline CheckRow check_eq_7_5_score_unbiased(const Estimator& g = score_function_estimator(), Index n = Index(1) << 20,
                                            std::uint64_t seed = 75) {
  return check_unbiased("7.5", "E[score-function estimator] = 2 (mu - c)", g, general_point(), n, seed);
}

// ---- 7.6-7.8 their variances --------------------------------------------------------------------

// The measured per-coordinate variance of the average of `batch` draws against `formula`, with the
// mean of the squared deviations from 2 (mu - c) as the estimate and its standard error (CLT).
inline CheckRow check_variance(const std::string& id, const std::string& claim, const Estimator& g,
                               const ToyPoint& p, const VecD& formula, Index n, std::uint64_t seed, Index batch = 1) {
  const McVecEstimate m = estimator_moments(g, p.mu, p.sigma, p.c, n, seed, batch);
  McVecEstimate var;
  var.n = m.n;
  var.seed = m.seed;
  var.mean = m.mean.tail(p.mu.size());
  var.se = m.se.tail(p.mu.size());
  return check_monte_carlo(id, claim, formula, var, kAlpha);
}

// (7.6) Var[pathwise_i] = 4 sigma_i^2. Wrong formulas: 4 sigma_i (sigma for sigma^2), 2 sigma_i^2
// (Var[2X] = 2 Var X), and the estimator 2 (mu - c) that drops eps (variance 0).
inline CheckRow check_eq_7_6_pathwise_variance(const Estimator& g = pathwise_estimator(),
                                               const std::function<VecD(const VecD&)>& formula = pathwise_variance,
                                               Index n = Index(1) << 18, std::uint64_t seed = 76) {
  const ToyPoint p = general_point();
  return check_variance("7.6", "Var[pathwise_i] = 4 sigma_i^2", g, p, formula(p.sigma), n, seed);
}

// (7.7) Var[score function_i] for sigma = 1 at mu: eq. 7.7. Checked at the lecture's start
// mu = (0, 0), where the ||a||^4 term dominates, and near the target, where the constants
// (E eps^4 = 3, E eps^6 = 15) do. Wrong formulas: moments E eps^4 = E eps^6 = 1, the
// one-dimensional formula (no other coordinates), the second moment instead of the variance.
inline CheckRow check_eq_7_7_score_variance(const ToyPoint& p, const McVecEstimate& estimate,
                                            const std::function<VecD(const VecD&)>& formula) {
  std::ostringstream claim;
  claim << "Var[score function_i] = eq. 7.7 at mu = (" << p.mu(0) << ", " << p.mu(1) << ")";
  const Index d = p.mu.size();
  McVecEstimate var;
  var.n = estimate.n;
  var.seed = estimate.seed;
  var.mean = estimate.mean.tail(d);
  var.se = estimate.se.tail(d);
  return check_monte_carlo("7.7", claim.str(), formula(p.mu - p.c), var, kAlpha);
}
// The measurement behind it (one Monte Carlo run, which the tests compare with several formulas).
inline McVecEstimate score_variance_estimate(const ToyPoint& p, const Estimator& g = score_function_estimator(),
                                             Index n = Index(1) << 21, std::uint64_t seed = 77) {
  return estimator_moments(g, p.mu, p.sigma, p.c, n, seed);
}
inline CheckRow check_eq_7_7_score_variance(const ToyPoint& p, Index n = Index(1) << 21) {
  return check_eq_7_7_score_variance(p, score_variance_estimate(p, score_function_estimator(), n),
                                     [](const VecD& a) { return score_function_variance(a); });
}

// (7.8) The average of N independent draws has variance Var / N (here N = 16, at the lecture's
// start, for both estimators). Wrong formula: Var / sqrt(N).
inline CheckRow check_eq_7_8_average(bool score, Index batch = 16,
                                     const std::function<VecD(const VecD&, Index)>& formula = {},
                                     Index n = Index(1) << 16, std::uint64_t seed = 78) {
  const ToyPoint p = lecture_point(0.0, 0.0);
  const VecD var1 = score ? score_function_variance(p.mu - p.c) : pathwise_variance(p.sigma);
  const VecD predicted = formula ? formula(var1, batch) : VecD(var1 / double(batch));
  return check_variance("7.8", std::string(score ? "score function" : "pathwise") + ": Var of a mean of " +
                                   std::to_string(batch) + " draws = Var / N",
                        score ? score_function_estimator() : pathwise_estimator(), p, predicted, n, seed, batch);
}

// ---- 7.9 SGD with pathwise gradients --------------------------------------------------------------

// R independent SGD runs of T steps from mu0 (parallel, thread-count independent); entries 0..d-1
// are e_T,i - m_T,i and d..2d-1 their squares, where m_T is the predicted mean (7.9).
inline McVecEstimate sgd_final_errors(const SgdStep& step, const VecD& mu0, const SgdSetting& s, Index runs,
                                      std::uint64_t seed) {
  const VecD c = lecture_target();
  const Index d = mu0.size();
  const VecD m = sgd_error_mean(mu0 - c, s);
  // One call outside the parallel region first: an exception (an exercise not implemented yet) must
  // not escape an OpenMP region, where it would terminate the program.
  step(mu0, c, MatD::Zero(d, s.batch), s.lr);
  return monte_carlo_vec(runs, 2 * d, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    VecD mu = mu0;
    MatD eps(d, s.batch);
    for (int t = 0; t < s.steps; ++t) {
      for (Index k = 0; k < s.batch; ++k)
        for (Index i = 0; i < d; ++i) eps(i, k) = rng.normal();
      mu = step(mu, c, eps, s.lr);
    }
    const VecD r = mu - c - m;
    out.head(d) = r;
    out.tail(d) = r.array().square().matrix();
  });
}

// (7.9) The error after T steps has mean (1 - 2 lr)^T e_0 and variance lr / (N (1 - lr)) (1 -
// (1 - 2 lr)^(2T)), over 2^15 runs (1e-6). Wrong formulas: a summed (not averaged) batch
// gradient, an ascent step, and the variance lr / N without the 1 / (1 - lr).
inline const SgdSetting kSgdNoiseSetting{0.1, 4, 100};
inline McVecEstimate sgd_noise_estimate(const SgdStep& step = sgd_step, Index runs = Index(1) << 15,
                                        std::uint64_t seed = 79) {
  return sgd_final_errors(step, VecD::Zero(2), kSgdNoiseSetting, runs, seed);
}
inline CheckRow check_eq_7_9_sgd_noise(const McVecEstimate& estimate,
                                       const std::function<double(const SgdSetting&)>& variance = sgd_error_variance) {
  const double v = variance(kSgdNoiseSetting);
  VecD truth(4);
  truth << 0.0, 0.0, v, v;
  return check_monte_carlo("7.9", "SGD error e_T: mean (1-2lr)^T e_0, variance lr/(N(1-lr))(1-(1-2lr)^2T)", truth,
                           estimate, kAlpha);
}
inline CheckRow check_eq_7_9_sgd_noise(const SgdStep& step = sgd_step, Index runs = Index(1) << 15) {
  return check_eq_7_9_sgd_noise(sgd_noise_estimate(step, runs));
}

// (7.9) One SGD run from mu0 = (0, 0) (lr = 0.1, N = 4, T = 100) ends within z sqrt(v_T) of the
// predicted mean in each coordinate; e_T is exactly Gaussian, so with the Bonferroni z for two
// coordinates the false-failure rate is exactly 1e-6. Wrong: the start point, an ascent step.
inline CheckRow check_eq_7_9_sgd_converges(const SgdStep& step = sgd_step, std::uint64_t seed = 791,
                                           int steps = 100) {
  const SgdSetting s{0.1, 4, steps};
  const VecD c = lecture_target(), mu0 = VecD::Zero(2);
  Rng rng(seed, 0);
  VecD mu = mu0;
  MatD eps(2, s.batch);
  for (int t = 0; t < s.steps; ++t) {
    for (Index k = 0; k < s.batch; ++k)
      for (Index i = 0; i < 2; ++i) eps(i, k) = rng.normal();
    mu = step(mu, c, eps, s.lr);
  }
  const SgdSetting predicted{0.1, 4, 100};
  const VecD m = sgd_error_mean(mu0 - c, predicted);
  const double sd = std::sqrt(sgd_error_variance(predicted));
  const double z = z_for_false_failure_rate(kAlpha, 2);
  const double worst = ((mu - c - m).cwiseAbs() / sd).maxCoeff();
  CheckRow r;
  r.id = "7.9";
  r.claim = "SGD with pathwise gradients reaches c = (5, 5) within its noise";
  r.kind = "bound";
  r.analytic = 0.0;
  r.numeric = (mu - c).norm();
  r.error = worst;
  r.tolerance = z;
  r.pass = std::isfinite(worst) && worst <= z;
  std::ostringstream os;
  os << "mu_T = (" << mu(0) << ", " << mu(1) << ") after T = 100 steps, lr = 0.1, N = 4 (seed " << seed
     << "); error: max_i |mu_T,i - c_i - m_T,i| / sqrt(v_T) with sqrt(v_T) = " << sd << "; tol z = " << z
     << " (e_T is exactly Gaussian: false-failure rate 1e-6)";
  r.detail = os.str();
  return r;
}

// Every check of the chapter, in the order of the doc. `quick` (the program's --quick) draws 8
// times fewer samples: the false-failure rates stay the same, only the power to reject drops.
inline std::vector<CheckRow> all_checks(bool quick = false) {
  const int shift = quick ? 3 : 0;
  auto n = [&](int log2) { return Index(1) << (log2 - shift); };
  return {check_eq_7_1_moments(reparameterize, n(18)),
          check_eq_7_1_goodness_of_fit(reparameterize, n(17)),
          check_eq_7_2_loss(toy_loss, n(18)),
          check_eq_7_3_gradient(),
          check_eq_7_4_pathwise_is_the_path_derivative(),
          check_eq_7_4_pathwise_unbiased(pathwise_estimator(), n(18)),
          check_eq_7_5_score_is_f_times_grad_log_density(),
          check_eq_7_5_score_unbiased(score_function_estimator(), n(20)),
          check_eq_7_6_pathwise_variance(pathwise_estimator(), pathwise_variance, n(18)),
          check_eq_7_7_score_variance(lecture_point(0.0, 0.0), n(21)),
          check_eq_7_7_score_variance(lecture_point(5.5, 4.0), n(21)),
          check_eq_7_8_average(false, 16, {}, n(16)),
          check_eq_7_8_average(true, 16, {}, n(16)),
          check_eq_7_9_sgd_noise(sgd_step, n(15)),
          check_eq_7_9_sgd_converges()};
}

}  // namespace course::ch07
