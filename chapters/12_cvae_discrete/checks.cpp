// The bodies of 12_cvae_discrete/checks.hpp's checks, compiled once: the chapter program and the
// chapter's tests link this file.
#include "12_cvae_discrete/checks.hpp"

#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "06_gaussian_kl/quadrature.hpp"

namespace course::ch12 {

namespace {

std::string fmt(double x, int precision = 4) {
  std::ostringstream s;
  s << std::setprecision(precision) << x;
  return s.str();
}

std::string tau_text(double tau) { return "tau = " + fmt(tau, 3); }

// The row with the largest error (a failing row first): what a check over several cases reports.
CheckRow worst_of(std::vector<CheckRow> rows, const std::string& claim) {
  std::size_t w = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const bool fails_i = !rows[i].pass, fails_w = !rows[w].pass;
    if ((fails_i && !fails_w) || (fails_i == fails_w && rows[i].error > rows[w].error)) w = i;
  }
  CheckRow r = rows[w];
  r.claim = claim;
  r.detail = "worst of " + std::to_string(rows.size()) + " cases (case " + std::to_string(w) + ")" +
             (r.detail.empty() ? "" : "; " + r.detail);
  return r;
}

}  // namespace

// ---- (12.1) ---------------------------------------------------------------------------------

ConditionalSetup make_conditional_setup(std::uint64_t seed) {
  ConditionalSetup s;
  s.model = make_conditional_model(seed + 11);
  const Index c = s.model.condition_dim();
  for (Index j = 0; j < c; ++j) {
    s.y.push_back(one_hot(j, c));
    s.x.push_back(sample_conditional(s.model, s.y.back(), seed * 10 + std::uint64_t(j)));
  }
  const Gaussian post = conditional_posterior(s.model, s.x[0], s.y[0]);
  for (std::uint64_t i = 0; i < 3; ++i) s.arbitrary.push_back(ch05::random_gaussian(post.mean, seed * 100 + i));
  return s;
}

CheckRow check_eq_12_1_decomposition(const ConditionalSetup& s, const ConditionalElbo& elbo) {
  std::vector<CheckRow> rows;
  for (std::size_t j = 0; j < s.y.size(); ++j) {
    const Gaussian post = conditional_posterior(s.model, s.x[j], s.y[j]);
    const double log_px = conditional_log_evidence(s.model, s.x[j], s.y[j]);
    for (const Gaussian& q : s.arbitrary)
      rows.push_back(check_identity("12.1", "", log_px,
                                    elbo(s.model, s.x[j], s.y[j], q.mean, q.chol) + ch05::kl_gaussians(q, post)));
  }
  return worst_of(rows, "log p(x|y) = ELBO(q; x|y) + KL(q || p(z|x,y)), 3 classes x 3 q");
}

CheckRow check_eq_12_1_equality_at_posterior(const ConditionalSetup& s, const ConditionalElbo& elbo) {
  std::vector<CheckRow> rows;
  for (std::size_t j = 0; j < s.y.size(); ++j) {
    const Gaussian post = conditional_posterior(s.model, s.x[j], s.y[j]);
    rows.push_back(check_identity("12.1", "", conditional_log_evidence(s.model, s.x[j], s.y[j]),
                                  elbo(s.model, s.x[j], s.y[j], post.mean, post.chol)));
  }
  return worst_of(rows, "ELBO(p(z|x,y); x|y) = log p(x|y), 3 classes");
}

CheckRow check_eq_12_1_bound(const ConditionalSetup& s, const ConditionalElbo& elbo) {
  std::vector<CheckRow> rows;
  for (std::size_t j = 0; j < s.y.size(); ++j)
    for (const Gaussian& q : s.arbitrary)
      rows.push_back(check_bound("12.1", "", elbo(s.model, s.x[j], s.y[j], q.mean, q.chol),
                                 conditional_log_evidence(s.model, s.x[j], s.y[j])));
  return worst_of(rows, "ELBO(q; x|y) <= log p(x|y), 3 classes x 3 q");
}

// ---- chi-square -------------------------------------------------------------------------------

CheckRow check_chi_square(const std::string& id, const std::string& claim, const VecD& counts, const VecD& probs,
                          double alpha) {
  const double n = counts.sum();
  const Index bins = counts.size();
  double x2 = 0.0;
  for (Index b = 0; b < bins; ++b) {
    const double e = n * probs(b);
    x2 += e > 0 ? (counts(b) - e) * (counts(b) - e) / e : (counts(b) > 0 ? INFINITY : 0.0);
  }
  const boost::math::chi_squared_distribution<double> chi2(double(bins - 1));
  const double critical = boost::math::quantile(boost::math::complement(chi2, alpha));
  CheckRow r = check_row(id, claim, "chi-square", critical, x2, x2, critical);
  if (!probs.allFinite()) r = check_row(id, claim, "chi-square", critical, NAN, NAN, critical);
  r.detail = "X^2 = " + fmt(x2, 6) + " over " + std::to_string(bins) + " bins (" + std::to_string(bins - 1) +
             " degrees of freedom), critical value " + fmt(critical, 6) + " at false-failure rate " + fmt(alpha, 2) +
             "; n = " + fmt(n, 8) + ", smallest expected count " + fmt(n * probs.minCoeff(), 4);
  return r;
}

// ---- (12.3) -----------------------------------------------------------------------------------

CategoricalSampler gumbel_max_sampler() {
  return [](const VecD& log_pi, Rng& rng) { return gumbel_max_sample(log_pi, open_uniforms(log_pi.size(), rng)); };
}

VecD gumbel_max_probabilities() { return (VecD(5) << 0.4, 0.25, 0.2, 0.1, 0.05).finished(); }

CheckRow check_eq_12_3_gumbel_max(const CategoricalSampler& sampler, Index n, std::uint64_t seed) {
  const VecD pi = gumbel_max_probabilities(), log_pi = pi.array().log();
  const Index K = pi.size();
  {
    Rng probe(0);
    sampler(log_pi, probe);  // a stub throws here, outside the parallel region
  }
  const auto parts = parallel_chunks(n, 4096, seed, [&](Rng& rng, Index begin, Index end) {
    VecD c = VecD::Zero(K + 1);  // the last bin catches an index out of range
    for (Index i = begin; i < end; ++i) {
      const Index k = sampler(log_pi, rng);
      c(k >= 0 && k < K ? k : K) += 1.0;
    }
    return c;
  });
  VecD counts = VecD::Zero(K + 1);
  for (const VecD& c : parts) counts += c;
  VecD probs(K + 1);
  probs << pi, 0.0;
  return check_chi_square("12.3", "argmax(log pi + g), g ~ Gumbel: class counts fit Categorical(pi), K = 5", counts,
                          probs);
}

// ---- (12.4) -----------------------------------------------------------------------------------

VecD concrete_location(Index K) {
  if (K == 2) return (VecD(2) << std::log(0.7), std::log(0.3)).finished();
  return (VecD(3) << std::log(0.5), std::log(0.3), std::log(0.2)).finished();
}

CheckRow check_eq_12_4_normalised(Index K, double tau, const LogDensity& density) {
  const VecD la = concrete_location(K);
  const auto one = [](const VecD&, Eigen::Ref<VecD> out) { out(0) = 1.0; };
  const double mass = concrete_expectation(density, la, tau, one, 1)(0);
  return check_identity("12.4", "Concrete density integrates to 1, K = " + std::to_string(K) + ", " + tau_text(tau),
                        1.0, mass, kQuadratureTolerance);
}

CheckRow check_eq_12_4_histogram(Index K, double tau, const RelaxedSampler& sampler, const LogDensity& density, Index n,
                                 std::uint64_t seed) {
  const VecD la = concrete_location(K);
  const Index dims = K - 1;
  const int lo = K == 2 ? -6 : -3, width = -2 * lo;  // unit bins over [lo, -lo]^dims
  const Index inner = K == 2 ? width : width * width;
  // u_i = tau s_i - (la_i - la_K): the unit-scale logistic coordinates; bin index of a sample.
  const auto bin_of = [&](const VecD& y) -> Index {
    Index b = 0, stride = 1;
    for (Index i = 0; i < dims; ++i) {
      const double u = tau * (std::log(y(i)) - std::log(y(K - 1))) - (la(i) - la(K - 1));
      if (!(u >= lo && u < -lo)) return inner;  // the rest (and NaN)
      b += Index(std::floor(u - lo)) * stride;
      stride *= width;
    }
    return b;
  };
  sampler(la, VecD::Zero(K), tau);  // a stub throws here, outside the parallel region
  // (The u_i are logistic whatever tau is; a seed per temperature keeps the draws apart.)
  const auto parts = parallel_chunks(n, 4096, seed + std::uint64_t(1000 * tau), [&](Rng& rng, Index begin, Index end) {
    VecD c = VecD::Zero(inner + 1);
    for (Index i = begin; i < end; ++i) c(bin_of(sampler(la, gumbel_noise(K, rng), tau))) += 1.0;
    return c;
  });
  VecD counts = VecD::Zero(inner + 1);
  for (const VecD& c : parts) counts += c;
  // Bin probabilities: the density in s over each bin, s_i = (u_i + la_i - la_K) / tau.
  const ch06::GaussLegendre rule(10);
  VecD probs(inner + 1);
  const auto p_s = [&](const VecD& s) { return std::exp(logit_log_density(density, s, la, tau)); };
  for (Index b = 0; b < inner; ++b) {
    const double u0 = lo + double(b % width), u1 = lo + double(b / width);
    const double a0 = (u0 + la(0) - la(K - 1)) / tau, b0 = (u0 + 1 + la(0) - la(K - 1)) / tau;
    if (K == 2) {
      probs(b) = ch06::integrate([&](double s) { return p_s(VecD::Constant(1, s)); }, a0, b0, 2, rule);
    } else {
      const double a1 = (u1 + la(1) - la(K - 1)) / tau, b1 = (u1 + 1 + la(1) - la(K - 1)) / tau;
      probs(b) = ch06::integrate_box([&](double s0, double s1) { return p_s((VecD(2) << s0, s1).finished()); }, a0, b0,
                                     a1, b1, 2, rule);
    }
  }
  probs(inner) = 1.0 - probs.head(inner).sum();
  return check_chi_square("12.4",
                          "Gumbel-softmax samples fit the Concrete density, K = " + std::to_string(K) + ", " + tau_text(tau) +
                              " (" + std::to_string(inner + 1) + " bins)",
                          counts, probs);
}

// ---- (12.5) -----------------------------------------------------------------------------------

namespace {

// The largest of ratio(s, y) over n draws s = log pi + g (K = 5, pi of gumbel_max_probabilities),
// y = sampler(log pi, g, tau). NaN and infinity stick (a non-finite sample fails the row).
double worst_over_draws(const RelaxedSampler& sampler, double tau, Index n, std::uint64_t seed,
                        const std::function<double(const VecD& s, const VecD& y)>& ratio) {
  const VecD log_pi = gumbel_max_probabilities().array().log();
  Rng rng(seed);
  double worst = 0.0;
  for (Index i = 0; i < n; ++i) {
    const VecD s = log_pi + gumbel_noise(log_pi.size(), rng);
    const double r = ratio(s, sampler(log_pi, s - log_pi, tau));
    if (!(r <= worst) && !std::isnan(worst)) worst = r;
  }
  return worst;
}

}  // namespace

CheckRow check_eq_12_5_zero_temperature(double tau, const RelaxedSampler& sampler, Index n, std::uint64_t seed) {
  const double worst = worst_over_draws(sampler, tau, n, seed, [&](const VecD& s, const VecD& y) {
    Index top = 0;
    const double best = s.maxCoeff(&top);
    double second = -INFINITY;
    for (Index k = 0; k < s.size(); ++k)
      if (k != top) second = std::max(second, s(k));
    // (K - 1) exp(-gap / tau), plus the rounding of 1 - y (a few ulps of 1).
    const double bound = double(s.size() - 1) * std::exp(-(best - second) / tau) + 4e-16;
    if (!y.allFinite() || y.maxCoeff() > y(top)) return double(INFINITY);
    return (1.0 - y(top)) / bound;
  });
  CheckRow r = check_bound("12.5", "tau -> 0: z~ -> one-hot Gumbel-max sample, 1 - z~_k* <= (K-1) e^(-gap/tau), " + tau_text(tau),
                           worst, 1.0, 0.0);
  r.detail = "error = the largest (1 - z~_k*) / ((K - 1) exp(-gap / tau)) over " + std::to_string(n) + " draws (K = 5)";
  return r;
}

CheckRow check_eq_12_5_infinite_temperature(double tau, const RelaxedSampler& sampler, Index n, std::uint64_t seed) {
  const double worst = worst_over_draws(sampler, tau, n, seed, [&](const VecD& s, const VecD& y) {
    const double r = s.maxCoeff() - s.minCoeff();
    const VecD first_order = (s.array() - s.mean()).matrix();
    const VecD scaled = tau * (double(s.size()) * y.array() - 1.0).matrix();
    // 2 r^2 / tau (valid for r / tau <= 0.1), plus the rounding of tau (K y - 1).
    return (scaled - first_order).cwiseAbs().maxCoeff() / (2.0 * r * r / tau + 1e-9 * tau);
  });
  CheckRow r = check_bound("12.5", "tau -> inf: tau (K z~ - 1) -> v - mean(v) within 2 r^2 / tau, " + tau_text(tau), worst,
                           1.0, 0.0);
  r.detail = "error = the largest |tau (K z~_k - 1) - (v_k - mean v)| / (2 r^2 / tau) over " + std::to_string(n) +
             " draws (K = 5)";
  return r;
}

// ---- (12.6) -----------------------------------------------------------------------------------

MatD kl_case() {
  Rng rng(61, 6);
  MatD Q(10, 4);
  for (Index n = 0; n < Q.cols(); ++n) {
    for (Index k = 0; k < Q.rows(); ++k) Q(k, n) = std::pow(rng.uniform(0.05, 1.0), 3.0);
    if (n == 2) Q(4, n) = 0.0;
    Q.col(n) /= Q.col(n).sum();
  }
  return Q;
}

CheckRow check_eq_12_6_kl_vs_monte_carlo(const CategoricalKl& kl, Index n, std::uint64_t seed) {
  const MatD Q = kl_case();
  const Index K = Q.rows(), N = Q.cols();
  const McEstimate e = monte_carlo(n, seed, [&](Rng& rng) {
    double log_ratio = 0.0;
    for (Index v = 0; v < N; ++v) {
      // z_v ~ q_v by the inverse CDF.
      const double u = rng.uniform();
      Index k = 0;
      double cdf = Q(0, v);
      while (cdf <= u && k + 1 < K) cdf += Q(++k, v);
      log_ratio += std::log(Q(k, v)) + std::log(double(K));
    }
    return log_ratio;
  });
  return check_monte_carlo("12.6", "KL(q || uniform) closed form vs Monte Carlo of log q(z) - log p(z), K = 10, N = 4",
                           kl(Q), e);
}

// ---- (12.7) -----------------------------------------------------------------------------------

CheckRow check_eq_12_7_score_gradient(const ScoreFunction& score) {
  const ToyObjective o = toy_objective();
  const Index K = o.classes();
  std::vector<CheckRow> rows;
  for (Index k = 0; k < K; ++k) {
    const double f_k = o.f(one_hot(k, K));
    const auto loss = [&](const VecD& logits) {
      const double m = logits.maxCoeff();
      return f_k * (logits(k) - m - std::log((logits.array() - m).exp().sum()));
    };
    rows.push_back(check_gradient("12.7", "", loss, o.logits, score(o.logits, k, f_k)));
  }
  return worst_of(rows, "score function f_k grad log softmax(a)_k vs central differences, k = 0..2");
}

CheckRow check_eq_12_7_reinforce_unbiased(const ScoreFunction& score, Index n, std::uint64_t seed) {
  const ToyObjective o = toy_objective();
  const Index K = o.classes();
  score(o.logits, 0, 1.0);  // a stub throws here, outside the parallel region
  const McVecEstimate e = monte_carlo_vec(n, K, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    out = reinforce_estimate(o, gumbel_noise(K, rng), score);
  });
  return check_monte_carlo("12.7", "E[REINFORCE] = grad E_q[f] (exact), toy objective", toy_exact_gradient(o), e, kAlpha);
}

// ---- (12.8) -----------------------------------------------------------------------------------

CheckRow check_eq_12_8_pathwise_derivative(double tau, const ToyEstimator& estimator) {
  const ToyObjective o = toy_objective();
  Rng rng(88);
  std::vector<CheckRow> rows;
  for (int i = 0; i < 5; ++i) {
    const VecD g = gumbel_noise(o.classes(), rng);
    const auto loss = [&](const VecD& logits) { return o.f(softmax((logits + g) / tau)); };
    rows.push_back(check_gradient("12.8", "", loss, o.logits, estimator(o, g, tau)));
  }
  return worst_of(rows, "relaxed gradient J^T f'(z~) vs central differences at fixed g, 5 draws, " + tau_text(tau));
}

CheckRow check_eq_12_8_quadrature_gradient(double tau) {
  ToyObjective o = toy_objective();
  const RelaxedQuadrature q = relaxed_by_quadrature(o, tau, 48);
  const auto value = [&](const VecD& logits) {
    ToyObjective p = o;
    p.logits = logits;
    return relaxed_by_quadrature(p, tau, 48).value;
  };
  return check_gradient("12.8", "grad F_tau = E[f(z~) grad log p(omega)] (quadrature) vs central differences, " + tau_text(tau),
                        value, o.logits, q.gradient);
}

CheckRow check_eq_12_8_unbiased_for_relaxed(double tau, const ToyEstimator& estimator, Index n, std::uint64_t seed) {
  const ToyObjective o = toy_objective();
  const Index K = o.classes();
  const VecD exact = relaxed_by_quadrature(o, tau).gradient;
  const McVecEstimate e = monte_carlo_vec(n, K, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    out = estimator(o, gumbel_noise(K, rng), tau);
  });
  return check_monte_carlo("12.8", "E[relaxed gradient] = grad F_tau (quadrature), " + tau_text(tau), exact, e, kAlpha);
}

CheckRow check_eq_12_8_biased_for_discrete(double tau, const VecD& relaxed_gradient) {
  const VecD exact = toy_exact_gradient(toy_objective());
  CheckRow r = check_bound("12.8", "relaxed objective is biased: |grad F_tau - grad F| >= 1e-5, " + tau_text(tau),
                           1000.0 * kQuadratureTolerance, (relaxed_gradient - exact).cwiseAbs().maxCoeff(), 0.0);
  r.detail = "grad F_tau = (" + fmt(relaxed_gradient(0)) + ", " + fmt(relaxed_gradient(1)) + ", " + fmt(relaxed_gradient(2)) +
             "), grad F = (" + fmt(exact(0)) + ", " + fmt(exact(1)) + ", " + fmt(exact(2)) + ")";
  return r;
}

// ---- (12.9) -----------------------------------------------------------------------------------

CheckRow check_eq_12_9_forward_value_unbiased(double tau, Index n, std::uint64_t seed) {
  const ToyObjective o = toy_objective();
  const Index K = o.classes();
  const McEstimate e = monte_carlo(n, seed, [&](Rng& rng) {
    const VecD y = softmax((o.logits + gumbel_noise(K, rng)) / tau);
    Index k = 0;
    y.maxCoeff(&k);
    return o.f(one_hot(k, K));
  });
  return check_monte_carlo("12.9", "straight-through forward value f(one_hot(argmax z~)) is unbiased for F, " + tau_text(tau),
                           toy_exact_value(o), e);
}

CheckRow check_eq_12_9_straight_through_biased(double tau, const ToyEstimator& estimator, Index n, std::uint64_t seed) {
  const ToyObjective o = toy_objective();
  const Index K = o.classes();
  const VecD exact = toy_exact_gradient(o);
  const McVecEstimate e = monte_carlo_vec(n, K, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    out = estimator(o, gumbel_noise(K, rng), tau);
  });
  const double z = z_for_false_failure_rate(kAlpha, int(K));
  Index worst = 0;
  const double t = ((e.mean - exact).cwiseAbs().array() / e.se.array()).maxCoeff(&worst);
  CheckRow r = check_bound("12.9", "straight-through gradient is biased: z <= max |E[g] - grad F| / SE, " + tau_text(tau), z,
                           t, 0.0);
  r.detail = "passes when the mean differs from the exact gradient by more than z = " + fmt(z) +
             " SE (Bonferroni over 3 coordinates at 1e-6) in some coordinate; worst coordinate " + std::to_string(worst) +
             ", n = " + std::to_string(n);
  return r;
}

VecD linear_objective() { return (VecD(3) << 1.0, -0.5, 2.0).finished(); }

CheckRow check_eq_12_9_straight_through_linear(double tau, const std::function<VecD(const VecD& g, double tau)>& estimator,
                                               Index n, std::uint64_t seed) {
  const ToyObjective o = toy_objective();
  const VecD c = linear_objective(), pi = softmax(o.logits);
  const auto st = estimator ? estimator : [&](const VecD& g, double t) {
    return straight_through(o.logits, g, t, [&](const VecD&) { return c; });
  };
  const McVecEstimate e = monte_carlo_vec(n, 3, seed, [&](Rng& rng, Eigen::Ref<VecD> out) { out = st(gumbel_noise(3, rng), tau); });
  CheckRow r = check_monte_carlo("12.9", "linear f = c.z: E[straight-through] = E[J(z~)]^T c (quadrature), " + tau_text(tau),
                                 straight_through_mean_linear(o.logits, c, tau), e, kAlpha);
  const VecD exact = (pi.array() * c.array()).matrix() - pi * pi.dot(c);
  r.detail += "; the true gradient (diag pi - pi pi^T) c = (" + fmt(exact(0)) + ", " + fmt(exact(1)) + ", " + fmt(exact(2)) + ")";
  return r;
}

// ---- statistics for the figures ---------------------------------------------------------------

EstimatorStats estimator_stats(const std::string& name, const ToyEstimator& estimator, const std::vector<double>& taus,
                               Index n, std::uint64_t seed) {
  const ToyObjective o = toy_objective();
  const Index K = o.classes();
  const VecD exact = toy_exact_gradient(o);
  EstimatorStats st;
  st.name = name;
  for (std::size_t i = 0; i < taus.size(); ++i) {
    const double tau = taus[i];
    const McVecEstimate e = monte_carlo_vec(n, 2 * K, seed + i, [&](Rng& rng, Eigen::Ref<VecD> out) {
      const VecD g = estimator(o, gumbel_noise(K, rng), tau);
      out.head(K) = g;
      out.tail(K) = g.array().square().matrix();
    });
    st.tau.push_back(tau);
    st.bias.push_back((e.mean.head(K) - exact).norm());
    st.bias_se.push_back(e.se.head(K).norm());
    st.variance.push_back((e.mean.tail(K) - e.mean.head(K).array().square().matrix()).sum());
  }
  return st;
}

std::vector<CheckRow> toy_checks(bool quick) {
  const Index n = quick ? Index(1) << 15 : Index(1) << 18;
  std::vector<CheckRow> rows;
  const ConditionalSetup s = make_conditional_setup();
  rows.push_back(check_eq_12_1_decomposition(s));
  rows.push_back(check_eq_12_1_equality_at_posterior(s));
  rows.push_back(check_eq_12_1_bound(s));
  rows.push_back(check_eq_12_3_gumbel_max(gumbel_max_sampler(), n));
  for (Index K : {2, 3})
    for (double tau : {0.5, 1.0, 2.0}) rows.push_back(check_eq_12_4_normalised(K, tau));
  for (Index K : {2, 3}) rows.push_back(check_eq_12_4_histogram(K, 0.5));
  rows.push_back(check_eq_12_4_histogram(3, 2.0));
  rows.push_back(check_eq_12_5_zero_temperature(0.05));
  rows.push_back(check_eq_12_5_zero_temperature(1e-3));
  rows.push_back(check_eq_12_5_infinite_temperature(1e4));
  rows.push_back(check_eq_12_6_kl_vs_monte_carlo(categorical_kl_to_uniform, n));
  rows.push_back(check_eq_12_7_score_gradient());
  rows.push_back(check_eq_12_7_reinforce_unbiased(categorical_score_function, n));
  for (double tau : {0.5, 1.0, 2.0}) rows.push_back(check_eq_12_8_pathwise_derivative(tau));
  rows.push_back(check_eq_12_8_quadrature_gradient(1.0));
  for (double tau : {0.5, 1.0}) {
    rows.push_back(check_eq_12_8_unbiased_for_relaxed(tau, relaxed_estimate, n));
    rows.push_back(check_eq_12_8_biased_for_discrete(tau, relaxed_by_quadrature(toy_objective(), tau).gradient));
  }
  rows.push_back(check_eq_12_9_forward_value_unbiased(0.5, n));
  rows.push_back(check_eq_12_9_straight_through_biased(0.5, straight_through_estimate, n));
  rows.push_back(check_eq_12_9_straight_through_linear(0.5, {}, n));
  return rows;
}

}  // namespace course::ch12
