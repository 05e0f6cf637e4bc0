// The checks of the convolutional VQ-VAE and its prior (grid_checks.hpp).
#include "10_vq_vae/grid_checks.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "10_vq_vae/checks.hpp"
#include "course/nn.hpp"

namespace course::ch10 {

namespace {
using LD = long double;
using MatL = Mat<LD>;

GridConfig small_config() {
  GridConfig c;
  c.height = 8, c.width = 8, c.channels = 3, c.dim = 3, c.codes = 5, c.beta = 0.25;
  return c;
}
bool away_from_kinks(const MatD& A, double margin) { return A.size() == 0 || A.cwiseAbs().minCoeff() > margin; }

// The code vectors of an encoder output (D P x B) in long double, D x (P B).
MatL vectors_ld(const MatL& Z, Index D) {
  const Index P = Z.rows() / D, B = Z.cols();
  MatL V(D, P * B);
  for (Index b = 0; b < B; ++b) V.middleCols(b * P, P) = Eigen::Map<const MatL>(Z.col(b).data(), P, D).transpose();
  return V;
}
MatL images_ld(const MatL& V, Index D, Index B) {
  const Index P = V.cols() / B;
  MatL Z(D * P, B);
  for (Index b = 0; b < B; ++b) Eigen::Map<MatL>(Z.col(b).data(), P, D) = V.middleCols(b * P, P).transpose();
  return Z;
}
using UsageFn = std::function<CodebookUsage(const std::vector<Index>&, Index)>;
}  // namespace

long double conv_vq_surrogate_loss_ld(SmallConvVq& s);

SmallConvVq small_conv_vq_vae(std::uint64_t seed) {
  const GridConfig c = small_config();
  const Index B = 2;
  for (;; ++seed) {
    Rng rng(seed), shadow_rng(seed);
    SmallConvVq s{ConvVqVae<double>(c, rng), ConvVqVae<long double>(c, shadow_rng), MatD(), {}, MatD(), MatD(), MatD()};
    s.X = rng.uniform_matrix<double>(c.height * c.width, B, 0.0, 1.0);
    // Codebook entries near the encoder's outputs, so several codes are chosen.
    const MatD Z0 = grid_vectors(s.model.encoder.forward(s.X), c.dim);
    for (Index k = 0; k < c.codes; ++k) s.model.codebook.E.col(k) = Z0.col(k % Z0.cols()) + 0.05 * rng.normal_matrix<double>(c.dim, 1);
    s.Ze = Z0;
    s.codes = nearest_by_brute_force(s.Ze, s.model.codebook.E);
    s.E = s.model.codebook.E;
    s.offset = quantise(s.E, s.codes) - s.Ze;
    s.model.decoder.forward(grid_images<double>(quantise(s.E, s.codes), c.dim, B));
    const bool ok = away_from_kinks(s.model.encoder.activation(1), 1e-3) && away_from_kinks(s.model.encoder.activation(3), 1e-3) &&
                    away_from_kinks(s.model.decoder.activation(1), 1e-3);
    if (!ok) continue;
    s.base = 0;
    s.base = conv_vq_surrogate_loss_ld(s);
    return s;
  }
}

long double conv_vq_surrogate_loss_ld(SmallConvVq& s) {
  // The shadow network takes the double model's current parameters (the check perturbs those).
  const auto from = s.model.parameters();
  const auto to = s.shadow.parameters();
  for (std::size_t i = 0; i < from.size(); ++i) to[i].v() = from[i].v().template cast<LD>();
  const Index D = s.model.D(), B = s.X.cols(), N = s.Ze.cols();
  const MatL X = s.X.cast<LD>();
  const MatL ze = vectors_ld(s.shadow.encoder.forward(X), D);
  const MatL zq = ze + s.offset.cast<LD>();  // z_e + sg[e_k - z_e]
  const MatL logits = s.shadow.decoder.forward(images_ld(zq, D, B));
  LD codebook = 0, commitment = 0;
  for (Index n = 0; n < N; ++n) {
    const Index k = s.codes[std::size_t(n)];
    codebook += (s.Ze.col(n) - s.model.codebook.E.col(k)).cast<LD>().squaredNorm();  // sg[z_n] - e_k
    commitment += (ze.col(n) - s.E.col(k).cast<LD>()).squaredNorm();               // z_n - sg[e_k]
  }
  return nn::bce_with_logits_loss<LD>(logits, X) + (codebook + LD(s.model.config.beta) * commitment) / LD(B) - s.base;
}

double conv_vq_surrogate_loss(SmallConvVq& s) { return double(conv_vq_surrogate_loss_ld(s)); }

CheckRow check_eq_10_7_conv_whole_model(SmallConvVq& s, const VqGradientsFn& gradients) {
  const std::string claim = "conv VQ-VAE: d(loss with sg)/d(every conv, conv-transpose and code parameter) vs central differences";
  s.model.zero_grad();
  try {
    s.model.forward_backward(s.X, gradients);
  } catch (const std::invalid_argument& e) {
    return failed_row("10.7", claim, "gradient", e.what());
  }
  std::vector<GradBlock> blocks;
  for (const auto& p : s.model.parameters()) blocks.push_back({p.name, p.value, p.grad, p.size, 1});
  blocks.push_back(grad_block("e", s.model.codebook.E, s.model.dE));
  return check_gradient("10.7", claim, [&] { return conv_vq_surrogate_loss(s); }, blocks);
}

SmallPrior small_prior(const PriorMasks& masks, std::uint64_t seed) {
  PriorConfig c;
  c.codes = 5, c.height = 4, c.width = 4, c.embed = 3, c.channels = 4;
  Rng rng(seed);
  SmallPrior s{GridPrior<double>(c, rng, masks), {}, 3, masks};
  // Larger weights than the initialisation's, so every conditional is far from uniform.
  for (auto& p : s.prior.net.parameters()) p.v() *= 3.0;
  for (Index i = 0; i < s.grids * s.prior.positions(); ++i) s.codes.push_back(Index(rng.below(std::uint64_t(c.codes))));
  return s;
}

CheckRow check_eq_10_8_chain_rule(SmallPrior& s, const std::function<double(const MatD&, const std::vector<Index>&)>& loglik) {
  const std::string claim = "log p(grid) in one pass = sum_q log p(k_q | k_<q), each from its own pass (3 grids of 4x4, K = 5)";
  const Index P = s.prior.positions(), K = s.prior.K();
  Rng rng(1081);
  double one_pass = 0.0, chain = 0.0;
  const MatD out = s.prior.forward(s.codes, s.grids);
  for (Index b = 0; b < s.grids; ++b) {
    const std::vector<Index> grid(s.codes.begin() + b * P, s.codes.begin() + (b + 1) * P);
    one_pass += loglik(GridPrior<double>::logits_of(out, b, K, P), grid);
    for (Index q = 0; q < P; ++q) {
      std::vector<Index> masked = grid;
      for (Index j = q; j < P; ++j) masked[std::size_t(j)] = Index(rng.below(std::uint64_t(K)));
      const VecD a = GridPrior<double>::logits_of(s.prior.forward(masked, 1), 0, K, P).col(q);
      const double m = a.maxCoeff();
      chain += a(grid[std::size_t(q)]) - m - std::log((a.array() - m).exp().sum());
    }
  }
  return check_identity("10.8", claim, one_pass, chain);
}

CheckRow check_eq_10_8_normalised(SmallPrior& s, const std::function<double(const MatD&, const std::vector<Index>&)>& loglik) {
  const std::string claim = "sum over the K codes of p(k | k_<q) = 1 at every position (grid_log_likelihood on one position)";
  const Index P = s.prior.positions(), K = s.prior.K();
  const MatD logits = GridPrior<double>::logits_of(s.prior.forward(s.codes, s.grids), 0, K, P);
  double worst = 0.0, at = 1.0;
  for (Index q = 0; q < P; ++q) {
    double total = 0.0;
    for (Index k = 0; k < K; ++k) total += std::exp(loglik(logits.col(q), {k}));
    if (!(std::abs(total - 1.0) <= worst)) worst = std::abs(total - 1.0), at = total;
  }
  return check_identity("10.8", claim, 1.0, at);
}

CheckRow check_eq_10_8_prior_gradient(SmallPrior& s, const PriorBackwardFn& backward) {
  const std::string claim = "prior: d(-mean log p(grid))/d(every parameter) vs central differences (3 grids of 4x4, K = 5)";
  const Index P = s.prior.positions(), K = s.prior.K();
  // The loss is evaluated in long double by a shadow prior holding the double prior's current
  // parameters, minus its value at the checked point: in double the rounding of a loss of ~8
  // (1e-15) over a step of 2e-5 would put ~1e-10 into every central difference, the size of the
  // smallest gradients here.
  Rng shadow_rng(1);
  GridPrior<LD> shadow(s.prior.config, shadow_rng, s.masks);
  auto loss_ld = [&] {
    const auto from = s.prior.net.parameters();
    const auto to = shadow.net.parameters();
    for (std::size_t i = 0; i < from.size(); ++i) to[i].v() = from[i].v().template cast<LD>();
    const MatL out = shadow.forward(s.codes, s.grids);
    LD total = 0;
    for (Index b = 0; b < s.grids; ++b)
      for (Index q = 0; q < P; ++q) {
        // Column b is K x P channel-major: the logit of code k at position q is row k P + q.
        LD m = out(q, b);
        for (Index k = 1; k < K; ++k) m = std::max(m, out(k * P + q, b));
        LD z = 0;
        for (Index k = 0; k < K; ++k) z += std::exp(out(k * P + q, b) - m);
        total -= out(s.codes[std::size_t(b * P + q)] * P + q, b) - m - std::log(z);
      }
    return total / LD(s.grids);
  };
  const LD base = loss_ld();
  auto loss = [&] { return double(loss_ld() - base); };
  auto params = s.prior.net.parameters();
  for (auto& p : params) p.g().setZero();
  backward(s.prior, s.codes, s.grids);
  std::vector<GradBlock> blocks;
  for (const auto& p : params) blocks.push_back({p.name, p.value, p.grad, p.size, 1});
  return check_gradient("10.8", claim, loss, blocks);
}

CheckRow check_eq_10_9_causal(SmallPrior& s) {
  const std::string claim = "changing the code at position j never changes the logits at positions <= j (largest change)";
  const Index P = s.prior.positions(), K = s.prior.K();
  const std::vector<Index> grid(s.codes.begin(), s.codes.begin() + P);
  const MatD base = GridPrior<double>::logits_of(s.prior.forward(grid, 1), 0, K, P);
  double worst = 0.0;
  for (Index j = 0; j < P; ++j)
    for (Index other = 1; other < K; ++other) {
      std::vector<Index> changed = grid;
      changed[std::size_t(j)] = (grid[std::size_t(j)] + other) % K;
      const MatD out = GridPrior<double>::logits_of(s.prior.forward(changed, 1), 0, K, P);
      const double d = (out.leftCols(j + 1) - base.leftCols(j + 1)).cwiseAbs().maxCoeff();
      if (!(d <= worst)) worst = d;  // a NaN is kept
    }
  CheckRow r = check_identity("10.9", claim, 0.0, worst, 0.0);
  r.kind = "identity (exact)";
  return r;
}

CheckRow check_eq_10_10_uniform(Index K, const UsageFn& usage) {
  std::vector<Index> codes;
  for (int rep = 0; rep < 3; ++rep)
    for (Index k = 0; k < K; ++k) codes.push_back(k);
  const CodebookUsage u = usage(codes, K);
  const double err = std::abs(u.entropy_bits - std::log2(double(K))) + std::abs(u.perplexity - double(K)) + double(u.dead != 0) +
                     (u.counts.size() == K ? (u.counts.array() - 3.0).abs().sum() : 1.0);
  return check_row("10.10", "K = " + std::to_string(K) + " codes used equally: H = log2 K bits, perplexity K, no dead code, counts 3",
                   "identity", std::log2(double(K)), u.entropy_bits, err, 1e-12);
}

CheckRow check_eq_10_10_one_code(Index K, const UsageFn& usage) {
  const CodebookUsage u = usage(std::vector<Index>(7, K - 1), K);
  const double err = std::abs(u.entropy_bits) + std::abs(u.perplexity - 1.0) + double(u.dead != K - 1);
  return check_row("10.10", "one code used 7 times: H = 0, perplexity 1, K - 1 dead codes", "identity", 1.0, u.perplexity, err, 1e-12);
}

CheckRow check_eq_10_10_skewed(std::uint64_t seed, const UsageFn& usage) {
  const Index K = 8;
  Rng rng(seed);
  std::vector<Index> codes;
  VecD counts = VecD::Zero(K);
  for (int n = 0; n < 200; ++n) {
    const Index k = Index(std::min<double>(double(K - 1), std::floor(-std::log(rng.uniform()) * 2.0)));  // skewed, some unused
    codes.push_back(k);
    counts(k) += 1.0;
  }
  double h = 0.0;
  Index dead = 0;
  for (Index k = 0; k < K; ++k) {
    if (counts(k) == 0) { ++dead; continue; }
    h -= counts(k) / 200.0 * std::log2(counts(k) / 200.0);
  }
  const CodebookUsage u = usage(codes, K);
  const double err = std::abs(u.entropy_bits - h) + std::abs(u.perplexity - std::exp2(h)) + double(u.dead != dead);
  return check_row("10.10", "200 skewed codes, K = 8: entropy (bits), perplexity 2^H and dead codes against a direct sum", "identity", h,
                   u.entropy_bits, err, 1e-12);
}

CheckRow check_eq_10_11_kl_one_hot(Index K) {
  // q = one-hot on code 0: KL(q || u) = sum_k q_k log(q_k / (1/K)) with 0 log 0 = 0.
  double kl = 0.0;
  for (Index k = 0; k < K; ++k) {
    const double q = k == 0 ? 1.0 : 0.0;
    if (q > 0) kl += q * std::log(q * double(K));
  }
  return check_identity("10.11", "KL(one-hot q || uniform over K = " + std::to_string(K) + ") = log K: the same for every x", std::log(double(K)), kl);
}

std::vector<CheckRow> grid_checks() {
  std::vector<CheckRow> rows;
  SmallConvVq vq = small_conv_vq_vae();
  rows.push_back(check_eq_10_7_conv_whole_model(vq));
  SmallPrior prior = small_prior();
  rows.push_back(check_eq_10_8_chain_rule(prior));
  rows.push_back(check_eq_10_8_normalised(prior));
  rows.push_back(check_eq_10_8_prior_gradient(prior));
  rows.push_back(check_eq_10_9_causal(prior));
  rows.push_back(check_eq_10_10_uniform(128));
  rows.push_back(check_eq_10_10_one_code(128));
  rows.push_back(check_eq_10_10_skewed());
  rows.push_back(check_eq_10_11_kl_one_hot(128));
  return rows;
}

}  // namespace course::ch10
