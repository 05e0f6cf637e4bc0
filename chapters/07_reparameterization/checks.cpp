// The bodies of 07_reparameterization/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "07_reparameterization/checks.hpp"

namespace course::ch07 {

SamplingCase sampling_case() {
  SamplingCase s;
  s.mu = (VecD(3) << 1.0, -2.0, 0.5).finished();
  s.sigma = (VecD(3) << 0.5, 1.5, 3.0).finished();
  s.log_var = (2.0 * s.sigma.array().log()).matrix();
  return s;
}

ToyPoint general_point() {
  return {(VecD(2) << 1.0, 3.0).finished(), (VecD(2) << 0.7, 1.3).finished(), lecture_target()};
}

ToyPoint lecture_point(double mu0, double mu1) {
  return {(VecD(2) << mu0, mu1).finished(), VecD::Ones(2), lecture_target()};
}

CheckRow check_eq_7_1_moments(const Sampler& sample, Index n,
                                     std::uint64_t seed) {
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

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double ks_statistic(std::vector<double> x, const std::function<double(double)>& cdf) {
  // A NaN sorts nowhere and compares false with everything: without this a sampler that returns
  // NaN would leave D at 0 and pass. A non-finite sample is no draw of a Gaussian.
  for (double v : x)
    if (!std::isfinite(v)) return NAN;
  std::sort(x.begin(), x.end());
  const double n = double(x.size());
  double d = 0.0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double f = cdf(x[k]);
    d = std::max({d, double(k + 1) / n - f, f - double(k) / n});
  }
  return d;
}

double ks_critical_value(Index n, double alpha) { return std::sqrt(std::log(2.0 / alpha) / (2.0 * double(n))); }

CheckRow check_eq_7_1_goodness_of_fit(const Sampler& sample, Index n,
                                             std::uint64_t seed) {
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
    if (!(D <= worst) || i == 0) worst = D, worst_i = i;  // a NaN D is the worst
    if (std::isnan(worst)) break;
  }
  CheckRow r = check_row("7.1", "z_i ~ N(mu_i, sigma_i^2): Kolmogorov-Smirnov D_n, worst coordinate",
                         "goodness of fit", critical, worst, worst, critical);
  std::ostringstream os;
  os << "D_n = sup |F_n - Phi((x - mu_i)/sigma_i)| over n = " << n << " samples (seed " << seed
     << "), worst coordinate " << worst_i << "; critical value sqrt(ln(2/a)/(2n)) with a = 1e-6/" << d
     << " per coordinate (DKW-Massart bound, exact for every n): false-failure rate <= 1e-6 for the row";
  r.detail = os.str();
  return r;
}

CheckRow check_eq_7_2_loss(const std::function<double(const VecD&, const VecD&, const VecD&)>& loss,
                                  Index n, std::uint64_t seed) {
  const ToyPoint p = general_point();
  const McEstimate est = monte_carlo(n, seed, [&](Rng& rng) {
    const VecD eps = (VecD(2) << rng.normal(), rng.normal()).finished();
    return (p.mu + (p.sigma.array() * eps.array()).matrix() - p.c).squaredNorm();
  });
  return check_monte_carlo("7.2", "L = ||mu - c||^2 + ||sigma||^2 vs E||x - c||^2", loss(p.mu, p.sigma, p.c), est);
}

CheckRow check_eq_7_3_gradient(const std::function<VecD(const VecD&, const VecD&)>& grad) {
  const ToyPoint p = general_point();
  return check_gradient("7.3", "grad L = 2 (mu - c) vs central differences of L",
                        [&](const VecD& mu) { return toy_loss(mu, p.sigma, p.c); }, p.mu, grad(p.mu, p.c));
}

VecD fixed_eps() { return (VecD(2) << 0.8, -1.3).finished(); }

CheckRow check_eq_7_4_pathwise_is_the_path_derivative(const Estimator& g) {
  const ToyPoint p = general_point();
  const VecD eps = fixed_eps();
  return check_gradient("7.4", "pathwise 2(mu + sigma eps - c) = d/dmu ||x(mu, eps) - c||^2",
                        [&](const VecD& mu) { return (mu + (p.sigma.array() * eps.array()).matrix() - p.c).squaredNorm(); },
                        p.mu, g(p.mu, p.sigma, p.c, eps));
}

CheckRow check_unbiased(const std::string& id, const std::string& claim, const Estimator& g,
                               const ToyPoint& p, Index n, std::uint64_t seed) {
  const McVecEstimate m = estimator_moments(g, p.mu, p.sigma, p.c, n, seed);
  McVecEstimate mean;
  mean.n = m.n;
  mean.seed = m.seed;
  mean.mean = m.mean.head(p.mu.size());
  mean.se = m.se.head(p.mu.size());
  return check_monte_carlo(id, claim, toy_gradient(p.mu, p.c), mean, kAlpha);
}

CheckRow check_eq_7_4_pathwise_unbiased(const Estimator& g, Index n,
                                               std::uint64_t seed) {
  return check_unbiased("7.4", "E[pathwise estimator] = 2 (mu - c)", g, general_point(), n, seed);
}

CheckRow check_eq_7_5_score_is_f_times_grad_log_density(
    const std::function<VecD(const VecD&, const VecD&, const VecD&, const VecD&)>& g) {
  const ToyPoint p = general_point();
  const VecD x = p.mu + (p.sigma.array() * fixed_eps().array()).matrix();
  const double f = (x - p.c).squaredNorm();
  return check_gradient("7.5", "score function = f(x) grad_mu log N(x; mu, sigma^2)",
                        [&](const VecD& mu) { return f * log_normal_density(x, mu, p.sigma); }, p.mu,
                        g(p.mu, p.sigma, p.c, x));
}

CheckRow check_eq_7_5_score_unbiased(const Estimator& g, Index n,
                                            std::uint64_t seed) {
  return check_unbiased("7.5", "E[score-function estimator] = 2 (mu - c)", g, general_point(), n, seed);
}

CheckRow check_variance(const std::string& id, const std::string& claim, const Estimator& g,
                               const ToyPoint& p, const VecD& formula, Index n, std::uint64_t seed, Index batch) {
  const McVecEstimate m = estimator_moments(g, p.mu, p.sigma, p.c, n, seed, batch);
  McVecEstimate var;
  var.n = m.n;
  var.seed = m.seed;
  var.mean = m.mean.tail(p.mu.size());
  var.se = m.se.tail(p.mu.size());
  return check_monte_carlo(id, claim, formula, var, kAlpha);
}

CheckRow check_eq_7_6_pathwise_variance(const Estimator& g,
                                               const std::function<VecD(const VecD&)>& formula,
                                               Index n, std::uint64_t seed) {
  const ToyPoint p = general_point();
  return check_variance("7.6", "Var[pathwise_i] = 4 sigma_i^2", g, p, formula(p.sigma), n, seed);
}

CheckRow check_eq_7_7_score_variance(const ToyPoint& p, const McVecEstimate& estimate,
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

McVecEstimate score_variance_estimate(const ToyPoint& p, const Estimator& g,
                                             Index n, std::uint64_t seed) {
  return estimator_moments(g, p.mu, p.sigma, p.c, n, seed);
}

CheckRow check_eq_7_7_score_variance(const ToyPoint& p, Index n) {
  return check_eq_7_7_score_variance(p, score_variance_estimate(p, score_function_estimator(), n),
                                     [](const VecD& a) { return score_function_variance(a); });
}

CheckRow check_eq_7_8_average(bool score, Index batch,
                                     const std::function<VecD(const VecD&, Index)>& formula,
                                     Index n, std::uint64_t seed) {
  const ToyPoint p = lecture_point(0.0, 0.0);
  const VecD var1 = score ? score_function_variance(p.mu - p.c) : pathwise_variance(p.sigma);
  const VecD predicted = formula ? formula(var1, batch) : VecD(var1 / double(batch));
  return check_variance("7.8", std::string(score ? "score function" : "pathwise") + ": Var of a mean of " +
                                   std::to_string(batch) + " draws = Var / N",
                        score ? score_function_estimator() : pathwise_estimator(), p, predicted, n, seed, batch);
}

namespace {
// T steps of `step` from mu0, each on a fresh d x N matrix of noise drawn from rng column by column
// (the order run_sgd draws in, so the two see the same noise).
VecD sgd_steps(const SgdStep& step, const VecD& mu0, const VecD& c, const SgdSetting& s, Rng& rng) {
  VecD mu = mu0;
  MatD eps(mu0.size(), s.batch);
  for (int t = 0; t < s.steps; ++t) {
    for (Index k = 0; k < s.batch; ++k)
      for (Index i = 0; i < mu0.size(); ++i) eps(i, k) = rng.normal();
    mu = step(mu, c, eps, s.lr);
  }
  return mu;
}
}  // namespace

McVecEstimate sgd_final_errors(const SgdStep& step, const VecD& mu0, const SgdSetting& s, Index runs,
                                      std::uint64_t seed) {
  const VecD c = lecture_target();
  const Index d = mu0.size();
  const VecD m = sgd_error_mean(mu0 - c, s);
  // One call outside the parallel region first: an exception (an exercise not implemented yet) must
  // not escape an OpenMP region, where it would terminate the program.
  step(mu0, c, MatD::Zero(d, s.batch), s.lr);
  return monte_carlo_vec(runs, 2 * d, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const VecD r = sgd_steps(step, mu0, c, s, rng) - c - m;
    out.head(d) = r;
    out.tail(d) = r.array().square().matrix();
  });
}

McVecEstimate sgd_noise_estimate(const SgdStep& step, Index runs,
                                        std::uint64_t seed) {
  return sgd_final_errors(step, VecD::Zero(2), kSgdNoiseSetting, runs, seed);
}

CheckRow check_eq_7_9_sgd_noise(const McVecEstimate& estimate,
                                       const std::function<double(const SgdSetting&)>& variance) {
  const double v = variance(kSgdNoiseSetting);
  VecD truth(4);
  truth << 0.0, 0.0, v, v;
  return check_monte_carlo("7.9", "SGD error e_T: mean (1-2lr)^T e_0, variance lr/(N(1-lr))(1-(1-2lr)^2T)", truth,
                           estimate, kAlpha);
}

CheckRow check_eq_7_9_sgd_noise(const SgdStep& step, Index runs) {
  return check_eq_7_9_sgd_noise(sgd_noise_estimate(step, runs));
}

CheckRow check_eq_7_9_sgd_transient(const std::function<VecD(const VecD&, const SgdSetting&)>& mean,
                                    const SgdStep& step, Index runs, std::uint64_t seed) {
  const SgdSetting& s = kSgdTransientSetting;
  const VecD c = lecture_target(), mu0 = VecD::Zero(2);
  const VecD m = mean(mu0 - c, s);
  const double v = sgd_error_variance(s);
  step(mu0, c, MatD::Zero(2, s.batch), s.lr);  // an exception must not escape the parallel region
  const McVecEstimate est = monte_carlo_vec(runs, 4, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const VecD e = sgd_steps(step, mu0, c, s, rng) - c;
    out << e, (e - m).array().square().matrix();
  });
  VecD truth(4);
  truth << m, v, v;
  return check_monte_carlo("7.9", "SGD after T = 5 steps: mean (1-2lr)^T e_0 (= -1.64) and variance v_T", truth, est,
                           kAlpha);
}

CheckRow check_eq_7_9_sgd_driver(const Estimator& g, const SgdStep& step) {
  const SgdSetting s{0.1, 4, 20};
  const VecD c = lecture_target(), mu0 = VecD::Zero(2);
  const std::uint64_t seed = 793;
  const SgdPath path = run_sgd(g, mu0, c, s, seed);
  Rng rng(seed, 0);
  const VecD mu = sgd_steps(step, mu0, c, s, rng);
  const VecD driver = (VecD(2) << path.x.back(), path.y.back()).finished();
  return check_identity("7.9", "the figures' SGD driver (run_sgd, pathwise) = 20 steps of exercise 7.4", MatD(mu),
                        MatD(driver), 1e-12);
}

CheckRow check_eq_7_9_sgd_converges(const SgdStep& step, std::uint64_t seed,
                                           int steps) {
  const SgdSetting s{0.1, 4, steps};
  const VecD c = lecture_target(), mu0 = VecD::Zero(2);
  Rng rng(seed, 0);
  const VecD mu = sgd_steps(step, mu0, c, s, rng);
  const SgdSetting predicted{0.1, 4, 100};
  const VecD m = sgd_error_mean(mu0 - c, predicted);
  const double sd = std::sqrt(sgd_error_variance(predicted));
  const double z = z_for_false_failure_rate(kAlpha, 2);
  const double worst = ((mu - c - m).cwiseAbs() / sd).maxCoeff();
  CheckRow r = check_row("7.9", "SGD with pathwise gradients reaches c = (5, 5) within its noise", "bound", 0.0,
                         (mu - c).norm(), worst, z);
  std::ostringstream os;
  os << "mu_T = (" << mu(0) << ", " << mu(1) << ") after T = 100 steps, lr = 0.1, N = 4 (seed " << seed
     << "); error: max_i |mu_T,i - c_i - m_T,i| / sqrt(v_T) with sqrt(v_T) = " << sd << "; tol z = " << z
     << " (e_T is exactly Gaussian: false-failure rate 1e-6)";
  r.detail = os.str();
  return r;
}

std::vector<CheckRow> all_checks(bool quick) {
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
          check_eq_7_9_sgd_transient(sgd_error_mean, sgd_step, n(14)),
          check_eq_7_9_sgd_driver(),
          check_eq_7_9_sgd_converges()};
}

}  // namespace course::ch07
