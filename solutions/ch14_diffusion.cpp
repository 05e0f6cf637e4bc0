// Reference solutions of chapter 14. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch14_diffusion.hpp"

#include <cmath>

#include "course/error.hpp"

namespace course::ch14 {

NoiseSchedule make_schedule(const VecD& beta) {
  // BEGIN SOLUTION
  // HINT: alpha_bar is a running product: alpha_bar_t = alpha_bar_{t-1} * alpha_t, alpha_bar_0 = 1.
  NoiseSchedule s;
  s.beta = beta;
  s.alpha = (1.0 - beta.array()).matrix();
  s.alpha_bar.resize(beta.size());
  double running = 1.0;
  for (Index t = 0; t < beta.size(); ++t) {
    running *= s.alpha(t);
    s.alpha_bar(t) = running;
  }
  return s;
  // END SOLUTION
}

MatD forward_step(const MatD& X, double beta, const MatD& Xi) {
  // BEGIN SOLUTION
  // HINT: with x_t = c x_{t-1} + noise, Var x_t = c^2 Var x_{t-1} + beta_t must stay 1; Xi has variance 1.
  return std::sqrt(1.0 - beta) * X + std::sqrt(beta) * Xi;
  // END SOLUTION
}

MatD q_sample(const MatD& X0, double alpha_bar, const MatD& Eps) {
  // BEGIN SOLUTION
  // HINT: the same form as one forward step, with alpha_bar_t in place of alpha_t.
  return std::sqrt(alpha_bar) * X0 + std::sqrt(1.0 - alpha_bar) * Eps;
  // END SOLUTION
}

PosteriorCoefficients posterior_coefficients(const NoiseSchedule& s, int t) {
  // BEGIN SOLUTION
  // HINT: step t is entry t - 1 of each vector; alpha_bar_{t-1} is 1 when t = 1.
  const double beta = s.beta(t - 1), alpha = s.alpha(t - 1), ab = s.alpha_bar(t - 1);
  const double ab_prev = t > 1 ? s.alpha_bar(t - 2) : 1.0;
  PosteriorCoefficients c;
  c.x0 = std::sqrt(ab_prev) * beta / (1.0 - ab);
  c.xt = std::sqrt(alpha) * (1.0 - ab_prev) / (1.0 - ab);
  c.variance = (1.0 - ab_prev) / (1.0 - ab) * beta;
  return c;
  // END SOLUTION
}

MatD mean_from_eps(const MatD& Xt, const MatD& EpsHat, const NoiseSchedule& s, int t) {
  // BEGIN SOLUTION
  // HINT: substitute x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t) into eq. 14.4.
  const double beta = s.beta(t - 1), alpha = s.alpha(t - 1), ab = s.alpha_bar(t - 1);
  return (Xt - beta / std::sqrt(1.0 - ab) * EpsHat) / std::sqrt(alpha);
  // END SOLUTION
}

MatD score_from_eps(const MatD& EpsHat, double alpha_bar) {
  // BEGIN SOLUTION
  // HINT: x_t given x_0 has standard deviation sqrt(1 - alpha_bar_t) (eq. 14.3).
  return -EpsHat / std::sqrt(1.0 - alpha_bar);
  // END SOLUTION
}

MatD reverse_step(const MatD& Xt, const MatD& EpsHat, const NoiseSchedule& s, int t, const MatD& Xi) {
  // BEGIN SOLUTION
  // HINT: call mean_from_eps and posterior_coefficients; Xi has standard deviation 1.
  return mean_from_eps(Xt, EpsHat, s, t) + std::sqrt(posterior_coefficients(s, t).variance) * Xi;
  // END SOLUTION
}

}  // namespace course::ch14
