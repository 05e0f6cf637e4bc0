// The bodies of 05_elbo/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "05_elbo/checks.hpp"

namespace course::ch05 {

Setup make_setup(std::uint64_t seed) {
  Setup s;
  s.model = make_model(seed + 4);
  s.x = sample_observation(s.model, seed);
  s.posterior = exact_posterior(s.model, s.x);
  s.log_px = log_evidence(s.model, s.x);
  for (std::uint64_t i = 0; i < 3; ++i) s.arbitrary.push_back(random_gaussian(s.posterior.mean, seed * 100 + i));
  return s;
}

CheckRow check_eq_5_1_bayes_rule(const LinearGaussianModel& m, const VecD& x, const Gaussian& posterior,
                                        double log_px) {
  Rng rng(77);
  double worst = log_px;
  for (int i = 0; i < 5; ++i) {
    const VecD z = 2.0 * rng.normal_matrix<double>(m.latent_dim(), 1);
    const double rhs = log_joint(m, x, z) - log_density(posterior, z);
    if (!(std::abs(rhs - log_px) <= std::abs(worst - log_px))) worst = rhs;
  }
  return check_identity("5.1", "log p(x) = log p(x,z) - log p(z|x) at 5 points z", log_px, worst);
}

CheckRow check_eq_5_2_decomposition(const Setup& s, const Gaussian& q, const std::string& which) {
  const double elbo = elbo_closed_form(s.model, s.x, q);
  return check_identity("5.2", "log p(x) = ELBO + KL(q||p(z|x)), " + which, s.log_px,
                        elbo + kl_gaussians(q, s.posterior));
}

CheckRow check_eq_5_3_bound(const Setup& s, const Gaussian& q, const std::string& which) {
  return check_bound("5.3", "ELBO <= log p(x), " + which, elbo_closed_form(s.model, s.x, q), s.log_px);
}

CheckRow check_eq_5_3_equality_at_posterior(const Setup& s) {
  return check_identity("5.3", "ELBO(p(z|x)) = log p(x)", s.log_px, elbo_closed_form(s.model, s.x, s.posterior));
}

McEstimate estimate_elbo(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed) {
  const Index k = s.model.latent_dim();
  elbo_estimate(s.model, s.x, q, MatD::Zero(k, 1));  // a stub throws here, outside the parallel region
  return monte_carlo(n, seed, [&](Rng& rng) { return elbo_estimate(s.model, s.x, q, rng.normal_matrix<double>(k, 1)); });
}

CheckRow check_eq_5_4_closed_form_vs_monte_carlo(const Setup& s, const Gaussian& q, Index n,
                                                        std::uint64_t seed) {
  return check_monte_carlo("5.4", "closed-form ELBO vs reparameterised Monte Carlo", elbo_closed_form(s.model, s.x, q),
                           estimate_elbo(s, q, n, seed));
}

CheckRow check_eq_5_4_reconstruction_term(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed) {
  const Index k = s.model.latent_dim();
  gaussian_decoder_log_likelihood(s.x, s.model.mu, s.model.sigma2);  // probe, outside the parallel region
  const McEstimate e = monte_carlo(n, seed, [&](Rng& rng) {
    const VecD z = q.mean + q.chol * rng.normal_matrix<double>(k, 1);
    return gaussian_decoder_log_likelihood(s.x, s.model.W * z + s.model.mu, s.model.sigma2);
  });
  return check_monte_carlo("5.4", "E_q[log p(x|z)] closed form vs Monte Carlo", expected_log_likelihood(s.model, s.x, q), e);
}

CheckRow check_eq_5_7_unbiased_for_any_sample_count(const Setup& s, const Gaussian& q, Index n,
                                                          std::uint64_t seed) {
  const Index k = s.model.latent_dim();
  elbo_estimate(s.model, s.x, q, MatD::Zero(k, 16));
  const McEstimate e = monte_carlo(n, seed, [&](Rng& rng) { return elbo_estimate(s.model, s.x, q, rng.normal_matrix<double>(k, 16)); });
  return check_monte_carlo("5.7", "mean of 16-sample ELBO estimates = ELBO", elbo_closed_form(s.model, s.x, q), e);
}

double log_of_product_of_normal_densities(const VecD& x, const VecD& x_mean, double sigma2) {
  double s = 0.0;
  for (Index j = 0; j < x.size(); ++j) {
    const double r = x(j) - x_mean(j);
    s += std::log(std::exp(-r * r / (2.0 * sigma2)) / std::sqrt(2.0 * std::numbers::pi * sigma2));
  }
  return s;
}

CheckRow check_eq_5_5_gaussian_decoder(const VecD& x, const VecD& x_mean, double sigma2) {
  return check_identity("5.5", "Gaussian decoder: -||x-x^||^2/(2s2) - d/2 log(2 pi s2), s2 = " + format_number(sigma2, 3),
                        log_of_product_of_normal_densities(x, x_mean, sigma2),
                        gaussian_decoder_log_likelihood(x, x_mean, sigma2));
}

double log_of_product_of_bernoullis(const VecD& x, const VecD& p) {
  double s = 0.0;
  for (Index j = 0; j < x.size(); ++j) s += std::log(std::pow(p(j), x(j)) * std::pow(1.0 - p(j), 1.0 - x(j)));
  return s;
}

CheckRow check_eq_5_6_bernoulli_decoder(const VecD& x, const VecD& p, const std::string& what) {
  return check_identity("5.6", "Bernoulli decoder = -BCE, " + what, log_of_product_of_bernoullis(x, p),
                        bernoulli_decoder_log_likelihood(x, p));
}

VecD mixture_observation(const IsotropicMixture& mix) { return 0.5 * (mix.means.col(0) + mix.means.col(1)); }

CheckRow check_eq_5_8_mixture_decomposition(const IsotropicMixture& mix, const VecD& x, const VecD& q) {
  const VecD r = mixture_posterior(mix, x);
  return check_identity("5.8", "mixture: log p(x) = ELBO(q) + KL(q||p(c|x))", mixture_log_evidence(mix, x),
                        mixture_elbo(mix, x, q) + kl_categorical(q, r));
}

CheckRow check_eq_5_8_mixture_bound(const IsotropicMixture& mix, const VecD& x, const VecD& q) {
  return check_bound("5.8", "mixture: ELBO(q) <= log p(x)", mixture_elbo(mix, x, q), mixture_log_evidence(mix, x));
}

CheckRow check_eq_5_8_mixture_equality(const IsotropicMixture& mix, const VecD& x) {
  return check_identity("5.8", "mixture: ELBO(p(c|x)) = log p(x)", mixture_log_evidence(mix, x),
                        mixture_elbo(mix, x, mixture_posterior(mix, x)));
}

CheckRow check_eq_5_8_mixture_evidence_by_direct_sum(
    const IsotropicMixture& mix, const VecD& x,
    const std::function<double(const IsotropicMixture&, const VecD&)>& log_evidence) {
  double p = 0.0;
  for (Index c = 0; c < mix.weights.size(); ++c) {
    double density = mix.weights(c);
    for (Index i = 0; i < x.size(); ++i) {
      const double v = mix.variances(c), r = x(i) - mix.means(i, c);
      density *= std::exp(-r * r / (2.0 * v)) / std::sqrt(2.0 * std::numbers::pi * v);
    }
    p += density;
  }
  return check_identity("5.8", "mixture: log p(x) = log sum_c pi_c N(x; m_c, v_c I), summed directly", std::log(p),
                        log_evidence(mix, x));
}

McEstimate estimate_iw_bound(const Setup& s, const Gaussian& q, Index M, Index n, std::uint64_t seed) {
  const Index k = s.model.latent_dim();
  importance_weighted_bound(s.model, s.x, q, MatD::Zero(k, M));
  return monte_carlo(n, seed, [&](Rng& rng) { return importance_weighted_bound(s.model, s.x, q, rng.normal_matrix<double>(k, M)); });
}

CheckRow check_eq_5_9_one_sample_is_the_elbo(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed) {
  return check_monte_carlo("5.9", "E[L_1] = ELBO (closed form)", elbo_closed_form(s.model, s.x, q),
                           estimate_iw_bound(s, q, 1, n, seed));
}

CheckRow check_eq_5_9_below_evidence(const Setup& s, const Gaussian& q, Index M, Index n, std::uint64_t seed) {
  const McEstimate e = estimate_iw_bound(s, q, M, n, seed);
  CheckRow r = check_bound("5.9", "L_" + std::to_string(M) + " <= log p(x) (mean - z SE)", e.mean - tolerance::z * e.se, s.log_px);
  r.detail += "; mean " + std::to_string(e.mean) + ", SE " + std::to_string(e.se) + ", n = " + std::to_string(e.n);
  return r;
}

IncreaseEstimate estimate_increase(const Setup& s, const Gaussian& q, const std::vector<Index>& Ms, Index n,
                                          std::uint64_t seed) {
  const Index k = s.model.latent_dim();
  importance_weighted_bound(s.model, s.x, q, MatD::Zero(k, 1));
  IncreaseEstimate out;
  for (std::size_t i = 0; i < Ms.size(); ++i) {
    const Index M = Ms[i];
    const McEstimate e = monte_carlo(n, seed + i, [&](Rng& rng) {
      const MatD eps = rng.normal_matrix<double>(k, 2 * M);
      return importance_weighted_bound(s.model, s.x, q, eps) -
             0.5 * (importance_weighted_bound(s.model, s.x, q, eps.leftCols(M)) +
                    importance_weighted_bound(s.model, s.x, q, eps.rightCols(M)));
    });
    out.M.push_back(double(M));
    out.mean.push_back(e.mean);
    out.se.push_back(e.se);
  }
  return out;
}

CheckRow check_eq_5_9_increasing(const IncreaseEstimate& inc) {
  const double z = z_for_false_failure_rate(1e-6, int(inc.M.size()));
  double worst = INFINITY;
  std::size_t at = 0;
  for (std::size_t i = 0; i < inc.M.size(); ++i) {
    const double t = inc.se[i] > 0 ? inc.mean[i] / inc.se[i] : 0.0;
    if (t < worst) worst = t, at = i;
  }
  // As every row: passes when error <= tolerance. Here error = z - (smallest mean/SE), so the row
  // passes when every increase L_2M - L_M is at least z standard errors above 0.
  CheckRow r = check_row("5.9",
                         "L_M < L_2M for M = " + std::to_string(int(inc.M.front())) + ".." + std::to_string(int(inc.M.back())) +
                             " (paired differences)",
                         "monte carlo", 0.0, inc.mean.empty() ? NAN : inc.mean[at], z - worst, 0.0);
  r.detail = "analytic: 0, numeric: the smallest increase; error = z - smallest mean/SE of L_2M - L_M, z = " + format_number(z, 4) +
             " (Bonferroni over " + std::to_string(inc.M.size()) + " differences, false-failure rate 1e-6); smallest at M = " +
             std::to_string(int(inc.M.empty() ? 0 : inc.M[at]));
  return r;
}

CheckRow check_eq_5_9_underflow(const Setup& s) {
  LinearGaussianModel m = s.model;
  m.sigma2 = 0.01;
  const VecD far = m.mu + VecD::Constant(m.data_dim(), 20.0);
  const Gaussian q = standard_normal(m.latent_dim());
  Rng rng(3);
  const MatD eps = rng.normal_matrix<double>(m.latent_dim(), 8);
  VecD log_w(8);
  for (Index i = 0; i < 8; ++i) log_w(i) = log_joint(m, far, eps.col(i)) - log_density(q, eps.col(i));
  return check_identity("5.9", "L_8 by log-sum-exp where exp(log w) underflows (log w ~ -1e5)",
                        log_sum_exp(log_w) - std::log(8.0), importance_weighted_bound(m, far, q, eps));
}

McEstimate estimate_weight_second_moment(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed) {
  const Index k = s.model.latent_dim();
  return monte_carlo(n, seed, [&](Rng& rng) {
    const VecD z = q.mean + q.chol * rng.normal_matrix<double>(k, 1);
    return std::exp(2.0 * (log_density(s.posterior, z) - log_density(q, z)));
  });
}

CheckRow check_eq_5_9_weight_second_moment(const Setup& s, const Gaussian& q, Index n, std::uint64_t seed) {
  return check_monte_carlo("5.9", "E_q[(w/p(x))^2] closed form vs Monte Carlo",
                           std::exp(log_second_moment_of_ratio(s.posterior, q)), estimate_weight_second_moment(s, q, n, seed));
}

CheckRow check_eq_5_10_zero_variance(const Setup& s, const Gaussian& q, Index M, Index n,
                                            const std::string& which) {
  Rng rng(11);
  double worst = s.log_px;
  for (Index i = 0; i < n; ++i) {
    const double v = importance_weighted_bound(s.model, s.x, q, rng.normal_matrix<double>(s.model.latent_dim(), M));
    if (!(std::abs(v - s.log_px) <= std::abs(worst - s.log_px))) worst = v;
  }
  return check_identity("5.10", which + ": all " + std::to_string(n) + " draws of L_" + std::to_string(M) + " = log p(x)",
                        s.log_px, worst);
}

}  // namespace course::ch05
