// The bodies of 12_cvae_discrete/network_checks.hpp's checks.
#include "12_cvae_discrete/network_checks.hpp"

#include <algorithm>
#include <cmath>

#include "12_cvae_discrete/model.hpp"

namespace course::ch12 {

namespace {

// True when every hidden pre-activation (the output of each Sequential's first layer) is at least
// `margin` away from 0, so that central differences do not straddle a ReLU kink.
bool away_from_kinks(const nn::Sequential<double>& net, double margin) {
  return net.activation(1).cwiseAbs().minCoeff() >= margin;
}

// The numeric side evaluates the loss in long double: the loss is ~10 (a sum over 12 pixels), so in
// double its rounding error (~1e-15) divided by 2h = 2e-5 is ~1e-10, the size of the harness's
// absolute floor for gradients below 1e-4. `wide` is a long-double copy of the model; its
// parameters are overwritten from the double ones before each evaluation, so the perturbed
// coordinate reaches it. The harness takes the loss as a double, and rounding a loss of ~10 to
// double would bring the 1e-15 back: the loss is returned minus its value at the unperturbed point
// (computed in long double), a number of order h that double holds to 1e-16 of itself. Central
// differences see the same differences. (Measured on the discrete VAE: the worst error was 8e-7
// of the 1e-6 tolerance with the plain cast, growing as 1/h, a rounding error; 9e-10 with this, and 8e-11 on the CVAE.)
template <class Wide>
void copy_parameters(std::vector<Param<double>> from, Wide& wide) {
  const std::vector<Param<long double>> to = wide.parameters();
  for (std::size_t k = 0; k < from.size(); ++k)
    for (Index i = 0; i < from[k].size; ++i) to[k].value[i] = (long double)from[k].value[i];
}

// The check itself: perturb each coordinate of each parameter block, re-run `loss`.
CheckRow gradient_rows(const std::string& id, const std::string& claim, std::vector<Param<double>> params,
                       const NetworkGradient& g, const std::function<double()>& loss) {
  std::vector<GradBlock> blocks;
  for (std::size_t k = 0; k < params.size(); ++k) {
    if (k >= g.blocks.size() || g.blocks[k].size() != params[k].size)
      return check_row(id, claim + " (a gradient block of the wrong size)", "gradient", NAN, NAN, INFINITY, 0.0);
    blocks.push_back({params[k].name, params[k].value, g.blocks[k].data(), params[k].size, 1});
  }
  return check_gradient(id, claim, loss, blocks);
}

}  // namespace

NetworkGradient gradient_of(const std::vector<Param<double>>& params) {
  NetworkGradient g;
  for (const Param<double>& p : params) {
    g.names.push_back(p.name);
    g.blocks.push_back(Eigen::Map<const VecD>(p.grad, p.size));
  }
  return g;
}

SmallCvae small_cvae(std::uint64_t seed) {
  for (std::uint64_t attempt = 0;; ++attempt) {
    Rng rng(seed + attempt, 21);
    CvaeConfig c;
    c.input = 12;
    c.classes = 3;
    c.hidden = 7;
    c.latent = 3;
    SmallCvae s{Cvae<double>(c, rng), rng.uniform_matrix<double>(12, 5, 0.0, 1.0), MatD::Zero(3, 5),
                rng.normal_matrix<double>(3, 5)};
    for (Index j = 0; j < 5; ++j) s.Y(Index(rng.below(3)), j) = 1.0;
    s.model.forward(s.X, s.Y, s.eps);
    if (away_from_kinks(s.model.encoder, 0.01) && away_from_kinks(s.model.decoder, 0.01)) return s;
  }
}

NetworkGradient cvae_gradient(SmallCvae& s) {
  s.model.zero_grad();
  s.model.forward(s.X, s.Y, s.eps);
  s.model.backward();
  return gradient_of(s.model.parameters());
}

CheckRow check_eq_12_2_cvae_gradient(SmallCvae& s, const NetworkGradient& g) {
  Rng unused(0);
  Cvae<long double> wide(s.model.config, unused);
  const Mat<long double> X = s.X.cast<long double>(), Y = s.Y.cast<long double>(), eps = s.eps.cast<long double>();
  copy_parameters(s.model.parameters(), wide);
  const long double base = wide.forward(X, Y, eps);
  return gradient_rows("12.2", "CVAE batch loss: every parameter's gradient vs central differences", s.model.parameters(), g,
                       [&] {
                         copy_parameters(s.model.parameters(), wide);
                         return double(wide.forward(X, Y, eps) - base);
                       });
}

SmallDvae small_dvae(std::uint64_t seed) {
  for (std::uint64_t attempt = 0;; ++attempt) {
    Rng rng(seed + attempt, 22);
    DvaeConfig c;
    c.input = 12;
    c.hidden = 7;
    c.groups = 3;
    c.classes = 4;
    SmallDvae s{Dvae<double>(c, rng), rng.uniform_matrix<double>(12, 5, 0.0, 1.0), MatD(12, 5)};
    for (Index j = 0; j < 5; ++j) s.G.col(j) = gumbel_noise(12, rng);
    s.model.forward(s.X, s.G, s.tau);
    if (away_from_kinks(s.model.encoder, 0.01) && away_from_kinks(s.model.decoder, 0.01)) return s;
  }
}

NetworkGradient dvae_gradient(SmallDvae& s) {
  s.model.zero_grad();
  s.model.forward(s.X, s.G, s.tau);
  s.model.backward();
  return gradient_of(s.model.parameters());
}

CheckRow check_eq_12_10_dvae_gradient(SmallDvae& s, const NetworkGradient& g) {
  Rng unused(0);
  Dvae<long double> wide(s.model.config, unused);
  const Mat<long double> X = s.X.cast<long double>(), G = s.G.cast<long double>();
  copy_parameters(s.model.parameters(), wide);
  const long double base = wide.forward(X, G, (long double)s.tau);
  return gradient_rows("12.10", "Gumbel-softmax VAE batch loss (relaxed, tau = 0.7): every parameter's gradient vs central differences",
                       s.model.parameters(), g, [&] {
                         copy_parameters(s.model.parameters(), wide);
                         return double(wide.forward(X, G, (long double)s.tau) - base);
                       });
}

CheckRow check_eq_12_6_network_kl(SmallDvae& s, const NetworkKl& kl) {
  Dvae<double>& m = s.model;
  m.encode(s.X);
  const MatD Theta = m.Theta;
  const VecD network = kl ? kl(m, Theta) : m.kl_to_uniform(Theta);
  const MatD Q = m.posterior();
  const Index K = m.config.classes, N = m.config.groups;
  double worst = -1.0, lhs = NAN, rhs = NAN;
  for (Index j = 0; j < Theta.cols(); ++j) {
    const MatD Qj = Eigen::Map<const MatD>(Q.col(j).data(), K, N);  // column n = group n
    const double exact = categorical_kl_to_uniform(Qj);
    const double err = std::abs(network(j) - exact) / std::max({1.0, std::abs(exact), std::abs(network(j))});
    if (!(err <= worst)) {  // a NaN sticks
      worst = err;
      lhs = network(j);
      rhs = exact;
    }
    if (std::isnan(err)) break;
  }
  return check_identity("12.6", "network's KL(q || uniform) from the logits = exercise 12.5 of softmax(a), " +
                                    std::to_string(N) + " groups of " + std::to_string(K),
                        lhs, rhs);
}

MatD gumbel_noise_matrix(Index rows, Index cols, Rng& rng) {
  MatD G(rows, cols);
  for (Index j = 0; j < cols; ++j) G.col(j) = gumbel_noise(rows, rng);
  return G;
}

CheckRow check_eq_12_3_discrete_elbo_unbiased(SmallDvae& s, const CodeNoise& noise, Index n, std::uint64_t seed) {
  Dvae<double>& m = s.model;
  const Index K = m.config.classes, N = m.config.groups;
  const VecD x = s.X.col(0);
  // Exact: every code, its probability under q and its log p(x | z).
  m.encode(MatD(x));
  const double kl = m.kl_to_uniform(m.Theta)(0);
  const VecD q = m.posterior().col(0);
  Index codes = 1;
  for (Index g = 0; g < N; ++g) codes *= K;
  MatD Code = MatD::Zero(N * K, codes);
  VecD prob(codes);
  for (Index c = 0; c < codes; ++c) {
    double p = 1.0;
    for (Index g = 0, rest = c; g < N; ++g, rest /= K) {
      Code(g * K + rest % K, c) = 1.0;
      p *= q(g * K + rest % K);
    }
    prob(c) = p;
  }
  const MatD A = m.decode(Code);
  VecD rec;
  MatD unused;
  bernoulli_loss_columns(A, MatD(x.replicate(1, codes)), rec, unused);
  const double exact = -prob.dot(rec) - kl;
  // Monte Carlo: n independent draws of g, each column of one batch.
  Rng rng(seed, 0);
  const MatD G = noise(N * K, n, rng);
  const VecD draws = m.discrete_elbo(MatD(x.replicate(1, n)), G);
  McEstimate e;
  e.n = n;
  e.seed = seed;
  e.mean = draws.mean();
  e.sd = std::sqrt((draws.array() - e.mean).square().sum() / double(n - 1));
  e.se = e.sd / std::sqrt(double(n));
  return check_monte_carlo("12.3", "network's discrete ELBO with z = one_hot(argmax(a + g)) is unbiased: exact sum over all " +
                                       std::to_string(codes) + " codes vs mean of draws",
                           exact, e);
}

}  // namespace course::ch12
