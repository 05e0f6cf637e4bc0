// Numerical quadrature for the 1-D and 2-D checks: the composite Gauss-Legendre rule.
//
// An n-point Gauss-Legendre rule integrates polynomials of degree 2n - 1 exactly; on a panel of
// width h its error for a smooth f is O(h^(2n) f^(2n)). The integrands of this chapter are a
// Gaussian density times a polynomial of degree <= 2 (or a log-ratio of two Gaussians): they are
// entire functions that vary on the scale of the standard deviation s. We integrate over
// centre +- 40 s (the mass outside is 2 Phi(-40) ~ 1e-350, i.e. zero in double) on panels of width
// s / 2 with n = 10 points, and estimate the error as the change when the panels are halved.
// For these integrands that estimate is at the level of rounding, ~1e-16 relative.
#pragma once

#include <cmath>
#include <numbers>
#include <vector>

#include "course/types.hpp"

namespace course::ch06 {

// Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1], by Newton's method on the
// Legendre polynomial P_n from the guesses cos(pi (i + 3/4) / (n + 1/2)).
struct GaussLegendre {
  std::vector<double> x, w;
  explicit GaussLegendre(int n = 10) : x(std::size_t(n)), w(std::size_t(n)) {
    for (int i = 0; i < n; ++i) {
      double t = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5)), dp = 0.0;
      for (int it = 0; it < 100; ++it) {
        // P_n(t) and P_n'(t) by the three-term recurrence (j+1) P_{j+1} = (2j+1) t P_j - j P_{j-1}.
        double p0 = 1.0, p1 = t;
        for (int j = 1; j < n; ++j) {
          const double p2 = ((2.0 * j + 1.0) * t * p1 - j * p0) / (j + 1.0);
          p0 = p1;
          p1 = p2;
        }
        dp = n * (t * p1 - p0) / (t * t - 1.0);
        const double step = p1 / dp;
        t -= step;
        if (std::abs(step) < 1e-16) break;
      }
      x[std::size_t(i)] = t;
      w[std::size_t(i)] = 2.0 / ((1.0 - t * t) * dp * dp);
    }
  }
};

// The integral of f over [a, b] by the composite rule on `panels` equal panels.
template <class F>
double integrate(const F& f, double a, double b, int panels, const GaussLegendre& rule = GaussLegendre()) {
  const double h = (b - a) / panels;
  double total = 0.0;
  for (int p = 0; p < panels; ++p) {
    const double mid = a + (p + 0.5) * h;
    double panel = 0.0;
    for (std::size_t i = 0; i < rule.x.size(); ++i) panel += rule.w[i] * f(mid + 0.5 * h * rule.x[i]);
    total += 0.5 * h * panel;
  }
  return total;
}

// An integral over the real line and its error estimate.
struct Quadrature {
  double value = 0.0;
  double error_estimate = 0.0;  // |Q(panels) - Q(panels / 2)|
};

// The integral over R of f, which lives on the scale `scale` around `centre` (a Gaussian integrand
// with standard deviation `scale`): centre +- 40 scale, 160 panels of width scale / 2.
template <class F>
Quadrature integrate_line(const F& f, double centre, double scale) {
  const GaussLegendre rule(10);
  const double a = centre - 40.0 * scale, b = centre + 40.0 * scale;
  const double fine = integrate(f, a, b, 160, rule), coarse = integrate(f, a, b, 80, rule);
  return {fine, std::abs(fine - coarse)};
}

// The integral of f(x, y) over the box [ax, bx] x [ay, by] by the tensor product of the composite
// rule (`panels` panels per axis).
template <class F>
double integrate_box(const F& f, double ax, double bx, double ay, double by, int panels,
                     const GaussLegendre& rule = GaussLegendre()) {
  return integrate([&](double x) { return integrate([&](double y) { return f(x, y); }, ay, by, panels, rule); },
                   ax, bx, panels, rule);
}

}  // namespace course::ch06
