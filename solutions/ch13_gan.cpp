// Reference solutions of chapter 13. The exercises in exercises/ are generated from this file by
// ./course release: each BEGIN/END SOLUTION region becomes its HINT lines and a NotImplemented throw.
#include "course/exercises/ch13_gan.hpp"

#include <cmath>
#include <limits>

#include "course/error.hpp"
#include "course/nn.hpp"

namespace course::ch13 {

DiscriminatorLoss discriminator_loss(const VecD& real, const VecD& fake) {
  // BEGIN SOLUTION
  // HINT: -log D = softplus(-a) and -log(1 - D) = softplus(a); d/da softplus(a) = sigmoid(a).
  DiscriminatorLoss out;
  const double n = double(real.size()), m = double(fake.size());
  out.d_real.resize(real.size());
  out.d_fake.resize(fake.size());
  for (Index i = 0; i < real.size(); ++i) {
    out.loss += nn::softplus(-real(i)) / n;
    out.d_real(i) = -nn::sigmoid(-real(i)) / n;
  }
  for (Index j = 0; j < fake.size(); ++j) {
    out.loss += nn::softplus(fake(j)) / m;
    out.d_fake(j) = nn::sigmoid(fake(j)) / m;
  }
  return out;
  // END SOLUTION
}

GeneratorLoss generator_loss_nonsaturating(const VecD& fake) {
  // BEGIN SOLUTION
  // HINT: the same term as the discriminator's real half, applied to the fakes.
  GeneratorLoss out;
  const double m = double(fake.size());
  out.grad.resize(fake.size());
  for (Index j = 0; j < fake.size(); ++j) {
    out.loss += nn::softplus(-fake(j)) / m;
    out.grad(j) = -nn::sigmoid(-fake(j)) / m;
  }
  return out;
  // END SOLUTION
}

GeneratorLoss generator_loss_minimax(const VecD& fake) {
  // BEGIN SOLUTION
  // HINT: log(1 - sigmoid(a)) = -softplus(a); its derivative is -sigmoid(a) = -D.
  GeneratorLoss out;
  const double m = double(fake.size());
  out.grad.resize(fake.size());
  for (Index j = 0; j < fake.size(); ++j) {
    out.loss -= nn::softplus(fake(j)) / m;
    out.grad(j) = -nn::sigmoid(fake(j)) / m;
  }
  return out;
  // END SOLUTION
}

VecD optimal_discriminator(const VecD& q, const VecD& p) {
  // BEGIN SOLUTION
  // HINT: maximise q log D + p log(1 - D) over D in (0, 1) at each x separately.
  VecD d(q.size());
  for (Index i = 0; i < q.size(); ++i) d(i) = q(i) + p(i) > 0.0 ? q(i) / (q(i) + p(i)) : 0.5;
  return d;
  // END SOLUTION
}

double jsd(const VecD& p, const VecD& q) {
  // BEGIN SOLUTION
  // HINT: sum only over the entries where the distribution in front of the log is positive.
  double total = 0.0;
  for (Index i = 0; i < p.size(); ++i) {
    const double m = 0.5 * (p(i) + q(i));
    if (p(i) > 0.0) total += 0.5 * p(i) * std::log(p(i) / m);
    if (q(i) > 0.0) total += 0.5 * q(i) * std::log(q(i) / m);
  }
  return total;
  // END SOLUTION
}

VecD samples_per_mode(const MatD& X, const MatD& modes, double radius) {
  // BEGIN SOLUTION
  // HINT: compare squared distances with radius * radius.
  VecD counts = VecD::Zero(modes.cols());
  for (Index j = 0; j < X.cols(); ++j) {
    Index best = 0;
    double best_d2 = std::numeric_limits<double>::infinity();
    for (Index k = 0; k < modes.cols(); ++k) {
      const double d2 = (X.col(j) - modes.col(k)).squaredNorm();
      if (d2 < best_d2) {
        best_d2 = d2;
        best = k;
      }
    }
    if (best_d2 < radius * radius) counts(best) += 1.0;
  }
  return counts;
  // END SOLUTION
}

}  // namespace course::ch13
