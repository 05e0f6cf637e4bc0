// The bodies of 09_beta_vae/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "09_beta_vae/checks.hpp"

namespace course::ch09 {

CheckRow failed_row(const std::string& id, const std::string& claim, const std::string& why) {
  CheckRow r = check_identity(id, claim, 0.0, NAN);
  r.detail = why;
  return r;
}

CheckRow check_eq_9_1_objective(const ObjectiveFn& objective) {
  Rng rng(91);
  const Index k = 4, B = 6;
  const double beta = 3.0;
  const VecD nll = rng.uniform_matrix<double>(B, 1, 50.0, 150.0);
  const MatD mu = rng.normal_matrix<double>(k, B), log_var = rng.normal_matrix<double>(k, B);
  double expected = 0.0;
  for (Index b = 0; b < B; ++b) {
    double kl = 0.0;
    for (Index j = 0; j < k; ++j)
      kl += 0.5 * (mu(j, b) * mu(j, b) + std::exp(log_var(j, b)) - 1.0 - log_var(j, b));
    expected += (nll(b) + beta * kl) / double(B);
  }
  return check_identity("9.1", "loss = mean(-log p(x|z)) + beta mean(KL), beta = 3", expected,
                        objective(nll, mu, log_var, beta).loss);
}

CheckRow check_eq_9_1_gradient(ch08::Likelihood likelihood, double beta,
                                      PlantedGradient planted) {
  // The test VAE is tiny (batches of 12 x 5): handing each of its products to for_blocks' threads
  // would cost more than the products (~500 loss evaluations), so the check runs on one thread.
  // Chapter 8's VAE gives the same numbers on any count.
  struct OneThread {
    int before = parallel::threads();
    OneThread() { parallel::set_threads(1); }
    ~OneThread() { parallel::set_threads(before); }
  } one_thread;
  ch08::SmallVae s = ch08::small_vae(likelihood, 91);
  auto gradient_at = [&](double b) {
    s.vae.config.beta = b;
    return ch08::vae_gradient(s);
  };
  ch08::VaeGradient g;
  switch (planted) {
    case PlantedGradient::none: g = gradient_at(beta); break;
    case PlantedGradient::beta_missing_on_kl: g = gradient_at(1.0); break;
    case PlantedGradient::beta_on_reconstruction:  // grad(beta D + R) = beta grad(D + R / beta)
      g = gradient_at(1.0 / beta);
      for (MatD& block : g.blocks) block *= beta;
      break;
  }
  s.vae.config.beta = beta;  // the loss differentiated numerically is D + beta R
  CheckRow r = ch08::check_eq_8_5_minibatch_gradient(s, g);
  std::ostringstream claim;
  claim << "ch08 VAE, " << (likelihood == ch08::Likelihood::Bernoulli ? "Bernoulli" : "Gaussian")
        << ": d(D + beta R)/d(every parameter), beta = " << beta;
  r.id = "9.1";
  r.claim = claim.str();
  return r;
}

CheckRow check_eq_9_2_scaling(const ObjectiveFn& objective) {
  Rng rng(92);
  const Index d = 8, k = 3, B = 10;
  const double noise_var = 0.3, beta = 5.0;
  const MatD X = rng.normal_matrix<double>(d, B), W = rng.normal_matrix<double>(d, k);
  const MatD mu = rng.normal_matrix<double>(k, B), log_var = rng.normal_matrix<double>(k, B);
  const MatD Z = mu + ((0.5 * log_var.array()).exp() * rng.normal_matrix<double>(k, B).array()).matrix();
  const VecD se = (X - W * Z).colwise().squaredNorm().transpose();
  const double lhs = objective(VecD(se / (2.0 * noise_var)), mu, log_var, beta).loss / beta;
  const double rhs = objective(VecD(se / (2.0 * beta * noise_var)), mu, log_var, 1.0).loss;
  return check_identity("9.2", "L_beta(sigma_x^2) / beta = L_1(beta sigma_x^2), beta = 5", lhs, rhs);
}

CheckRow check_eq_9_3_direction_derivatives(
    const std::function<Eigen::Matrix3d(double, double, double, const VecD&)>& hessian) {
  const double lambda = 1.7, noise_var = 0.5, beta = 3.0;
  const VecD x0 = (VecD(3) << 0.8, -0.45, -0.6).finished();
  VecD g(3);
  direction_objective(lambda, noise_var, beta, x0, g);
  CheckRow worst = check_gradient("9.3", "F's gradient vs central differences",
                                  [&](const VecD& x) { VecD h(3); return direction_objective(lambda, noise_var, beta, x, h); },
                                  x0, g);
  const Eigen::Matrix3d H = hessian(lambda, noise_var, beta, x0);
  Rng rng(93);
  for (int k = 0; k < 2 && worst.passed(); ++k) {
    const VecD c = rng.normal_matrix<double>(3, 1);
    const VecD Hc = H * c;
    CheckRow r = check_gradient("9.3", "F's Hessian H c vs central differences of c^T grad F",
                                [&](const VecD& x) { VecD h(3); direction_objective(lambda, noise_var, beta, x, h); return c.dot(h); },
                                x0, Hc);
    if (!r.passed() || r.error > worst.error) worst = r;
  }
  worst.claim = "1-D objective F: gradient and Hessian (two directions) vs central differences";
  return worst;
}

CheckRow check_eq_9_3_direction_optimum(const OptimumFn& optimum) {
  const double noise_var = 0.5;
  const double lambdas[] = {4.0, 1.0, 0.3}, betas[] = {0.5, 1.0, 4.0};
  MatD closed(9, 3), numeric(9, 3);
  int row = 0, most_newton_steps = 0;
  bool all_minima = true;
  for (double lambda : lambdas)
    for (double beta : betas) {
      VecD x(3);
      x << 1.0, 0.5, 0.0;
      minimise([&](const VecD& p, VecD& g) { return direction_objective(lambda, noise_var, beta, p, g); }, x, 1e-6, 2000000);
      bool minimum = false;
      most_newton_steps = std::max(most_newton_steps, newton_polish_direction(lambda, noise_var, beta, x, 1e-14, 100, &minimum));
      all_minima = all_minima && minimum;
      const double sign = x(0) < 0 ? -1.0 : 1.0;
      numeric.row(row) << std::abs(x(0)), sign * x(1), std::exp(x(2));
      if (!minimum) numeric.row(row).setConstant(NAN);
      const LinearVaeDirection o = optimum(lambda, noise_var, beta);
      closed.row(row) << o.w, o.v, o.post_var;
      ++row;
    }
  CheckRow r = check_identity("9.3", "per-direction optimum (w, v, sigma^2) = closed form, 9 cases", closed, numeric, 1e-7);
  r.detail = "lambda in {4, 1, 0.3}, beta in {0.5, 1, 4}, sigma_x^2 = 0.5; gradient descent then at most " +
             std::to_string(most_newton_steps) + " Newton steps; " +
             (all_minima ? "every end point a minimum" : "an end point is NOT a minimum") + "; tolerance 1e-7";
  return r;
}

LinearProblem make_linear_problem(std::uint64_t seed) {
  LinearProblem p;
  p.lambda.resize(6);
  p.lambda << 8.0, 4.0, 2.0, 1.0, 0.5, 0.25;
  Rng rng(seed);
  const MatD Q = rng.normal_matrix<double>(6, 6).householderQr().householderQ();
  p.S = Q * p.lambda.asDiagonal() * Q.transpose();
  return p;
}

TrainedLinearVae train_linear_vae(const LinearProblem& p, double beta, std::uint64_t seed) {
  const Index d = p.S.rows();
  Rng rng(seed);
  VecD x = VecD::Zero(2 * d * d + d);
  x.head(2 * d * d) = 0.3 * rng.normal_matrix<double>(2 * d * d, 1);
  TrainedLinearVae t;
  t.beta = beta;
  t.iterations = minimise([&](const VecD& q, VecD& g) { return linear_vae_objective(p.S, p.noise_var, beta, q, g); },
                          x, 1e-9, 200000);
  t.terms = linear_vae_terms(p.S, unpack(x, d));
  t.collapsed = Index((t.terms.kl.array() < 1e-3).count());
  return t;
}

CheckRow check_eq_9_4_collapsed(const LinearProblem& p, const TrainedLinearVae& t,
                                       const CountFn& count) {
  CheckRow r = check_identity("9.4", "collapsed dims = #{lambda_j < beta sigma_x^2}, beta = " + format_number(t.beta, 2),
                              double(count(p.lambda, p.noise_var, t.beta)), double(t.collapsed));
  r.detail = "numeric: latents with KL_j < 1e-3 nats after " + std::to_string(t.iterations) + " descent steps";
  return r;
}

CheckRow check_eq_9_4_rate_distortion(const LinearProblem& p, const TrainedLinearVae& t, double level_factor) {
  const double level = level_factor * t.beta * p.noise_var;
  MatD closed(1, 2), numeric(1, 2);
  closed << (0.5 * (p.lambda.array() / level).log().max(0.0)).sum(), p.lambda.array().min(level).sum();
  numeric << t.terms.rate, t.terms.distortion;
  return check_identity("9.4", "(R, D) = water-filling at beta sigma_x^2, beta = " + format_number(t.beta, 2),
                        closed, numeric, 1e-7);
}

std::vector<std::vector<int>> grid_factors(int copies) {
  std::vector<std::vector<int>> v(3);
  for (int c = 0; c < copies; ++c)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 4; ++b)
        for (int e = 0; e < 5; ++e) {
          v[0].push_back(a);
          v[1].push_back(b);
          v[2].push_back(e);
        }
  return v;
}

CheckRow check_eq_9_5_self_information(
    const std::function<double(const std::vector<int>&, const std::vector<int>&)>& mi) {
  Rng rng(95);
  std::vector<int> a;
  for (int i = 0; i < 500; ++i) a.push_back(int(rng.uniform() * 7.0));
  return check_identity("9.5", "I(a; a) = H(a)", entropy(a), mi(a, a));
}

CheckRow check_eq_9_5_chain_rule(
    const std::function<double(const std::vector<int>&, const std::vector<int>&)>& mi) {
  Rng rng(96);
  std::vector<int> a, b, ab;
  for (int i = 0; i < 1000; ++i) {
    a.push_back(int(rng.uniform() * 6.0));
    b.push_back(a.back() + int(rng.uniform() * 3.0));
    ab.push_back(100 * a.back() + b.back());
  }
  return check_identity("9.5", "I(a; b) = H(a) + H(b) - H(a, b)", entropy(a) + entropy(b) - entropy(ab), mi(a, b));
}

CheckRow check_eq_9_5_uniform_entropy() {
  const auto v = grid_factors();
  return check_identity("9.5", "H(5 equally used labels) = log 5", std::log(5.0), entropy(v[2]));
}

CheckRow check_eq_9_5_independent(
    const std::function<double(const std::vector<int>&, const std::vector<int>&)>& mi) {
  const auto v = grid_factors();
  return check_identity("9.5", "I = 0 for independent factors on a full grid", 0.0, mi(v[0], v[2]));
}

CheckRow check_eq_9_6_codes_equal_factors(const MigFn& mig) {
  const auto v = grid_factors();
  return check_identity("9.6", "MIG = 1 when the codes are the factors", 1.0, mig(v, v));
}

CheckRow check_eq_9_6_copied_factor(const MigFn& mig) {
  const auto v = grid_factors();
  return check_identity("9.6", "MIG = 2/3 with factor 1 copied into two codes", 2.0 / 3.0, mig({v[0], v[0], v[1], v[2]}, v));
}

CheckRow check_eq_9_6_normalised_by_factor_entropy(const MigFn& mig) {
  const auto v = grid_factors();
  std::vector<int> both;
  for (std::size_t i = 0; i < v[0].size(); ++i) both.push_back(10 * v[0][i] + v[1][i]);
  return check_identity("9.6", "MIG = 2/3 with a code holding two factors", 2.0 / 3.0, mig({both, v[1], v[2]}, v));
}

CheckRow check_eq_9_6_random_codes(const MigFn& mig) {
  const auto v = grid_factors(100);
  Rng rng(97);
  std::vector<std::vector<int>> codes(4);
  for (auto& c : codes)
    for (std::size_t i = 0; i < v[0].size(); ++i) c.push_back(int(rng.uniform() * 10.0));
  return check_bound("9.6", "MIG <= 0.02 for independent random codes (n = 6000)", mig(codes, v), 0.02, 0.0);
}

CheckRow check_eq_9_7_traversal(const std::function<MatD(const VecD&, Index, const VecD&)>& traversal) {
  VecD z0(4), values(5);
  z0 << 0.5, -1.0, 2.0, 0.25;
  values << -3.0, -1.5, 0.0, 1.5, 3.0;
  MatD expected = z0.replicate(1, 5);
  expected.row(2) = values.transpose();
  const MatD got = traversal(z0, 2, values);
  try {
    require_same_shape(got, expected, "latent_traversal(z0, 2, values)", "k x m");
  } catch (const std::invalid_argument& e) {
    return failed_row("9.7", "traversal of latent 3 over 5 values", e.what());
  }
  return check_identity("9.7", "traversal of latent 3 over 5 values", expected, got);
}

}  // namespace course::ch09
