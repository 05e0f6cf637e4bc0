// Chapter 3's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch03 asserts each one (and that each rejects the
// likely wrong formula named beside it). The exercise a check exercises is a defaulted parameter,
// so a test can plant a wrong formula in its place.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "03_denoising_ae/dae.hpp"
#include "course/check.hpp"

namespace course::ch03 {

using CorruptFn = std::function<MatD(const MatD&, double, Rng&)>;
using LossFn = std::function<DaeLoss(const MatD&, const MatD&, const MatD&)>;
using WeightsFn = std::function<MatD(const MatD&, double)>;

// Monte Carlo runs the sampler on several threads, where an exception would abort the program.
// Calling the exercise once here first lets a stub's NotImplemented surface in this thread.
inline void probe(const CorruptFn& corrupt, const MatD& X) {
  Rng rng(0);
  (void)corrupt(X, 0.5, rng);
}

// =============================================================================================
// The linear problem: d = 5 centred samples with a known spectrum, Gaussian noise eta = 0.5
// =============================================================================================
struct LinearProblem {
  MatD X;          // d x n, centred
  MatD S;          // X X^T / n, the second-moment (covariance) matrix
  double eta = 0.5;
  MatD W;          // a fixed random d x d map at which loss identities are checked
  MatD T;          // d x n random regression targets (eq. 3.3 holds for any target)
};

inline LinearProblem make_linear_problem(std::uint64_t seed = 1, Index n = 100) {
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

// (3.1) Corruption moments. Gaussian: E x~ = x, E (x~ - x)^2 = eta^2 per entry. Masking (drop
// probability nu): E x~ = (1 - nu) x, E (x~ - (1 - nu) x)^2 = nu (1 - nu) x^2. One Monte Carlo row
// over both moments of every entry (Bonferroni, false-failure rate 1e-6 for the row).
// Wrong formulas rejected: noise of standard deviation eta^2 (variance eta^4); keeping entries with
// probability nu; rescaling the kept entries by 1 / (1 - nu) (inverted dropout is not the DAE's mask).
inline MatD moment_point() {
  MatD x(4, 1);
  x << 0.9, -0.4, 0.2, 1.5;
  return x;
}
inline CheckRow check_eq_3_1_gaussian_moments(double eta = 0.5, const CorruptFn& corrupt = gaussian_corruption,
                                              Index samples = 100000) {
  const MatD x = moment_point();
  probe(corrupt, x);
  const McVecEstimate est = monte_carlo_vec(samples, 8, 31, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD xn = corrupt(x, eta, rng);
    out.head(4) = xn.col(0);
    out.tail(4) = (xn - x).col(0).array().square().matrix();
  });
  VecD analytic(8);
  analytic << x.col(0), VecD::Constant(4, eta * eta);
  return check_monte_carlo("3.1", "Gaussian noise: E x~ = x, Var x~_i = eta^2 (eta = " + std::to_string(eta).substr(0, 4) + ")",
                           analytic, est);
}
inline CheckRow check_eq_3_1_masking_moments(double nu = 0.3, const CorruptFn& corrupt = masking_corruption,
                                             Index samples = 100000) {
  const MatD x = moment_point();
  probe(corrupt, x);
  const McVecEstimate est = monte_carlo_vec(samples, 8, 32, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD xn = corrupt(x, nu, rng);
    out.head(4) = xn.col(0);
    out.tail(4) = (xn - (1.0 - nu) * x).col(0).array().square().matrix();
  });
  VecD analytic(8);
  analytic << (1.0 - nu) * x.col(0), nu * (1.0 - nu) * x.col(0).array().square().matrix();
  return check_monte_carlo("3.1", "masking: E x~ = (1-nu) x, Var x~_i = nu(1-nu) x_i^2 (nu = " + std::to_string(nu).substr(0, 4) + ")",
                           analytic, est);
}

// (3.2) The gradient of the denoising loss against central differences, at a fixed noisy input.
// Wrong formulas rejected: the clean X in place of Xn in (1/n) R Xn^T; a missing 1/n; a factor 2.
inline CheckRow check_eq_3_2_gradient(const LinearProblem& p, const LossFn& loss = linear_dae_loss) {
  Rng rng(5);
  const MatD Xn = p.X + p.eta * rng.normal_matrix<double>(p.X.rows(), p.X.cols());
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

// (3.3) Training with noise is Tikhonov regularisation (Bishop 1995): for targets T,
//   E_E L(W; X + eta E, T) = L(W; X, T) + eta^2 / 2 ||W||_F^2.
// Monte Carlo over whole-dataset noise draws at z = 5 (false-failure rate 5.7e-7). The first form
// has T = X (the linear DAE), the second random regression targets.
// Wrong formulas rejected: eta instead of eta^2 in the penalty; no penalty at all; the noisy input
// as the target (which gives eta^2 / 2 ||W - I||_F^2).
inline CheckRow check_eq_3_3_tikhonov(const LinearProblem& p, bool dae_targets = true,
                                      const LossFn& loss = linear_dae_loss,
                                      const CorruptFn& corrupt = gaussian_corruption,
                                      double penalty_coefficient = -1.0, Index samples = 10000) {
  const MatD& T = dae_targets ? p.X : p.T;
  probe(corrupt, p.X);
  const double clean = loss(p.W, p.X, T).loss;
  const double c = penalty_coefficient >= 0 ? penalty_coefficient : p.eta * p.eta;
  const McEstimate est = monte_carlo(samples, dae_targets ? 33 : 34, [&](Rng& rng) {
    return loss(p.W, corrupt(p.X, p.eta, rng), T).loss;
  });
  return check_monte_carlo("3.3", std::string("E noisy loss = clean loss + eta^2/2 ||W||^2") +
                                      (dae_targets ? " (targets X)" : " (any targets T)"),
                           clean + 0.5 * c * p.W.squaredNorm(), est);
}

// (3.4) The optimal linear DAE W* = S (S + eta^2 I)^-1.
// (a) Gradient descent on the expected loss  Lbar(W) = L(W; X) + eta^2/2 ||W||^2  (eq. 3.3), whose
// gradient is W (S + eta^2 I) - S, from a random start with step 1 / (l_max + eta^2). The error
// contracts by rho = 1 - (l_min + eta^2) / (l_max + eta^2) per step (about 0.88 here), so after 400
// steps rho^400 < 1e-20 and only rounding is left: tolerance 1e-8.
// Wrong formulas rejected: eta instead of eta^2; W = I (the plain autoencoder without noise).
struct ExpectedLossDescent {
  std::vector<double> iteration, relative_error;  // ||W_t - W*||_F / ||W*||_F
  MatD W;
};
inline ExpectedLossDescent descend_expected_loss(const MatD& S, double eta, const MatD& W_star, int iterations = 400) {
  const Index d = S.rows();
  const MatD A = S + eta * eta * MatD::Identity(d, d);
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
inline CheckRow check_eq_3_4_gradient_descent(const LinearProblem& p, const WeightsFn& weights = linear_dae_weights) {
  const MatD W_star = weights(p.S, p.eta);
  if (W_star.rows() != p.S.rows() || W_star.cols() != p.S.cols())
    return check_identity("3.4", "W* has the shape of S", 0.0, NAN);
  const ExpectedLossDescent run = descend_expected_loss(p.S, p.eta, W_star);
  CheckRow r = check_identity("3.4", "gradient descent on the expected loss -> W* = S(S + eta^2 I)^-1", W_star, run.W, 1e-8);
  r.detail += "; 400 steps, contraction rho = 1 - (l_min + eta^2)/(l_max + eta^2)";
  return r;
}

// (b) At W* the gradient of the loss on noisy samples (exercise 3.3 on exercise 3.1's noise) has
// mean zero: W* is where stochastic gradient descent on noisy copies settles. Monte Carlo over
// 10,000 noise draws of the whole data set, every entry, false-failure rate 1e-6 (Bonferroni).
inline CheckRow check_eq_3_4_noisy_gradient_vanishes(const LinearProblem& p, const MatD& W,
                                                     const LossFn& loss = linear_dae_loss,
                                                     const CorruptFn& corrupt = gaussian_corruption,
                                                     Index samples = 10000) {
  probe(corrupt, p.X);
  const Index d = p.X.rows();
  (void)loss(W, p.X, p.X);  // a stub throws here, not on a worker thread
  const McVecEstimate est = monte_carlo_vec(samples, d * d, 35, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD g = loss(W, corrupt(p.X, p.eta, rng), p.X).grad;
    out = Eigen::Map<const VecD>(g.data(), d * d);
  });
  return check_monte_carlo("3.4", "E[dL/dW on noisy samples] = 0 at W*", VecD::Zero(d * d), est);
}

// =============================================================================================
// Gaussian data: the optimal DAE, Tweedie's formula and the small-noise limit
// =============================================================================================
struct GaussianProblem {
  VecD mu;
  MatD Sigma;
  double sigma = 0.7;  // the DAE's noise level
  MatD points;         // 3 x 5 points where the scores are compared
};
inline GaussianProblem make_gaussian_problem() {
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

// (3.5) r*(x~) = mu + Sigma (Sigma + sigma^2 I)^-1 (x~ - mu) is the optimal DAE for x ~ N(mu, Sigma),
// x~ = x + sigma e: its error e = r*(x~) - x is orthogonal to every affine function of x~,
// E[e] = 0 and E[e x~^T] = 0 (for Gaussians the best affine estimate is E[x | x~]). Monte Carlo over
// 200,000 draws, 12 entries, false-failure rate 1e-6. `center` = false plants the missing mu.
// Wrong formulas rejected: sigma instead of sigma^2; forgetting to centre at mu.
inline CheckRow check_eq_3_5_optimal_dae(const GaussianProblem& g, const WeightsFn& weights = linear_dae_weights,
                                         bool center = true, Index samples = 200000) {
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

// (3.6) Tweedie / Alain & Bengio: (r*(x) - x) / sigma^2 = grad log p_sigma(x), exactly, where
// p_sigma = p * N(0, sigma^2 I) is the noise-smoothed density. For the Gaussian p_sigma is
// N(mu, Sigma + sigma^2 I). Identity to 1e-10 at five points.
// Wrong formula rejected: the score of the clean density, -Sigma^-1 (x - mu), at finite sigma.
inline CheckRow check_eq_3_6_tweedie_gaussian(const GaussianProblem& g) {
  const Index d = g.mu.size();
  const MatD lhs = (gaussian_optimal_dae(g.mu, g.Sigma, g.sigma, g.points) - g.points) / (g.sigma * g.sigma);
  const MatD rhs = gaussian_score(g.mu, g.Sigma + g.sigma * g.sigma * MatD::Identity(d, d), g.points);
  return check_identity("3.6", "Gaussian: (r*(x)-x)/sigma^2 = grad log N(x; mu, Sigma + sigma^2 I)", rhs, lhs);
}
// The same for the 2-D mixture, whose optimal DAE is the posterior mean (dae.hpp), against the
// analytic score of the smoothed mixture (GaussianMixture2D::score with extra variance sigma^2).
inline MatD tweedie_points() {
  MatD x(2, 6);
  x << 2.1, 1.2, 0.0, -0.4, 3.0, -1.5,
       0.1, 1.5, 0.0, -2.2, 0.5, -1.4;
  return x;
}
inline CheckRow check_eq_3_6_tweedie_mixture(const GaussianMixture2D& g, double sigma, double score_extra_var = -1.0) {
  const MatD x = tweedie_points();
  MatD lhs(2, x.cols()), rhs(2, x.cols());
  const double extra = score_extra_var >= 0 ? score_extra_var : sigma * sigma;
  for (Index j = 0; j < x.cols(); ++j) {
    lhs.col(j) = (mixture_posterior_mean(g, sigma, x.col(j)) - x.col(j)) / (sigma * sigma);
    rhs.col(j) = g.score(x.col(j), extra);
  }
  return check_identity("3.6", "mixture: (E[x|x~] - x~)/sigma^2 = grad log p_sigma(x~)", rhs, lhs);
}

// (3.7) The small-noise limit. For the Gaussian, exactly
//   (r*(x) - x)/sigma^2 - grad log p(x) = sigma^2 (Sigma + sigma^2 I)^-1 Sigma^-1 (x - mu),
// so the error e(sigma) = || (r*(x) - x)/sigma^2 - grad log p(x) || satisfies
//   | e(sigma) / (sigma^2 c) - 1 | <= sigma^2 / l_min,   c = || Sigma^-2 (x - mu) ||:
// e is O(sigma^2) with the leading coefficient c. Checked at one point for a given sigma; slack
// 1e-6 for rounding (forming r*(x) - x cancels about log10(1/sigma^2) digits).
// Wrong formulas rejected: dividing by sigma instead of sigma^2; sigma instead of sigma^2 in r*.
struct LimitPoint {
  double error = 0.0;      // e(sigma)
  double predicted = 0.0;  // sigma^2 c
};
inline LimitPoint small_noise_error(const GaussianProblem& g, double sigma, double power = 2.0,
                                    const WeightsFn& weights = linear_dae_weights) {
  const VecD x = g.points.col(0);
  const MatD W = weights(g.Sigma, sigma);
  const VecD r = g.mu + W * (x - g.mu);
  const VecD estimate = (r - x) / std::pow(sigma, power);
  const VecD truth = gaussian_score(g.mu, g.Sigma, x);
  const VecD c = g.Sigma.llt().solve(MatD(g.Sigma.llt().solve(MatD(x - g.mu))));
  return {(estimate - truth).norm(), sigma * sigma * c.norm()};
}
inline CheckRow check_eq_3_7_small_noise_limit(const GaussianProblem& g, double sigma, double power = 2.0,
                                               const WeightsFn& weights = linear_dae_weights) {
  const LimitPoint e = small_noise_error(g, sigma, power, weights);
  const double l_min = Eigen::SelfAdjointEigenSolver<MatD>(g.Sigma).eigenvalues().minCoeff();
  CheckRow r = check_bound("3.7", "|e/(sigma^2 c) - 1| <= sigma^2/l_min at sigma = " + std::to_string(sigma).substr(0, 5),
                           std::abs(e.error / e.predicted - 1.0), sigma * sigma / l_min, 1e-6);
  r.detail += "; e(sigma) = " + std::to_string(e.error) + ", sigma^2 c = " + std::to_string(e.predicted);
  return r;
}

// =============================================================================================
// (3.8) A nonlinear DAE trained on the 2-D mixture estimates the smoothed score
// =============================================================================================

// 2,000 points from the noisy data distribution p_sigma (seeded): where the DAE was trained.
inline MatD score_test_points(const GaussianMixture2D& g, double sigma, Index n = 2000) {
  Rng rng(77);
  const MatD X = g.sample(n, rng);
  return X + sigma * rng.normal_matrix<double>(2, n);
}
// The mean cosine similarity between the DAE's (r(x) - x)/sigma^2 and grad log p_sigma(x) over those
// points must be at least 0.9 (a mean angle of about 25 degrees or better).
// Fields rejected: the best linear DAE (a single Gaussian fitted to the mixture, whose field points
// to the centre of the ring), the flipped field x - r(x).
inline constexpr double kCosineBound = 0.9;
inline CheckRow check_eq_3_8_score_cosine(const GaussianMixture2D& g, double sigma, const MatD& estimated_score,
                                          const std::string& what = "nonlinear DAE") {
  const MatD truth = mixture_score(g, sigma, score_test_points(g, sigma));
  const double cosine = mean_cosine(estimated_score, truth);
  CheckRow r = check_bound("3.8", what + ": mean cos((r(x)-x), grad log p_sigma) >= 0.9", kCosineBound, cosine, 0.0);
  r.detail += "; over 2,000 points drawn from p_sigma";
  return r;
}
// The field of the best linear DAE: fit N(m, C) to the mixture, r(x) = m + C (C + sigma^2 I)^-1 (x - m).
inline MatD linear_dae_score(const GaussianMixture2D& g, double sigma, const MatD& X) {
  Rng rng(78);
  const MatD sample = g.sample(20000, rng);
  const VecD m = sample.rowwise().mean();
  const MatD centred = sample.colwise() - m;
  const MatD C = centred * centred.transpose() / double(sample.cols());
  return (gaussian_optimal_dae(m, C, sigma, X) - X) / (sigma * sigma);
}

// =============================================================================================
// Every synthetic check of the chapter, in the order of the doc.
// =============================================================================================
inline std::vector<CheckRow> all_checks(const LinearProblem& p, const GaussianProblem& g,
                                        const GaussianMixture2D& mixture, const MixtureDaeRun& dae) {
  std::vector<CheckRow> rows{check_eq_3_1_gaussian_moments(),
                             check_eq_3_1_masking_moments(),
                             check_eq_3_2_gradient(p),
                             check_eq_3_3_tikhonov(p, true),
                             check_eq_3_3_tikhonov(p, false),
                             check_eq_3_4_gradient_descent(p),
                             check_eq_3_4_noisy_gradient_vanishes(p, linear_dae_weights(p.S, p.eta)),
                             check_eq_3_5_optimal_dae(g),
                             check_eq_3_6_tweedie_gaussian(g),
                             check_eq_3_6_tweedie_mixture(mixture, dae.sigma)};
  for (double s : {0.1, 0.03, 0.01}) rows.push_back(check_eq_3_7_small_noise_limit(g, s));
  rows.push_back(check_eq_3_8_score_cosine(mixture, dae.sigma, dae_score(dae, score_test_points(mixture, dae.sigma))));
  return rows;
}

}  // namespace course::ch03
