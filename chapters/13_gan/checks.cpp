// The bodies of 13_gan/checks.hpp's checks, compiled once: the chapter program and the chapter's
// tests link this file.
#include "13_gan/checks.hpp"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <numbers>

#include "06_gaussian_kl/quadrature.hpp"
#include "course/nn.hpp"

namespace course::ch13 {

namespace {

VecD vec1(double x) { return VecD::Constant(1, x); }
double logit(double d) { return std::log(d) - std::log1p(-d); }

// c log(x) with 0 log(anything) = 0: the convention of every expectation below.
double xlogy(double c, double y) { return c == 0.0 ? 0.0 : c * std::log(y); }

VecD concat(const VecD& a, const VecD& b) {
  VecD c(a.size() + b.size());
  c << a, b;
  return c;
}

std::vector<GradBlock> blocks_of(std::vector<Param<double>> params) {
  std::vector<GradBlock> blocks;
  for (const auto& p : params) blocks.push_back({p.name, p.value, p.grad, p.size, 1});
  return blocks;
}

}  // namespace

double Gaussian1D::log_pdf(double x) const {
  const double u = (x - mean) / sd;
  return -0.5 * u * u - std::log(sd) - 0.5 * std::log(2.0 * std::numbers::pi);
}
double Gaussian1D::pdf(double x) const { return std::exp(log_pdf(x)); }

std::function<double(double)> optimal_1d(const OptimalFn& optimal, const Gaussian1D& q, const Gaussian1D& p) {
  return [=](double x) { return optimal(vec1(q.pdf(x)), vec1(p.pdf(x)))(0); };
}

double value_by_quadrature(const std::function<double(double)>& D, const Gaussian1D& q, const Gaussian1D& p) {
  // [-7.5, 8.5] holds all but 1e-13 of each density of the chapter's pair, and on it |log q/p| < 29,
  // so D* stays representable (a wider range lets 1 - D* round to 0 where p is e^-40 of q, and
  // p log 0 = -inf). 160 panels of 10 Gauss-Legendre points.
  return ch06::integrate([&](double x) { return xlogy(q.pdf(x), D(x)) + xlogy(p.pdf(x), 1.0 - D(x)); }, -7.5,
                         8.5, 160);
}

// ---- (13.1) -----------------------------------------------------------------------------------

namespace {
// Fixed logits: 5 real, 4 fake, of both signs and up to |a| = 4.
VecD real_logits() { return (VecD(5) << 2.1, -0.7, 0.3, 4.0, -1.8).finished(); }
VecD fake_logits() { return (VecD(4) << -2.5, 0.9, -0.2, 3.1).finished(); }
}  // namespace

CheckRow check_eq_13_1_loss_gradient(const DiscLossFn& loss) {
  const VecD r = real_logits(), f = fake_logits();
  const DiscriminatorLoss L = loss(r, f);
  return check_gradient("13.1", "dL_D/da for 5 real and 4 fake logits a (central differences)",
                        [&](const VecD& a) { return loss(a.head(5), a.tail(4)).loss; }, concat(r, f),
                        concat(L.d_real, L.d_fake));
}

CheckRow check_eq_13_1_pm1_labels(const DiscLossFn& loss) {
  const VecD r = real_logits(), f = fake_logits();
  // The lecture's labels: y = +1 for data, y = -1 for fakes, loss log(1 + e^{-y a}) per sample,
  // averaged over each half (each half has probability 1/2 at the discriminator's input).
  double pm1 = 0.0;
  for (Index i = 0; i < r.size(); ++i) pm1 += std::log(1.0 + std::exp(-(+1.0) * r(i))) / double(r.size());
  for (Index j = 0; j < f.size(); ++j) pm1 += std::log(1.0 + std::exp(-(-1.0) * f(j))) / double(f.size());
  return check_identity("13.1", "L_D (labels 1/0) = mean log(1 + e^{-y a}) (the lecture's labels +1/-1)",
                        loss(r, f).loss, pm1);
}

CheckRow check_eq_13_1_stable(const DiscLossFn& loss) {
  // A confident right answer costs nothing, a confident wrong one costs |a|, with gradient -+1.
  const DiscriminatorLoss right = loss(vec1(800.0), vec1(-800.0)), wrong = loss(vec1(-800.0), vec1(800.0));
  const VecD got = (VecD(6) << right.loss, wrong.loss, right.d_real(0), right.d_fake(0), wrong.d_real(0), wrong.d_fake(0)).finished();
  const VecD want = (VecD(6) << 0.0, 1600.0, 0.0, 0.0, -1.0, 1.0).finished();
  return check_identity("13.1", "at logits +-800: L_D = 0 or 1600, dL/da = 0 or -+1 (stable forms)", MatD(got), MatD(want));
}

CheckRow check_eq_13_1_network_gradient(const DiscLossFn& loss) {
  Rng rng(131);
  nn::Sequential<double> disc = nn::mlp<double>({2, 8, 8, 1}, nn::Activation::Tanh, nn::Activation::Identity, rng);
  const MatD X = rng.normal_matrix<double>(2, 6), F = 0.5 * rng.normal_matrix<double>(2, 5);
  MatD XF(2, 11);
  XF << X, F;
  const auto value = [&] {
    const MatD S = disc.forward(XF);
    return loss(S.row(0).head(6).transpose(), S.row(0).tail(5).transpose()).loss;
  };
  disc.zero_grad();
  const MatD S = disc.forward(XF);
  const DiscriminatorLoss L = loss(S.row(0).head(6).transpose(), S.row(0).tail(5).transpose());
  MatD dS(1, 11);
  dS << L.d_real.transpose(), L.d_fake.transpose();
  disc.backward(dS, false);
  return check_gradient("13.1", "dL_D/dtheta_D through the discriminator network (layer stack)", value,
                        blocks_of(disc.parameters("disc")));
}

// ---- (13.2) -----------------------------------------------------------------------------------

CheckRow check_eq_13_2_maximises_value(const OptimalFn& optimal) {
  const auto D = optimal_1d(optimal);
  const double best = value_by_quadrature(D);
  const std::vector<std::function<double(double)>> h = {[](double) { return 1.0; }, [](double x) { return x; },
                                                        [](double x) { return std::cos(x); }};
  double best_other = -std::numeric_limits<double>::infinity();
  for (const auto& dir : h)
    for (double eps : {-0.1, 0.1}) {
      const double v = value_by_quadrature([&](double x) { return nn::sigmoid(logit(D(x)) + eps * dir(x)); });
      best_other = std::max(best_other, std::isnan(v) ? std::numeric_limits<double>::infinity() : v);
    }
  CheckRow row = check_bound("13.2", "V(D, G) (quadrature) of 6 perturbations of D* <= V(D*, G)", best_other, best);
  row.detail = "V(D*, G) = " + format_number(best, 10) + ", best perturbed V = " + format_number(best_other, 10);
  return row;
}

CheckRow check_eq_13_2_trained_discriminator(const OptimalFn& optimal, Index n, std::uint64_t seed) {
  // theta* from the exercise's D*: its logit at x = -1, 0, 1 determines the quadratic a + b x + c x^2.
  const auto D = optimal_1d(optimal);
  const double lm = logit(D(-1.0)), l0 = logit(D(0.0)), lp = logit(D(1.0));
  const Eigen::Vector3d theta_star(l0, 0.5 * (lp - lm), 0.5 * (lp + lm) - l0);
  // The samples: n of q (label 1) and n of p (label 0).
  Rng rng(seed);
  std::vector<double> x(std::size_t(2 * n)), t(std::size_t(2 * n));
  for (Index i = 0; i < n; ++i) {
    x[std::size_t(i)] = kData1D.mean + kData1D.sd * rng.normal();
    t[std::size_t(i)] = 1.0;
    x[std::size_t(n + i)] = kGen1D.mean + kGen1D.sd * rng.normal();
    t[std::size_t(n + i)] = 0.0;
  }
  // Train the discriminator to convergence: Newton's method on the empirical V (the logistic
  // log-likelihood), from theta = 0.
  Eigen::Vector3d theta = Eigen::Vector3d::Zero();
  Eigen::Matrix3d H;
  for (int it = 0; it < 50; ++it) {
    Eigen::Vector3d g = Eigen::Vector3d::Zero();
    H.setZero();
    for (std::size_t i = 0; i < x.size(); ++i) {
      const Eigen::Vector3d phi(1.0, x[i], x[i] * x[i]);
      const double d = nn::sigmoid(theta.dot(phi));
      g += (t[i] - d) * phi;
      H += d * (1.0 - d) * phi * phi.transpose();
    }
    const Eigen::Vector3d step = H.ldlt().solve(g);
    theta += step;
    if (step.norm() < 1e-12) break;
  }
  const Eigen::Vector3d diff = theta - theta_star;
  const double wald = diff.dot(H * diff);
  const double critical = boost::math::quantile(boost::math::complement(boost::math::chi_squared(3.0), 1e-6));
  const Eigen::Vector3d at(1.0, 0.5, 0.25);
  CheckRow row = check_row("13.2", "trained logistic D vs D*: Wald chi2(3) statistic (logit at x = 0.5 shown)",
                           "wald", theta_star.dot(at), theta.dot(at), wald, critical);
  row.detail = "theta* = (" + format_number(theta_star(0)) + ", " + format_number(theta_star(1)) + ", " +
               format_number(theta_star(2)) + "), trained (" + format_number(theta(0)) + ", " + format_number(theta(1)) +
               ", " + format_number(theta(2)) + "); W = " + format_number(wald) + " <= chi2_3 quantile " +
               format_number(critical) + " (false-failure rate 1e-6), n = " + std::to_string(n) + " per class, seed " +
               std::to_string(seed);
  return row;
}

CheckRow check_eq_13_2_half_when_equal(const OptimalFn& optimal) {
  VecD q(9);
  for (Index i = 0; i < 9; ++i) q(i) = kData1D.pdf(-4.0 + i);
  return check_identity("13.2", "p = q => D* = 1/2 at 9 points (the lecture's exercise)", MatD(optimal(q, q)),
                        MatD(VecD::Constant(9, 0.5)));
}

// ---- (13.3) -----------------------------------------------------------------------------------

namespace {
VecD discrete_q() { return (VecD(6) << 0.30, 0.25, 0.20, 0.15, 0.10, 0.00).finished(); }
VecD discrete_p() { return (VecD(6) << 0.05, 0.10, 0.15, 0.20, 0.25, 0.25).finished(); }
double discrete_value(const VecD& q, const VecD& p, const VecD& D) {
  double v = 0.0;
  for (Index i = 0; i < q.size(); ++i) v += xlogy(q(i), D(i)) + xlogy(p(i), 1.0 - D(i));
  return v;
}
}  // namespace

CheckRow check_eq_13_3_discrete(const OptimalFn& optimal, const JsdFn& js) {
  const VecD q = discrete_q(), p = discrete_p();
  return check_identity("13.3", "discrete q, p on 6 points: V(D*, G) = -log 4 + 2 JSD(q || p)",
                        discrete_value(q, p, optimal(q, p)), -std::log(4.0) + 2.0 * js(q, p));
}

CheckRow check_eq_13_3_continuous(const OptimalFn& optimal, double factor, Index n, std::uint64_t seed) {
  const double v = value_by_quadrature(optimal_1d(optimal));
  // -log 4 + factor JSD with JSD = 1/2 E_q log(q / m) + 1/2 E_p log(p / m), one draw of each per sample.
  const auto log_ratio = [](double x, const Gaussian1D& a) {
    const double lq = kData1D.log_pdf(x), lp = kGen1D.log_pdf(x);
    const double lm = std::max(lq, lp) + std::log(0.5 * (std::exp(lq - std::max(lq, lp)) + std::exp(lp - std::max(lq, lp))));
    return a.log_pdf(x) - lm;
  };
  const McEstimate e = monte_carlo(n, seed, [&](Rng& rng) {
    const double xq = kData1D.mean + kData1D.sd * rng.normal(), xp = kGen1D.mean + kGen1D.sd * rng.normal();
    const double jsd_sample = 0.5 * log_ratio(xq, kData1D) + 0.5 * log_ratio(xp, kGen1D);
    return -std::log(4.0) + factor * jsd_sample;
  });
  return check_monte_carlo("13.3", "1-D: V(D*, G) (quadrature) = -log 4 + 2 JSD (Monte Carlo)", v, e);
}

CheckRow check_eq_13_3_limits(const OptimalFn& optimal, const JsdFn& js) {
  const VecD q = discrete_q(), p = discrete_p();
  const VecD a = (VecD(4) << 0.5, 0.5, 0.0, 0.0).finished(), b = (VecD(4) << 0.0, 0.0, 0.25, 0.75).finished();
  const VecD got = (VecD(4) << js(p, p), discrete_value(p, p, optimal(p, p)), js(a, b), discrete_value(a, b, optimal(a, b))).finished();
  const VecD want = (VecD(4) << 0.0, -std::log(4.0), std::log(2.0), 0.0).finished();
  return check_identity("13.3", "JSD(p||p) = 0, V(D*) = -log 4; disjoint: JSD = log 2, V(D*) = 0", MatD(got), MatD(want));
}

// ---- (13.4) -----------------------------------------------------------------------------------

CheckRow check_eq_13_4_loss_gradient(const GenLossFn& loss, const std::string& name) {
  const VecD a = (VecD(6) << -3.0, -1.2, -0.1, 0.4, 1.7, 3.5).finished();
  return check_gradient("13.4", name + ": dL_G/da for 6 fake logits (central differences)",
                        [&](const VecD& x) { return loss(x).loss; }, a, loss(a).grad);
}

CheckRow check_eq_13_4_generator_gradient(const GenLossFn& loss, const std::string& name) {
  Rng rng(134);
  nn::Sequential<double> gen = nn::mlp<double>({2, 8, 2}, nn::Activation::Tanh, nn::Activation::Identity, rng);
  nn::Sequential<double> disc = nn::mlp<double>({2, 8, 1}, nn::Activation::Tanh, nn::Activation::Identity, rng);
  const MatD Z = rng.normal_matrix<double>(2, 6);
  const auto value = [&] { return loss(disc.forward(gen.forward(Z)).row(0).transpose()).loss; };
  gen.zero_grad();
  const MatD S = disc.forward(gen.forward(Z));
  const GeneratorLoss L = loss(S.row(0).transpose());
  const MatD dX = disc.backward(MatD(L.grad.transpose()), true);  // dL/dx~, through D
  gen.backward(dX, false);
  return check_gradient("13.4", name + ": dL_G/dtheta_G through D and Gen (layer stack)", value,
                        blocks_of(gen.parameters("gen")));
}

// ---- (13.5) -----------------------------------------------------------------------------------

namespace {
const Eigen::Vector2d kW(1.5, -2.0);
const Eigen::Vector2d kFake(0.3, 0.7);
// The bias that puts D(kFake) at d.
double bias_for(double d) { return logit(d) - kW.dot(kFake); }
}  // namespace

CheckRow check_eq_13_5_closed_forms(const GenLossFn& minimax, const GenLossFn& nonsaturating) {
  // Six gradient components: (minimax, non-saturating) x (D = 0.5, 0.01, 0.001), each 2-D.
  const std::vector<double> ds = {0.5, 0.01, 0.001};
  VecD analytic(12), x0(12);
  for (std::size_t k = 0; k < ds.size(); ++k) {
    analytic.segment(4 * Index(k), 2) = -ds[k] * kW;
    analytic.segment(4 * Index(k) + 2, 2) = -(1.0 - ds[k]) * kW;
    x0.segment(4 * Index(k), 2) = kFake;
    x0.segment(4 * Index(k) + 2, 2) = kFake;
  }
  // f(x) = sum over the six blocks of the losses at each block's own x~: its gradient is the stack.
  const auto f = [&](const VecD& x) {
    double total = 0.0;
    for (std::size_t k = 0; k < ds.size(); ++k) {
      const double b = bias_for(ds[k]);
      total += minimax(vec1(kW.dot(Eigen::Vector2d(x.segment(4 * Index(k), 2))) + b)).loss;
      total += nonsaturating(vec1(kW.dot(Eigen::Vector2d(x.segment(4 * Index(k) + 2, 2))) + b)).loss;
    }
    return total;
  };
  return check_gradient("13.5", "d/dx~ log(1 - D) = -D w, d/dx~ -log D = -(1 - D) w at D = 0.5, 0.01, 0.001", f,
                        x0, analytic);
}

CheckRow check_eq_13_5_ratio(const GenLossFn& minimax, const GenLossFn& nonsaturating) {
  const VecD d = (VecD(7) << 0.9, 0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-6).finished();
  VecD ratio(7), want(7);
  for (Index k = 0; k < d.size(); ++k) {
    const double a = logit(d(k));
    ratio(k) = minimax(vec1(a)).grad(0) / nonsaturating(vec1(a)).grad(0);
    want(k) = d(k) / (1.0 - d(k));
  }
  return check_identity("13.5", "grad of log(1 - D) / grad of -log D = D / (1 - D), D = 0.9 .. 1e-6", MatD(ratio),
                        MatD(want));
}

// ---- (13.6) -----------------------------------------------------------------------------------

CheckRow check_eq_13_6_counts_exact(const ModeCountFn& counts) {
  const GaussianMixture2D g = ring_data();
  const MatD M = ring_modes(g);
  std::vector<Eigen::Vector2d> pts;
  VecD want(M.cols());
  for (Index k = 0; k < M.cols(); ++k) {
    const Eigen::Vector2d m = M.col(k), radial = m.normalized(), tangent(-radial(1), radial(0));
    for (Index j = 0; j <= k; ++j) {
      const double angle = 2.0 * std::numbers::pi * double(j) / double(k + 1);
      pts.push_back(m + 0.2 * (std::cos(angle) * radial + std::sin(angle) * tangent));
    }
    pts.push_back(m + 0.5 * radial);  // outside the radius (0.42), nearest to mode k
    pts.push_back(m - 0.9 * radial);  // towards the centre, nearest to mode k, far outside
    want(k) = double(k + 1);
  }
  MatD X(2, Index(pts.size()));
  for (std::size_t j = 0; j < pts.size(); ++j) X.col(Index(j)) = pts[j];
  return check_identity("13.6", "samples per mode on a hand-made set (1, 2, .., 8 within 3 sd)",
                        MatD(counts(X, M, mode_radius(g))), MatD(want));
}

MatD ring_samples(Index n, std::uint64_t seed, bool drop_modes) {
  GaussianMixture2D g = ring_data();
  if (drop_modes) {
    GaussianMixture2D kept;
    for (std::size_t k = 0; k < g.means.size(); ++k)
      if (k != 0 && k != 2 && k != 5) {
        kept.means.push_back(g.means[k]);
        kept.variances.push_back(g.variances[k]);
        kept.weights.push_back(1.0 / 5.0);
      }
    g = kept;
  }
  Rng rng(seed);
  return g.sample(n, rng);
}

CheckRow check_eq_13_6_shares(const MatD& samples, const std::string& what, const ModeCountFn& counts) {
  const GaussianMixture2D g = ring_data();
  const double n = double(samples.cols());
  const VecD c = counts(samples, ring_modes(g), mode_radius(g));
  McVecEstimate e;
  e.mean = c / n;
  // The standard error of a binomial share, from the expected share (so an empty mode has SE > 0).
  const double share = g.weights.front() * (1.0 - std::exp(-0.5 * kModeRadiusSd * kModeRadiusSd));
  e.se = VecD::Constant(c.size(), std::sqrt(share * (1.0 - share) / n));
  e.n = samples.cols();
  return check_monte_carlo("13.6", what + ": share on each mode = w (1 - e^{-9/2}) (8 modes)",
                           VecD::Constant(c.size(), share), e);
}

}  // namespace course::ch13
