// Data made by the course itself: sprites with known factors, 2-D toy sets, minibatches.
#include <cmath>
#include <numbers>

#include "course/data.hpp"

namespace course {

// =============================================================================================
// Sprites
// =============================================================================================

void render_sprite(int shape, double scale, double rotation_deg, double x, double y, std::uint8_t* out) {
  constexpr int side = 28, sub = 4;
  const double r = 6.0 * scale;               // half-size in pixels
  const double cx = 14.0 + 10.0 * x, cy = 14.0 + 10.0 * y;
  const double th = rotation_deg * std::numbers::pi / 180.0;
  const double c = std::cos(th), s = std::sin(th), sq3 = std::sqrt(3.0);
  auto inside = [&](double px, double py) {
    // Into the shape's own frame: rotate by -theta about the centre; v points up.
    const double dx = px - cx, dy = cy - py;
    const double u = c * dx + s * dy, v = -s * dx + c * dy;
    switch (shape) {
      case 0: return std::abs(u) <= r && std::abs(v) <= r;                                  // square
      case 1: return (u * u) / (r * r) + (v * v) / (0.36 * r * r) <= 1.0;  // ellipse
      default: return v >= -0.5 * r && sq3 * u + v <= r && -sq3 * u + v <= r;               // triangle
    }
  };
  for (int i = 0; i < side; ++i)
    for (int j = 0; j < side; ++j) {
      int hits = 0;
      for (int a = 0; a < sub; ++a)
        for (int b = 0; b < sub; ++b) hits += inside(j + (b + 0.5) / sub, i + (a + 0.5) / sub);
      out[i * side + j] = std::uint8_t(std::lround(255.0 * hits / (sub * sub)));
    }
}

ImageSet make_sprites(Index n, std::uint64_t seed) {
  ImageSet set;
  set.name = "sprites";
  set.rows = set.cols = 28;
  set.pixels.resize(std::size_t(n) * 784);
  set.labels.resize(std::size_t(n));
  set.class_names = {"square", "ellipse", "triangle"};
  set.factor_names = {"shape", "scale", "rotation", "x", "y"};
  set.factors.resize(n, 5);
  Rng rng(seed);
  for (Index k = 0; k < n; ++k) {
    const int shape = int(rng.below(3));
    const double scale = rng.uniform(0.5, 1.0), rot = rng.uniform(0.0, 90.0);
    const double x = rng.uniform(-0.5, 0.5), y = rng.uniform(-0.5, 0.5);
    set.factors.row(k) << shape, scale, rot, x, y;
    set.labels[std::size_t(k)] = std::uint8_t(shape);
    render_sprite(shape, scale, rot, x, y, set.pixels.data() + k * 784);
  }
  return set;
}

// =============================================================================================
// 2-D toy sets
// =============================================================================================

GaussianMixture2D GaussianMixture2D::ring(int count, double radius, double var) {
  GaussianMixture2D g;
  for (int c = 0; c < count; ++c) {
    const double a = 2.0 * std::numbers::pi * c / count;
    g.weights.push_back(1.0 / count);
    g.means.emplace_back(radius * std::cos(a), radius * std::sin(a));
    g.variances.push_back(var);
  }
  return g;
}

MatD GaussianMixture2D::sample(Index n, Rng& rng, std::vector<int>* labels) const {
  MatD X(2, n);
  if (labels) labels->resize(std::size_t(n));
  for (Index i = 0; i < n; ++i) {
    double u = rng.uniform(), acc = 0.0;
    std::size_t c = 0;
    for (; c + 1 < weights.size(); ++c) {
      acc += weights[c];
      if (u < acc) break;
    }
    const double sd = std::sqrt(variances[c]);
    X(0, i) = means[c].x() + sd * rng.normal();
    X(1, i) = means[c].y() + sd * rng.normal();
    if (labels) (*labels)[std::size_t(i)] = int(c);
  }
  return X;
}

double GaussianMixture2D::log_density(const Eigen::Vector2d& x, double extra_var) const {
  // log sum_c w_c N(x; m_c, (v_c + s) I), by log-sum-exp.
  std::vector<double> terms;
  double mx = -INFINITY;
  for (std::size_t c = 0; c < weights.size(); ++c) {
    const double v = variances[c] + extra_var;
    const double t = std::log(weights[c]) - std::log(2.0 * std::numbers::pi * v) - (x - means[c]).squaredNorm() / (2.0 * v);
    terms.push_back(t);
    mx = std::max(mx, t);
  }
  double s = 0.0;
  for (double t : terms) s += std::exp(t - mx);
  return mx + std::log(s);
}

Eigen::Vector2d GaussianMixture2D::score(const Eigen::Vector2d& x, double extra_var) const {
  // grad log p = sum_c r_c(x) (m_c - x) / (v_c + s), with responsibilities r_c.
  const double lp = log_density(x, extra_var);
  Eigen::Vector2d g = Eigen::Vector2d::Zero();
  for (std::size_t c = 0; c < weights.size(); ++c) {
    const double v = variances[c] + extra_var;
    const double lt = std::log(weights[c]) - std::log(2.0 * std::numbers::pi * v) - (x - means[c]).squaredNorm() / (2.0 * v);
    g += std::exp(lt - lp) * (means[c] - x) / v;
  }
  return g;
}

MatD make_two_moons(Index n, double noise, Rng& rng, std::vector<int>* labels) {
  MatD X(2, n);
  if (labels) labels->resize(std::size_t(n));
  for (Index i = 0; i < n; ++i) {
    const int c = int(i % 2);
    const double t = std::numbers::pi * rng.uniform();
    X(0, i) = c == 0 ? std::cos(t) : 1.0 - std::cos(t);
    X(1, i) = c == 0 ? std::sin(t) : 0.5 - std::sin(t);
    X(0, i) += noise * rng.normal();
    X(1, i) += noise * rng.normal();
    if (labels) (*labels)[std::size_t(i)] = c;
  }
  return X;
}

// =============================================================================================
// Minibatches
// =============================================================================================

Minibatches::Minibatches(Index n, Index batch_size, Rng& rng) : order_(std::size_t(n)), batch_(batch_size) {
  for (Index i = 0; i < n; ++i) order_[std::size_t(i)] = i;
  rng.shuffle(order_);
}

}  // namespace course
