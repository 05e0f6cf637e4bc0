// The bodies of 14_diffusion/diffusion.hpp's functions, compiled once.
#include "14_diffusion/diffusion.hpp"

#include <cmath>
#include <stdexcept>

#include "03_denoising_ae/dae.hpp"

namespace course::ch14 {

NoiseSchedule linear_schedule(int T, double beta_1, double beta_T) {
  if (T < 2) throw std::invalid_argument("linear_schedule: T must be at least 2");
  VecD beta(T);
  for (int t = 0; t < T; ++t) beta(t) = beta_1 + (beta_T - beta_1) * double(t) / double(T - 1);
  return make_schedule(beta);
}

NoiseSchedule chapter_schedule() { return linear_schedule(250, 1e-4, 0.05); }

GaussianMixture2D chapter_data() { return GaussianMixture2D::ring(8, 1.4, 0.02); }

MatD run_forward(const MatD& X0, const NoiseSchedule& s, int t, Rng& rng, const ForwardStepFn& step) {
  MatD X = X0;
  for (int k = 1; k <= t; ++k) X = step(X, s.beta(k - 1), rng.normal_matrix<double>(X.rows(), X.cols()));
  return X;
}

MatD run_reverse(const NoiseSchedule& s, const EpsFn& eps, Index n, Rng& rng, const std::vector<int>& keep,
                 std::vector<MatD>* kept, const ReverseStepFn& step) {
  const int T = int(s.beta.size());
  if (kept) kept->assign(keep.size(), MatD());
  auto store = [&](int t, const MatD& X) {
    if (!kept) return;
    for (std::size_t i = 0; i < keep.size(); ++i)
      if (keep[i] == t) (*kept)[i] = X;
  };
  MatD X = rng.normal_matrix<double>(2, n);
  store(T, X);
  for (int t = T; t >= 1; --t) {
    X = step(X, eps(X, t), s, t, rng.normal_matrix<double>(X.rows(), X.cols()));
    store(t - 1, X);
  }
  return X;
}

MatD optimal_eps(const GaussianMixture2D& g, double alpha_bar, const MatD& Xt) {
  const double sigma = std::sqrt((1.0 - alpha_bar) / alpha_bar), root = std::sqrt(alpha_bar);
  MatD eps(2, Xt.cols());
  for (Index j = 0; j < Xt.cols(); ++j) {
    const Eigen::Vector2d x = Xt.col(j);
    const Eigen::Vector2d x0 = ch03::mixture_posterior_mean(g, sigma, x / root);
    eps.col(j) = (x - root * x0) / std::sqrt(1.0 - alpha_bar);
  }
  return eps;
}

MatD mixture_score_t(const GaussianMixture2D& g, double alpha_bar, const MatD& Xt) {
  const double root = std::sqrt(alpha_bar), extra = (1.0 - alpha_bar) / alpha_bar;
  MatD score(2, Xt.cols());
  for (Index j = 0; j < Xt.cols(); ++j) {
    const Eigen::Vector2d y = Xt.col(j) / root;
    score.col(j) = g.score(y, extra) / root;
  }
  return score;
}

EpsFn exact_eps(const GaussianMixture2D& g, const NoiseSchedule& s) {
  return [g, s](const MatD& Xt, int t) { return optimal_eps(g, s.alpha_bar(t - 1), Xt); };
}

}  // namespace course::ch14
