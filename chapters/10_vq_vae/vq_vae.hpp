// The VQ-VAE of chapter 10: an MLP encoder to M code vectors of dimension D per image, nearest-
// neighbour quantisation against a codebook of K entries (eq. 10.1), an MLP decoder with a
// Bernoulli likelihood, and two ways to learn the codebook: the codebook loss (eq. 10.4, by Adam)
// or exponential moving averages (eq. 10.5). Dead codes are restarted from encoder outputs.
//
//   x (784) -> Linear -> ReLU (H) -> Linear -> z_e (M D) = M vectors z_n (D)
//   z_q: each z_n replaced by its nearest code e_k       (eq. 10.1)
//   z_q (M D) -> Linear -> ReLU (H) -> Linear -> logits (784),  -log p(x | z_q) = BCE
//
// The quantisation, the VQ loss and gradients, the EMA update and the perplexity are the exercise
// functions of course/exercises/ch10_vq_vae.hpp, called in double on the D x (M B) code matrix
// (small next to the dense layers).
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch10_vq_vae.hpp"
#include "course/nn.hpp"
#include "course/optim.hpp"

namespace course::ch10 {

enum class CodebookUpdate { Loss, Ema };

// The signature of vq_gradients (exercise 10.3): what the backward pass sends to z_e and e given the
// decoder's gradient at z_q. Training uses vq_gradients itself; a test passes a wrong one to show
// that the whole-model gradient check rejects it.
using VqGradientsFn = std::function<VqGradients(const MatD& dRec_dZq, const MatD& Ze, const MatD& E,
                                                const std::vector<Index>& codes, double beta, Index images)>;

struct VqConfig {
  Index hidden = 400, positions = 8, dim = 8, codes = 64;  // H, M, D, K
  double beta = 0.25;
  double ema_decay = 0.99;
  double lr = 1e-3;
  Index batch = 128;
  int epochs = 3;
  Index window = 50;  // batches between usage records and dead-code restarts
  CodebookUpdate update = CodebookUpdate::Loss;
  std::uint64_t seed = 1;
};

template <class Scalar>
struct VqVae {
  nn::Linear<Scalar> enc1, enc2, dec1, dec2;
  Index M = 0, D = 0;
  EmaCodebook codebook;  // E (D x K) is the codebook; counts and sums serve the EMA update
  MatD dE;               // D x K, the codebook gradient for the loss-based update

  VqVae(Index pixels, const VqConfig& c, Rng& rng)
      : enc1(pixels, c.hidden, rng), enc2(c.hidden, c.positions * c.dim, rng),
        dec1(c.positions * c.dim, c.hidden, rng), dec2(c.hidden, pixels, rng), M(c.positions), D(c.dim) {
    // The original paper's initialisation U(-1/K, 1/K): small next to the encoder's outputs, so
    // many codes are never chosen at first (dead) until restarted.
    codebook.E = rng.uniform_matrix<double>(D, c.codes, -1.0 / double(c.codes), 1.0 / double(c.codes));
    codebook.counts = VecD::Zero(c.codes);
    codebook.sums = MatD::Zero(D, c.codes);
    dE = MatD::Zero(D, c.codes);
  }
  Index K() const { return codebook.E.cols(); }
  // Zeroes the gradients that forward_backward accumulates (the layers' and dE).
  void zero_grad() {
    for (nn::Linear<Scalar>* layer : {&enc1, &enc2, &dec1, &dec2}) layer->zero_grad();
    dE.setZero();
  }

  std::vector<Param<Scalar>> params() {
    std::vector<Param<Scalar>> p;
    enc1.collect(p, "enc1");
    enc2.collect(p, "enc2");
    dec1.collect(p, "dec1");
    dec2.collect(p, "dec2");
    return p;
  }

  // z_e for a batch X (pixels x B) as the D x (M B) matrix of code vectors (image b owns columns
  // b M .. b M + M - 1).
  MatD encode(const Mat<Scalar>& X) const {
    const Mat<Scalar> Ze = enc2.forward(nn::activation_forward(nn::Activation::ReLU, enc1.forward(X)));
    return Eigen::Map<const Mat<Scalar>>(Ze.data(), D, Ze.size() / D).template cast<double>();
  }
  // z_q as the decoder's input (M D x B).
  Mat<Scalar> quantised_input(const std::vector<Index>& codes, Index images) const {
    Mat<Scalar> Zq(M * D, images);
    for (Index n = 0; n < Index(codes.size()); ++n)
      Zq.block(D * (n % M), n / M, D, 1) = codebook.E.col(codes[std::size_t(n)]).template cast<Scalar>();
    return Zq;
  }
  // Bernoulli means of the reconstruction.
  Mat<Scalar> reconstruct(const Mat<Scalar>& X) const {
    const MatD Ze = encode(X);
    const std::vector<Index> codes = nearest_codes(Ze, codebook.E);
    require_valid_codes(codes, Ze.cols(), K());
    const Mat<Scalar> Zq = quantised_input(codes, X.cols());
    return nn::activation_forward(nn::Activation::Sigmoid,
                                  dec2.forward(nn::activation_forward(nn::Activation::ReLU, dec1.forward(Zq))));
  }

  struct Step {
    double reconstruction, codebook, commitment;
    std::vector<Index> codes;
    MatD Ze;
    double total() const { return reconstruction + codebook + commitment; }
  };

  // One forward and backward pass; accumulates the layers' gradients and dE. `gradients` computes
  // (10.3) and (10.4) from the decoder's gradient at z_q (vq_gradients unless a test plants another).
  Step forward_backward(const Mat<Scalar>& X, double beta, const VqGradientsFn& gradients = vq_gradients) {
    using nn::Activation;
    const Index B = X.cols();
    // Encoder.
    const Mat<Scalar> A1 = enc1.forward(X), H1 = nn::activation_forward(Activation::ReLU, A1);
    const Mat<Scalar> Ze = enc2.forward(H1);
    Step s;
    s.Ze = Eigen::Map<const Mat<Scalar>>(Ze.data(), D, M * B).template cast<double>();
    // Quantisation (10.1) and the VQ terms (10.2).
    s.codes = nearest_codes(s.Ze, codebook.E);
    require_valid_codes(s.codes, s.Ze.cols(), K());
    const VqLoss vq = vq_loss(s.Ze, codebook.E, s.codes, beta, B);
    // Decoder and -log p(x | z_q).
    const Mat<Scalar> Zq = quantised_input(s.codes, B);
    const Mat<Scalar> A2 = dec1.forward(Zq), H2 = nn::activation_forward(Activation::ReLU, A2);
    const Mat<Scalar> logits = dec2.forward(H2);
    s.reconstruction = double(nn::bce_with_logits_loss(logits, X));
    s.codebook = vq.codebook;
    s.commitment = vq.commitment;
    // Backward through the decoder to z_q, then straight through to z_e (10.3), and to e (10.4).
    const Mat<Scalar> dH2 = dec2.backward(H2, nn::bce_with_logits_backward(logits, X));
    const Mat<Scalar> dZq = dec1.backward(Zq, nn::activation_backward(Activation::ReLU, A2, H2, dH2));
    const MatD dZq_vectors = Eigen::Map<const Mat<Scalar>>(dZq.data(), D, M * B).template cast<double>();
    const VqGradients g = gradients(dZq_vectors, s.Ze, codebook.E, s.codes, beta, B);
    require_same_shape(g.Ze, s.Ze, "dL/dz_e", "Ze");
    require_same_shape(g.E, codebook.E, "dL/de", "E");
    dE += g.E;
    const Mat<Scalar> dZe = Eigen::Map<const MatD>(g.Ze.data(), M * D, B).template cast<Scalar>();
    const Mat<Scalar> dH1 = enc2.backward(H1, dZe);
    enc1.backward(X, nn::activation_backward(Activation::ReLU, A1, H1, dH1));
    return s;
  }

  // A student's nearest_codes could return anything: check before indexing the codebook with it.
  static void require_valid_codes(const std::vector<Index>& codes, Index n, Index K) {
    if (Index(codes.size()) != n)
      throw std::invalid_argument("nearest_codes returned " + std::to_string(codes.size()) + " codes for " +
                                  std::to_string(n) + " vectors");
    for (Index k : codes)
      if (k < 0 || k >= K)
        throw std::invalid_argument("nearest_codes returned code " + std::to_string(k) + ", outside [0, K = " +
                                    std::to_string(K) + ")");
  }
};

// What training records, once per window of batches.
struct VqRun {
  std::vector<double> batch;        // batches seen at the end of the window
  std::vector<double> perplexity;   // exp(H) of the code usage in the window (eq. 10.6)
  std::vector<double> dead;         // codes unused in the window (restarted after counting)
  std::vector<double> loss;         // mean total loss per image in the window
  long restarts = 0;
  double seconds = 0.0;
};

// Trains a VQ-VAE on `train` with the configured codebook update. Every `window` batches it records
// the perplexity of the window's code usage and the number of dead (unused) codes, then restarts
// each dead code at a random encoder output of the current batch.
template <class Scalar>
VqVae<Scalar> train_vq_vae(const ImageSet& train, const VqConfig& cfg, VqRun& run, std::ostream* log,
                           const std::string& what) {
  const SingleThreadedEigen single_threaded;
  Rng init(cfg.seed), shuffle(cfg.seed, 1), restart(cfg.seed, 2);
  VqVae<Scalar> model(train.dim(), cfg, init);
  Adam<Scalar> adam(model.params(), Scalar(cfg.lr));
  Adam<double> codebook_adam({{model.codebook.E.data(), model.dE.data(), model.codebook.E.size(), "E"}}, cfg.lr);
  const Index K = model.K();
  VecD usage = VecD::Zero(K);
  double window_loss = 0.0;
  long seen = 0;
  Stopwatch clock;
  std::unique_ptr<Progress> progress;
  const Index batches = (train.size() + cfg.batch - 1) / cfg.batch;
  if (log) progress = std::make_unique<Progress>(*log, what, cfg.epochs, long(batches));
  for (int e = 0; e < cfg.epochs; ++e) {
    const Minibatches mb(train.size(), cfg.batch, shuffle);
    double sum = 0.0;
    for (Index b = 0; b < mb.count(); ++b) {
      const Mat<Scalar> X = train.batch<Scalar>(mb.indices(b), mb.size(b));
      adam.zero_grad();
      model.dE.setZero();
      const auto s = model.forward_backward(X, cfg.beta);
      require_finite_loss(s.total(), e, long(b), what + " loss");
      adam.step();
      if (cfg.update == CodebookUpdate::Loss)
        codebook_adam.step();
      else
        ema_codebook_update(model.codebook, s.Ze, s.codes, cfg.ema_decay);
      for (Index k : s.codes) usage(k) += 1.0;
      sum += s.total();
      window_loss += s.total();
      if (progress) progress->batch(long(b), s.total());
      if (++seen % cfg.window == 0) {
        run.batch.push_back(double(seen));
        run.perplexity.push_back(perplexity(usage));
        run.loss.push_back(window_loss / double(cfg.window));
        int dead = 0;
        for (Index k = 0; k < K; ++k) {
          if (usage(k) > 0) continue;
          ++dead;
          // Restart: a random encoder output of this batch; the EMA state restarts as one vector.
          model.codebook.E.col(k) = s.Ze.col(Index(restart.below(std::uint64_t(s.Ze.cols()))));
          model.codebook.counts(k) = 1.0;
          model.codebook.sums.col(k) = model.codebook.E.col(k);
        }
        run.dead.push_back(dead);
        run.restarts += dead;
        usage.setZero();
        window_loss = 0.0;
      }
    }
    if (progress) progress->epoch(e, "loss " + std::to_string(sum / double(mb.count())) + " nats/image");
  }
  run.seconds = clock.seconds();
  return model;
}

// Test-set evaluation: mean -log p(x | z_q) per image (nats) and how often each code is used.
struct VqEvaluation {
  double reconstruction = 0.0;
  double quantisation = 0.0;  // (1/B) sum ||z_e - z_q||^2 per image
  VecD usage;
};
template <class Scalar>
VqEvaluation evaluate(const VqVae<Scalar>& model, const ImageSet& test, Index chunk = 1000) {
  VqEvaluation ev;
  ev.usage = VecD::Zero(model.K());
  for (Index c = 0; c < test.size(); c += chunk) {
    const Index m = std::min(chunk, test.size() - c);
    const Mat<Scalar> X = test.range<Scalar>(c, m);
    const MatD Ze = model.encode(X);
    const std::vector<Index> codes = nearest_codes(Ze, model.codebook.E);
    VqVae<Scalar>::require_valid_codes(codes, Ze.cols(), model.K());
    for (Index k : codes) ev.usage(k) += 1.0;
    ev.quantisation += vq_loss(Ze, model.codebook.E, codes, 0.0, 1).codebook;
    const Mat<Scalar> Zq = model.quantised_input(codes, m);
    const Mat<Scalar> logits =
        model.dec2.forward(nn::activation_forward(nn::Activation::ReLU, model.dec1.forward(Zq)));
    ev.reconstruction += double(nn::bce_with_logits_loss(logits, X)) * double(m);
  }
  ev.reconstruction /= double(test.size());
  ev.quantisation /= double(test.size());
  return ev;
}

}  // namespace course::ch10
