// The bodies of 10_vq_vae/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "10_vq_vae/checks.hpp"

namespace course::ch10 {

std::vector<Index> nearest_by_brute_force(const MatD& Ze, const MatD& E) {
  std::vector<Index> codes(std::size_t(Ze.cols()));
  for (Index n = 0; n < Ze.cols(); ++n) {
    double best = std::numeric_limits<double>::infinity();
    for (Index j = 0; j < E.cols(); ++j) {
      const double d = (Ze.col(n) - E.col(j)).squaredNorm();
      if (d < best) best = d, codes[std::size_t(n)] = j;
    }
  }
  return codes;
}

VqProblem make_vq_problem(std::uint64_t seed) {
  VqProblem p;
  Rng rng(seed);
  p.Ze = rng.normal_matrix<double>(p.D, p.M * p.B);
  p.E = rng.normal_matrix<double>(p.D, p.K) * 1.2;  // codes of different norms
  p.codes = nearest_by_brute_force(p.Ze, p.E);
  p.decoder = nn::Linear<double>(p.M * p.D, p.pixels, rng);
  p.X = rng.uniform_matrix<double>(p.pixels, p.B, 0.0, 1.0);
  return p;
}

double quantisation_error(const MatD& Ze, const MatD& E, const std::vector<Index>& codes, Index images) {
  double s = 0.0;
  for (Index n = 0; n < Ze.cols(); ++n) s += (Ze.col(n) - E.col(codes[std::size_t(n)])).squaredNorm();
  return s / double(images);
}

double reconstruction_loss(const VqProblem& p, const MatD& Zq) {
  const MatD code = Eigen::Map<const MatD>(Zq.data(), p.M * p.D, p.B);
  return nn::bce_with_logits_loss<double>(p.decoder.forward(code), p.X);
}

MatD reconstruction_gradient(const VqProblem& p, const MatD& Zq) {
  const MatD code = Eigen::Map<const MatD>(Zq.data(), p.M * p.D, p.B);
  const MatD dLogits = nn::bce_with_logits_backward<double>(p.decoder.forward(code), p.X);
  const MatD dCode = p.decoder.W.transpose() * dLogits;  // M D x B
  return Eigen::Map<const MatD>(dCode.data(), p.D, p.M * p.B);
}

MatD quantise(const MatD& E, const std::vector<Index>& codes) {
  MatD Zq(E.rows(), Index(codes.size()));
  for (Index n = 0; n < Zq.cols(); ++n) Zq.col(n) = E.col(codes[std::size_t(n)]);
  return Zq;
}

CheckRow failed_row(const std::string& id, const std::string& claim, const std::string& kind,
                           const std::string& why) {
  CheckRow r = check_identity(id, claim, 0.0, NAN);
  r.kind = kind;
  r.detail = why;
  return r;
}

CheckRow check_eq_10_1_nearest(
    const VqProblem& p, const std::function<std::vector<Index>(const MatD&, const MatD&)>& assign) {
  const std::string claim = "k_n = argmin_j ||z_n - e_j||^2 (excess over the minimum)";
  const std::vector<Index> codes = assign(p.Ze, p.E);
  if (Index(codes.size()) != p.Ze.cols())
    return failed_row("10.1", claim, "bound", "returned " + std::to_string(codes.size()) + " codes for " +
                                                  std::to_string(p.Ze.cols()) + " vectors");
  double worst = 0.0;
  for (Index n = 0; n < p.Ze.cols(); ++n) {
    const Index k = codes[std::size_t(n)];
    if (k < 0 || k >= p.K) return failed_row("10.1", claim, "bound", "code index " + std::to_string(k) + " out of [0, K)");
    const double best = (p.E.colwise() - p.Ze.col(n)).colwise().squaredNorm().minCoeff();
    worst = std::max(worst, (p.Ze.col(n) - p.E.col(k)).squaredNorm() - best);
  }
  CheckRow r = check_bound("10.1", claim, worst, 0.0, 1e-12);
  r.detail = "largest excess of an assigned squared distance over the nearest one, N = " + std::to_string(p.Ze.cols());
  return r;
}

CheckRow check_eq_10_2_codebook_term(const VqProblem& p, const VqLoss& loss) {
  double s = 0.0;
  for (Index n = 0; n < p.Ze.cols(); ++n) s += (p.E.colwise() - p.Ze.col(n)).colwise().squaredNorm().minCoeff();
  return check_identity("10.2", "codebook term = (1/B) sum_n min_j ||z_n - e_j||^2", s / double(p.B), loss.codebook);
}

CheckRow check_eq_10_2_commitment_term(const VqProblem& p, const VqLoss& loss) {
  // Against an independent sum, not against the returned codebook term: a commitment computed as
  // beta times the codebook term would agree with it by construction, whatever both are.
  double s = 0.0;
  for (Index n = 0; n < p.Ze.cols(); ++n) s += (p.E.colwise() - p.Ze.col(n)).colwise().squaredNorm().minCoeff();
  return check_identity("10.2", "commitment term = (beta/B) sum_n min_j ||z_n - e_j||^2 (beta = 0.25)",
                        p.beta * s / double(p.B), loss.commitment);
}

CheckRow check_eq_10_3_encoder_gradient(const VqProblem& p, const MatD& dZe) {
  const std::string claim = "dL/dz_e = dRec/dz_q + 2 beta (z_e - e) / B vs central differences";
  try {
    require_same_shape(dZe, p.Ze, "dL/dz_e", "Ze");
  } catch (const std::invalid_argument& e) {
    return failed_row("10.3", claim, "gradient", std::string("wrong shape: ") + e.what());
  }
  MatD Ze = p.Ze;
  const MatD offset = quantise(p.E, p.codes) - p.Ze;  // sg[e_k - z_e], frozen at the checked point
  auto loss = [&] {
    return reconstruction_loss(p, Ze + offset) + p.beta * quantisation_error(Ze, p.E, p.codes, p.B);
  };
  return check_gradient("10.3", claim, loss, {grad_block("z_e", Ze, dZe)});
}

CheckRow check_eq_10_4_codebook_gradient(const VqProblem& p, const MatD& dE) {
  const std::string claim = "dL/de_k = sum_{n: k_n = k} 2 (e_k - z_n) / B vs central differences";
  try {
    require_same_shape(dE, p.E, "dL/de", "E");
  } catch (const std::invalid_argument& e) {
    return failed_row("10.4", claim, "gradient", std::string("wrong shape: ") + e.what());
  }
  MatD E = p.E;
  auto loss = [&] { return quantisation_error(p.Ze, E, p.codes, p.B); };
  return check_gradient("10.4", claim, loss, {grad_block("e", E, dE)});
}

namespace {
// Dense layer i of one of the VqVae's two MLPs (0: the hidden layer, 2: the output layer).
nn::Linear<double>& layer(nn::Sequential<double>& net, std::size_t i) { return net.at<nn::Linear<double>>(i); }
const nn::Linear<double>& layer(const nn::Sequential<double>& net, std::size_t i) { return net.at<nn::Linear<double>>(i); }
}  // namespace

SmallVqVae small_vq_vae(std::uint64_t seed) {
  const Index pixels = 8, images = 4;
  VqConfig c;
  c.hidden = 6, c.positions = 2, c.dim = 3, c.codes = 5;
  for (;; ++seed) {
    Rng rng(seed);
    SmallVqVae s{VqVae<double>(pixels, c, rng), rng.uniform_matrix<double>(pixels, images, 0.0, 1.0), 0.25, {}, {}, {}, {}};
    VqVae<double>& m = s.model;
    s.Ze = m.encode(s.X);
    // Codes on the scale of the encoder's outputs (the training initialisation U(-1/K, 1/K) would
    // send every vector to the code nearest the origin).
    const VecD centre = s.Ze.rowwise().mean();
    const double spread = std::sqrt((s.Ze.colwise() - centre).squaredNorm() / double(s.Ze.size()));
    m.codebook.E = (spread * rng.normal_matrix<double>(c.dim, c.codes)).colwise() + centre;
    s.E = m.codebook.E;
    s.codes = nearest_by_brute_force(s.Ze, s.E);
    s.offset = quantise(s.E, s.codes) - s.Ze;
    std::vector<bool> used(std::size_t(c.codes), false);
    for (Index k : s.codes) used[std::size_t(k)] = true;
    const auto n_used = std::count(used.begin(), used.end(), true);
    const MatD pre_enc = layer(m.encoder, 0).forward(s.X);
    const MatD pre_dec = layer(m.decoder, 0).forward(m.quantised_input(s.codes, images));
    if (n_used >= 3 && n_used < c.codes && std::min(pre_enc.cwiseAbs().minCoeff(), pre_dec.cwiseAbs().minCoeff()) > 0.01)
      return s;
  }
}

double vq_vae_surrogate_loss(const SmallVqVae& s) {
  using LD = long double;
  using MatL = Mat<LD>;
  const VqVae<double>& m = s.model;
  auto linear = [](const nn::Linear<double>& layer, const MatL& in) -> MatL {
    return (layer.W.cast<LD>() * in).colwise() + layer.b.cast<LD>();
  };
  const Index B = s.X.cols(), N = m.M * B;
  const MatL X = s.X.cast<LD>();
  const MatL code = linear(layer(m.encoder, 2), linear(layer(m.encoder, 0), X).cwiseMax(LD(0)));  // M D x B
  const MatL ze = Eigen::Map<const MatL>(code.data(), m.D, N);            // D x N
  const MatL zq = ze + s.offset.cast<LD>();                               // z_e + sg[e_k - z_e]
  const MatL logits =
      linear(layer(m.decoder, 2), linear(layer(m.decoder, 0), Eigen::Map<const MatL>(zq.data(), m.M * m.D, B)).cwiseMax(LD(0)));
  LD codebook = 0, commitment = 0;
  for (Index n = 0; n < N; ++n) {
    const Index k = s.codes[std::size_t(n)];
    codebook += (s.Ze.col(n) - m.codebook.E.col(k)).cast<LD>().squaredNorm();  // sg[z_n] - e_k
    commitment += (ze.col(n) - s.E.col(k).cast<LD>()).squaredNorm();           // z_n - sg[e_k]
  }
  return double(nn::bce_with_logits_loss<LD>(logits, X) + (codebook + LD(s.beta) * commitment) / LD(B));
}

VqVaeGradient vq_vae_gradient(SmallVqVae& s, const VqGradientsFn& gradients) {
  VqVae<double>& m = s.model;
  m.zero_grad();
  m.forward_backward(s.X, s.beta, gradients);
  const auto &e1 = layer(m.encoder, 0), &e2 = layer(m.encoder, 2), &d1 = layer(m.decoder, 0), &d2 = layer(m.decoder, 2);
  return {{e1.dW, e1.db, e2.dW, e2.db, m.dE, d1.dW, d1.db, d2.dW, d2.db}};
}

CheckRow check_eq_10_3_whole_model(SmallVqVae& s, const VqVaeGradient& g) {
  const std::string claim = "d(loss 10.2 with sg)/d(every VqVae parameter) vs central differences";
  VqVae<double>& m = s.model;
  if (g.blocks.size() != 9) return failed_row("10.3-4", claim, "gradient", "expected 9 gradient blocks");
  std::vector<GradBlock> blocks;
  try {
    auto &e1 = layer(m.encoder, 0), &e2 = layer(m.encoder, 2), &d1 = layer(m.decoder, 0), &d2 = layer(m.decoder, 2);
    blocks = {grad_block("enc1.W", e1.W, g.blocks[0]), grad_block("enc1.b", e1.b, g.blocks[1]),
              grad_block("enc2.W", e2.W, g.blocks[2]), grad_block("enc2.b", e2.b, g.blocks[3]),
              grad_block("e", m.codebook.E, g.blocks[4]), grad_block("dec1.W", d1.W, g.blocks[5]),
              grad_block("dec1.b", d1.b, g.blocks[6]), grad_block("dec2.W", d2.W, g.blocks[7]),
              grad_block("dec2.b", d2.b, g.blocks[8])};
  } catch (const std::invalid_argument& e) {
    return failed_row("10.3-4", claim, "gradient", std::string("wrong shape: ") + e.what());
  }
  return check_gradient("10.3-4", claim, [&] { return vq_vae_surrogate_loss(s); }, blocks);
}

LloydProblem make_lloyd_problem(std::uint64_t seed) {
  LloydProblem p;
  Rng rng(seed);
  const MatD centres = rng.normal_matrix<double>(2, 6) * 3.0;
  p.Z = rng.normal_matrix<double>(2, 200);
  for (Index n = 0; n < p.Z.cols(); ++n) p.Z.col(n) += centres.col(n % 6);
  p.E0.resize(2, 6);
  for (Index k = 0; k < 6; ++k) p.E0.col(k) = p.Z.col(Index(rng.below(200)));
  return p;
}

MatD lloyd_step(const MatD& Z, const MatD& E) {
  const std::vector<Index> codes = nearest_by_brute_force(Z, E);
  MatD sums = MatD::Zero(E.rows(), E.cols());
  VecD counts = VecD::Zero(E.cols());
  for (Index n = 0; n < Z.cols(); ++n) sums.col(codes[std::size_t(n)]) += Z.col(n), counts(codes[std::size_t(n)]) += 1;
  MatD out = E;
  for (Index k = 0; k < E.cols(); ++k)
    if (counts(k) > 0) out.col(k) = sums.col(k) / counts(k);
  return out;
}

CheckRow check_eq_10_5_ema_is_lloyd(
    const LloydProblem& p,
    const std::function<void(EmaCodebook&, const MatD&, const std::vector<Index>&, double)>& update) {
  EmaCodebook cb;
  cb.E = p.E0;
  cb.counts = VecD::Constant(p.E0.cols(), 7.0);  // an arbitrary earlier state, which decay 0 forgets
  cb.sums = p.E0 * 7.0;
  update(cb, p.Z, nearest_by_brute_force(p.Z, p.E0), 0.0);
  const MatD lloyd = lloyd_step(p.Z, p.E0);
  if (cb.E.rows() != lloyd.rows() || cb.E.cols() != lloyd.cols())
    return failed_row("10.5", "EMA update at decay 0 = one Lloyd step", "identity", "the codebook changed shape");
  return check_identity("10.5", "EMA update at decay 0 = one Lloyd (k-means) step", lloyd, cb.E, 1e-12);
}

CheckRow check_eq_10_5_ema_moving_averages(
    const LloydProblem& p, double decay,
    const std::function<void(EmaCodebook&, const MatD&, const std::vector<Index>&, double)>& update) {
  const Index K = p.E0.cols(), D = p.E0.rows();
  EmaCodebook cb;
  cb.counts = VecD::LinSpaced(K, 2.0, 12.0);  // unequal earlier counts
  cb.sums = p.E0 * cb.counts.asDiagonal();
  cb.sums.row(0).array() += 0.3;               // an earlier state that is not exactly E0
  cb.E = p.E0;
  const VecD c0 = cb.counts;
  const MatD s0 = cb.sums;
  const std::vector<Index> codes = nearest_by_brute_force(p.Z, p.E0);
  VecD n_k = VecD::Zero(K);
  MatD batch_sum = MatD::Zero(D, K);
  for (Index n = 0; n < p.Z.cols(); ++n) {
    n_k(codes[std::size_t(n)]) += 1.0;
    batch_sum.col(codes[std::size_t(n)]) += p.Z.col(n);
  }
  const VecD counts = decay * c0 + (1.0 - decay) * n_k;
  const MatD sums = decay * s0 + (1.0 - decay) * batch_sum;
  MatD expected(2 * D + 1, K), got(2 * D + 1, K);
  expected << sums * counts.cwiseInverse().asDiagonal(), sums, counts.transpose();
  update(cb, p.Z, codes, decay);
  if (cb.E.rows() != D || cb.E.cols() != K || cb.sums.rows() != D || cb.sums.cols() != K || cb.counts.size() != K)
    return failed_row("10.5", "EMA moving averages at decay 0.9", "identity", "the codebook state changed shape");
  got << cb.E, cb.sums, cb.counts.transpose();
  CheckRow r = check_identity("10.5", "EMA at decay " + format_number(decay, 2) + ": counts, sums and e_k = sums/counts",
                              expected, got, 1e-12);
  r.detail += " (rows: E, sums, counts)";
  return r;
}

CheckRow check_eq_10_5_lloyd_descends(const LloydProblem& p) {
  EmaCodebook cb{p.E0, VecD::Zero(p.E0.cols()), MatD::Zero(p.E0.rows(), p.E0.cols())};
  const std::vector<Index> codes = nearest_by_brute_force(p.Z, p.E0);
  const double before = quantisation_error(p.Z, p.E0, codes, p.Z.cols());
  ema_codebook_update(cb, p.Z, codes, 0.0);
  const double after = quantisation_error(p.Z, cb.E, nearest_by_brute_force(p.Z, cb.E), p.Z.cols());
  CheckRow r = check_bound("10.5", "quantisation error after <= before (k-means descent)", after, before, 1e-12);
  r.detail = "mean squared distance to the nearest code: " + std::to_string(before) + " -> " + std::to_string(after);
  return r;
}

CheckRow check_eq_10_6_uniform(Index K, const std::function<double(const VecD&)>& ppl) {
  return check_identity("10.6", "perplexity = K = " + std::to_string(K) + " under uniform use", double(K),
                        ppl(VecD::Constant(K, 3.0)), 1e-12);
}

CheckRow check_eq_10_6_one_code(Index K, const std::function<double(const VecD&)>& ppl) {
  VecD c = VecD::Zero(K);
  c(1) = 40.0;
  return check_identity("10.6", "perplexity = 1 when one code is used", 1.0, ppl(c), 1e-12);
}

CheckRow check_eq_10_6_range(Index K, std::uint64_t seed,
                                    const std::function<double(const VecD&)>& ppl) {
  Rng rng(seed);
  double lo = double(K), hi = 1.0;
  for (int t = 0; t < 200; ++t) {
    VecD c(K);
    for (Index k = 0; k < K; ++k) c(k) = rng.bernoulli(0.3) ? 0.0 : double(rng.below(50));
    if (c.sum() == 0) c(0) = 1;
    const double v = ppl(c);
    if (!std::isfinite(v)) return failed_row("10.6", "1 <= perplexity <= K", "bound", "non-finite perplexity");
    lo = std::min(lo, v), hi = std::max(hi, v);
  }
  // lower <= upper is checked as max(1 - lo, hi - K) <= 1e-12.
  CheckRow r = check_bound("10.6", "1 <= perplexity <= K on 200 random usages", std::max(1.0 - lo, hi - double(K)), 0.0, 1e-12);
  r.detail = "range of the perplexities: [" + std::to_string(lo) + ", " + std::to_string(hi) + "], K = " + std::to_string(K);
  return r;
}

std::vector<CheckRow> all_checks() {
  const VqProblem p = make_vq_problem();
  const VqLoss loss = vq_loss(p.Ze, p.E, p.codes, p.beta, p.B);
  const VqGradients g = vq_gradients(reconstruction_gradient(p, quantise(p.E, p.codes)), p.Ze, p.E, p.codes, p.beta, p.B);
  const LloydProblem lp = make_lloyd_problem();
  SmallVqVae model = small_vq_vae();
  const VqVaeGradient model_gradient = vq_vae_gradient(model);
  return {check_eq_10_1_nearest(p),
          check_eq_10_2_codebook_term(p, loss),
          check_eq_10_2_commitment_term(p, loss),
          check_eq_10_3_encoder_gradient(p, g.Ze),
          check_eq_10_4_codebook_gradient(p, g.E),
          check_eq_10_3_whole_model(model, model_gradient),
          check_eq_10_5_ema_is_lloyd(lp),
          check_eq_10_5_ema_moving_averages(lp),
          check_eq_10_5_lloyd_descends(lp),
          check_eq_10_6_uniform(16),
          check_eq_10_6_one_code(16),
          check_eq_10_6_range(16)};
}

}  // namespace course::ch10
