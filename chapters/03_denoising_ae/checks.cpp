// The bodies of 03_denoising_ae/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "03_denoising_ae/checks.hpp"

namespace course::ch03 {

void probe(const CorruptFn& corrupt, const MatD& X) {
  Rng rng(0);
  (void)corrupt(X, 0.5, rng);
}

LinearProblem make_linear_problem(std::uint64_t seed, Index n) {
  Rng rng(seed);
  const Index d = 5;
  VecD spectrum(d);
  spectrum << 4.0, 2.0, 1.0, 0.5, 0.25;
  const MatD Q = rng.normal_matrix<double>(d, d).householderQr().householderQ();
  LinearProblem p;
  p.X = Q * spectrum.cwiseSqrt().asDiagonal() * rng.normal_matrix<double>(d, n);
  p.X.colwise() -= VecD(p.X.rowwise().mean());
  p.S = p.X * p.X.transpose() / double(n);
  p.W = 0.4 * rng.normal_matrix<double>(d, d);
  p.T = rng.normal_matrix<double>(d, n);
  return p;
}

MatD moment_point() {
  MatD x(4, 1);
  x << 0.9, -0.4, 0.2, 1.5;
  return x;
}

CheckRow check_eq_3_1_gaussian_moments(double sigma, const CorruptFn& corrupt,
                                              Index samples) {
  const MatD x = moment_point();
  probe(corrupt, x);
  const McVecEstimate est = monte_carlo_vec(samples, 8, 31, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD xn = corrupt(x, sigma, rng);
    out.head(4) = xn.col(0);
    out.tail(4) = (xn - x).col(0).array().square().matrix();
  });
  VecD analytic(8);
  analytic << x.col(0), VecD::Constant(4, sigma * sigma);
  return check_monte_carlo("3.1", "Gaussian noise: E x~ = x, Var x~_i = sigma^2 (sigma = " + format_number(sigma, 2) + ")",
                           analytic, est);
}

CheckRow check_eq_3_1_masking_moments(double nu, const CorruptFn& corrupt,
                                             Index samples) {
  const MatD x = moment_point();
  probe(corrupt, x);
  const McVecEstimate est = monte_carlo_vec(samples, 8, 32, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD xn = corrupt(x, nu, rng);
    out.head(4) = xn.col(0);
    out.tail(4) = (xn - (1.0 - nu) * x).col(0).array().square().matrix();
  });
  VecD analytic(8);
  analytic << (1.0 - nu) * x.col(0), nu * (1.0 - nu) * x.col(0).array().square().matrix();
  return check_monte_carlo("3.1", "masking: E x~ = (1-nu) x, Var x~_i = nu(1-nu) x_i^2 (nu = " + format_number(nu, 2) + ")",
                           analytic, est);
}

CheckRow check_eq_3_2_gradient(const LinearProblem& p, const LossFn& loss) {
  Rng rng(5);
  const MatD Xn = p.X + p.sigma * rng.normal_matrix<double>(p.X.rows(), p.X.cols());
  MatD W = p.W;
  const MatD g = loss(W, Xn, p.X).grad;
  if (g.rows() != W.rows() || g.cols() != W.cols()) {
    CheckRow r = check_identity("3.2", "dL/dW vs central differences", 0.0, NAN);
    r.detail = "the gradient is " + std::to_string(g.rows()) + "x" + std::to_string(g.cols()) + ", W is d x d";
    return r;
  }
  return check_gradient("3.2", "dL/dW = (1/n)(W Xn - X) Xn^T vs central differences",
                        [&] { return loss(W, Xn, p.X).loss; }, {grad_block("W", W, g)});
}

CheckRow check_eq_3_3_tikhonov(const LinearProblem& p, bool dae_targets,
                                      const LossFn& loss,
                                      const CorruptFn& corrupt,
                                      double penalty_coefficient, Index samples) {
  const MatD& T = dae_targets ? p.X : p.T;
  probe(corrupt, p.X);
  const double clean = loss(p.W, p.X, T).loss;
  const double c = penalty_coefficient >= 0 ? penalty_coefficient : p.sigma * p.sigma;
  const McEstimate est = monte_carlo(samples, dae_targets ? 33 : 34, [&](Rng& rng) {
    return loss(p.W, corrupt(p.X, p.sigma, rng), T).loss;
  });
  return check_monte_carlo("3.3", std::string("E noisy loss = clean loss + sigma^2/2 ||W||^2") +
                                      (dae_targets ? " (targets X)" : " (any targets T)"),
                           clean + 0.5 * c * p.W.squaredNorm(), est);
}

ExpectedLossDescent descend_expected_loss(const MatD& S, double sigma, const MatD& W_star, int iterations) {
  const Index d = S.rows();
  const MatD A = S + sigma * sigma * MatD::Identity(d, d);
  const Eigen::SelfAdjointEigenSolver<MatD> eig(A);
  const double lr = 1.0 / eig.eigenvalues().maxCoeff();
  Rng rng(11);
  ExpectedLossDescent run;
  run.W = rng.normal_matrix<double>(d, d);
  for (int t = 0; t <= iterations; ++t) {
    run.iteration.push_back(t);
    run.relative_error.push_back((run.W - W_star).norm() / W_star.norm());
    if (t < iterations) run.W -= lr * (run.W * A - S);
  }
  return run;
}

CheckRow check_eq_3_4_gradient_descent(const LinearProblem& p, const WeightsFn& weights) {
  const MatD W_star = weights(p.S, p.sigma);
  if (W_star.rows() != p.S.rows() || W_star.cols() != p.S.cols())
    return check_identity("3.4", "W* has the shape of S", 0.0, NAN);
  const ExpectedLossDescent run = descend_expected_loss(p.S, p.sigma, W_star);
  CheckRow r = check_identity("3.4", "gradient descent on the expected loss -> W* = S(S + sigma^2 I)^-1", W_star, run.W, 1e-8);
  r.detail += "; 400 steps, contraction rho = 1 - (l_min + sigma^2)/(l_max + sigma^2)";
  return r;
}

CheckRow check_eq_3_4_noisy_gradient_vanishes(const LinearProblem& p, const MatD& W,
                                                     const LossFn& loss,
                                                     const CorruptFn& corrupt,
                                                     Index samples) {
  probe(corrupt, p.X);
  const Index d = p.X.rows();
  (void)loss(W, p.X, p.X);  // a stub throws here, not on a worker thread
  const McVecEstimate est = monte_carlo_vec(samples, d * d, 35, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD g = loss(W, corrupt(p.X, p.sigma, rng), p.X).grad;
    out = Eigen::Map<const VecD>(g.data(), d * d);
  });
  return check_monte_carlo("3.4", "E[dL/dW on noisy samples] = 0 at W*", VecD::Zero(d * d), est);
}

GaussianProblem make_gaussian_problem() {
  GaussianProblem g;
  g.mu = VecD(3);
  g.mu << 1.0, -2.0, 0.5;
  Rng rng(21);
  const MatD Q = rng.normal_matrix<double>(3, 3).householderQr().householderQ();
  VecD lambda(3);
  lambda << 2.0, 1.0, 0.3;
  g.Sigma = Q * lambda.asDiagonal() * Q.transpose();
  g.points = (rng.normal_matrix<double>(3, 5) * 1.5).colwise() + g.mu;
  return g;
}

CheckRow check_eq_3_5_optimal_dae(const GaussianProblem& g, const WeightsFn& weights,
                                         bool center, Index samples) {
  const MatD W = weights(g.Sigma, g.sigma);
  const MatD L = g.Sigma.llt().matrixL();
  const McVecEstimate est = monte_carlo_vec(samples, 12, 36, [&](Rng& rng, Eigen::Ref<VecD> out) {
    VecD z(3), e(3);
    for (Index i = 0; i < 3; ++i) z(i) = rng.normal();
    for (Index i = 0; i < 3; ++i) e(i) = rng.normal();
    const VecD x = g.mu + L * z;
    const VecD xn = x + g.sigma * e;
    const VecD r = center ? VecD(g.mu + W * (xn - g.mu)) : VecD(W * xn);
    const VecD err = r - x;
    out.head(3) = err;
    const MatD outer = err * xn.transpose();
    out.tail(9) = Eigen::Map<const VecD>(outer.data(), 9);
  });
  return check_monte_carlo("3.5", "r* = mu + Sigma(Sigma+sigma^2 I)^-1(x~-mu): E[r*-x] = 0, E[(r*-x)x~^T] = 0",
                           VecD::Zero(12), est);
}

CheckRow check_eq_3_6_tweedie_gaussian(const GaussianProblem& g) {
  const Index d = g.mu.size();
  const MatD lhs = (gaussian_optimal_dae(g.mu, g.Sigma, g.sigma, g.points) - g.points) / (g.sigma * g.sigma);
  const MatD rhs = gaussian_score(g.mu, g.Sigma + g.sigma * g.sigma * MatD::Identity(d, d), g.points);
  return check_identity("3.6", "Gaussian: (r*(x)-x)/sigma^2 = grad log N(x; mu, Sigma + sigma^2 I)", rhs, lhs);
}

MatD tweedie_points() {
  MatD x(2, 6);
  x << 2.1, 1.2, 0.0, -0.4, 3.0, -1.5,
       0.1, 1.5, 0.0, -2.2, 0.5, -1.4;
  return x;
}

CheckRow check_eq_3_6_tweedie_mixture(const GaussianMixture2D& g, double sigma, double score_extra_var) {
  const MatD x = tweedie_points();
  MatD lhs(2, x.cols()), rhs(2, x.cols());
  const double extra = score_extra_var >= 0 ? score_extra_var : sigma * sigma;
  for (Index j = 0; j < x.cols(); ++j) {
    lhs.col(j) = (mixture_posterior_mean(g, sigma, x.col(j)) - x.col(j)) / (sigma * sigma);
    rhs.col(j) = g.score(x.col(j), extra);
  }
  return check_identity("3.6", "mixture: (E[x|x~] - x~)/sigma^2 = grad log p_sigma(x~)", rhs, lhs);
}

LimitPoint small_noise_error(const GaussianProblem& g, double sigma, double power,
                                    const WeightsFn& weights) {
  const VecD x = g.points.col(0);
  const MatD W = weights(g.Sigma, sigma);
  const VecD r = g.mu + W * (x - g.mu);
  const VecD estimate = (r - x) / std::pow(sigma, power);
  const VecD truth = gaussian_score(g.mu, g.Sigma, x);
  const VecD c = g.Sigma.llt().solve(MatD(g.Sigma.llt().solve(MatD(x - g.mu))));
  return {(estimate - truth).norm(), sigma * sigma * c.norm()};
}

CheckRow check_eq_3_7_small_noise_limit(const GaussianProblem& g, double sigma, double power,
                                               const WeightsFn& weights) {
  const LimitPoint e = small_noise_error(g, sigma, power, weights);
  const double l_min = Eigen::SelfAdjointEigenSolver<MatD>(g.Sigma).eigenvalues().minCoeff();
  CheckRow r = check_bound("3.7", "|e/(sigma^2 c) - 1| <= sigma^2/l_min at sigma = " + format_number(sigma, 3),
                           std::abs(e.error / e.predicted - 1.0), sigma * sigma / l_min, 1e-6);
  r.detail += "; e(sigma) = " + std::to_string(e.error) + ", sigma^2 c = " + std::to_string(e.predicted);
  return r;
}

MatD score_test_points(const GaussianMixture2D& g, double sigma, Index n) {
  Rng rng(77);
  const MatD X = g.sample(n, rng);
  return X + sigma * rng.normal_matrix<double>(2, n);
}

CheckRow check_eq_3_8_score_cosine(const GaussianMixture2D& g, double sigma, const MatD& estimated_score,
                                          const std::string& what) {
  const MatD truth = mixture_score(g, sigma, score_test_points(g, sigma));
  const double cosine = mean_cosine(estimated_score, truth);
  CheckRow r = check_bound("3.8", what + ": mean cos((r(x)-x), grad log p_sigma) >= 0.9", kCosineBound, cosine, 0.0);
  r.detail += "; over 2,000 points drawn from p_sigma";
  return r;
}

CheckRow check_eq_3_8_score_scale(const GaussianMixture2D& g, double sigma, const MatD& estimated_score,
                                  const std::string& what) {
  const MatD truth = mixture_score(g, sigma, score_test_points(g, sigma));
  if (estimated_score.rows() != truth.rows() || estimated_score.cols() != truth.cols())
    return check_identity("3.8", what + ": score field shape", 0.0, NAN);
  const double a = (estimated_score.array() * truth.array()).sum() / truth.squaredNorm();
  // |log a| <= log(bound): a bound row on the log-scale, so that 1/2 and 2 are equally far from 1.
  CheckRow r = check_bound("3.8", what + ": scale of (r(x)-x)/sigma^2 vs grad log p_sigma within x/" +
                                      format_number(kScaleBound, 2) + " of 1",
                           std::abs(std::log(a)), std::log(kScaleBound), 0.0);
  r.detail += "; least-squares scale a = " + format_number(a, 4) + " over 2,000 points drawn from p_sigma";
  return r;
}

MatD linear_dae_score(const GaussianMixture2D& g, double sigma, const MatD& X) {
  Rng rng(78);
  const MatD sample = g.sample(20000, rng);
  const VecD m = sample.rowwise().mean();
  const MatD centred = sample.colwise() - m;
  const MatD C = centred * centred.transpose() / double(sample.cols());
  return (gaussian_optimal_dae(m, C, sigma, X) - X) / (sigma * sigma);
}

std::vector<CheckRow> all_checks(const LinearProblem& p, const GaussianProblem& g,
                                        const GaussianMixture2D& mixture, const MixtureDaeRun& dae) {
  std::vector<CheckRow> rows{check_eq_3_1_gaussian_moments(),
                             check_eq_3_1_masking_moments(),
                             check_eq_3_2_gradient(p),
                             check_eq_3_3_tikhonov(p, true),
                             check_eq_3_3_tikhonov(p, false),
                             check_eq_3_4_gradient_descent(p),
                             check_eq_3_4_noisy_gradient_vanishes(p, linear_dae_weights(p.S, p.sigma)),
                             check_eq_3_5_optimal_dae(g),
                             check_eq_3_6_tweedie_gaussian(g),
                             check_eq_3_6_tweedie_mixture(mixture, dae.sigma)};
  for (double s : {0.1, 0.03, 0.01}) rows.push_back(check_eq_3_7_small_noise_limit(g, s));
  rows.push_back(check_eq_3_8_score_cosine(mixture, dae.sigma, dae_score(dae, score_test_points(mixture, dae.sigma))));
  rows.push_back(check_eq_3_8_score_scale(mixture, dae.sigma, dae_score(dae, score_test_points(mixture, dae.sigma))));
  return rows;
}

}  // namespace course::ch03
