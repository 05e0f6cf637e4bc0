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
#include <stdexcept>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch10_vq_vae.hpp"
#include "course/nn.hpp"
#include "course/optim.hpp"
#include "course/sequential.hpp"
#include "course/train.hpp"

namespace course::ch10 {

enum class CodebookUpdate { Loss, Ema };

// The signature of vq_gradients (exercise 10.3): what the backward pass sends to z_e and e given the
// decoder's gradient at z_q. Training uses vq_gradients itself; a test passes a wrong one to show
// that the whole-model gradient check rejects it.
using VqGradientsFn = std::function<VqGradients(const MatD& dRec_dZq, const MatD& Ze, const MatD& E,
                                                const std::vector<Index>& codes, double beta, Index images)>;

// A student's nearest_codes could return anything: check before indexing the codebook with it
// (both of the chapter's models call it; throws std::invalid_argument naming what is wrong).
inline void require_valid_codes(const std::vector<Index>& codes, Index n, Index K) {
  if (Index(codes.size()) != n)
    throw std::invalid_argument("nearest_codes returned " + std::to_string(codes.size()) + " codes for " +
                                std::to_string(n) + " vectors");
  for (Index k : codes)
    if (k < 0 || k >= K)
      throw std::invalid_argument("nearest_codes returned code " + std::to_string(k) + ", outside [0, K = " +
                                  std::to_string(K) + ")");
}

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

// The two dense networks are nn::Sequentials of the layer stack (built by nn::mlp):
//   encoder  x (pixels) -> Linear -> ReLU -> Linear -> z_e (M D)
//   decoder  z_q (M D)  -> Linear -> ReLU -> Linear -> logits (pixels)
// The quantisation and the straight-through step between them are written out in forward_backward.
template <class Scalar>
struct VqVae {
  nn::Sequential<Scalar> encoder, decoder;
  Index M = 0, D = 0;
  EmaCodebook codebook;  // E (D x K) is the codebook; counts and sums serve the EMA update
  MatD dE;               // D x K, the codebook gradient for the loss-based update

  VqVae(Index pixels, const VqConfig& c, Rng& rng)
      : encoder(nn::mlp<Scalar>({pixels, c.hidden, c.positions * c.dim}, nn::Activation::ReLU, nn::Activation::Identity, rng)),
        decoder(nn::mlp<Scalar>({c.positions * c.dim, c.hidden, pixels}, nn::Activation::ReLU, nn::Activation::Identity, rng)),
        M(c.positions), D(c.dim) {
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
    encoder.zero_grad();
    decoder.zero_grad();
    dE.setZero();
  }

  // The networks' weights and biases (not the codebook): "enc.0.W", ..., "dec.2.b".
  std::vector<Param<Scalar>> params() {
    std::vector<Param<Scalar>> p = encoder.parameters("enc");
    decoder.collect(p, "dec");
    return p;
  }

  // z_e for a batch X (pixels x B) as the D x (M B) matrix of code vectors (image b owns columns
  // b M .. b M + M - 1).
  MatD encode(const Mat<Scalar>& X) const { return code_vectors(encoder.forward(X)); }
  // The M D x B encoder output as D x (M B) code vectors.
  MatD code_vectors(const Mat<Scalar>& Ze) const {
    return Eigen::Map<const Mat<Scalar>>(Ze.data(), D, Ze.size() / D).template cast<double>();
  }
  // z_q as the decoder's input (M D x B).
  Mat<Scalar> quantised_input(const std::vector<Index>& codes, Index images) const {
    Mat<Scalar> Zq(M * D, images);
    for (Index n = 0; n < Index(codes.size()); ++n)
      Zq.block(D * (n % M), n / M, D, 1) = codebook.E.col(codes[std::size_t(n)]).template cast<Scalar>();
    return Zq;
  }
  // The decoder's Bernoulli logits for the codes of `images` images.
  Mat<Scalar> decode_logits(const std::vector<Index>& codes, Index images) const {
    return decoder.forward(quantised_input(codes, images));
  }
  // The codes of a batch, checked before they index the codebook.
  std::vector<Index> nearest(const MatD& Ze) const {
    std::vector<Index> codes = nearest_codes(Ze, codebook.E);
    require_valid_codes(codes, Ze.cols(), K());
    return codes;
  }
  // Bernoulli means of the reconstruction.
  Mat<Scalar> reconstruct(const Mat<Scalar>& X) const {
    return nn::activation_forward(nn::Activation::Sigmoid, decode_logits(nearest(encode(X)), X.cols()));
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
    const Index B = X.cols();
    Step s;
    // Encoder, quantisation (10.1) and the VQ terms (10.2).
    s.Ze = encode(X);
    s.codes = nearest(s.Ze);
    const VqLoss vq = vq_loss(s.Ze, codebook.E, s.codes, beta, B);
    // Decoder and -log p(x | z_q).
    const Mat<Scalar>& logits = decode_logits(s.codes, B);
    s.reconstruction = double(nn::bce_with_logits_loss(logits, X));
    s.codebook = vq.codebook;
    s.commitment = vq.commitment;
    // Backward through the decoder to z_q, then straight through to z_e (10.3), and to e (10.4).
    const Mat<Scalar>& dZq = decoder.backward(nn::bce_with_logits_backward(logits, X));
    const VqGradients g = gradients(code_vectors(dZq), s.Ze, codebook.E, s.codes, beta, B);
    require_same_shape(g.Ze, s.Ze, "dL/dz_e", "Ze");
    require_same_shape(g.E, codebook.E, "dL/de", "E");
    dE += g.E;
    encoder.backward(Eigen::Map<const MatD>(g.Ze.data(), M * D, B).template cast<Scalar>(), false);
    return s;
  }
};

// Dead-code restarts, for both of the chapter's models: counts how often each code is chosen over
// a window of `window` batches; at the end of a window every code unused in it restarts at a random
// encoder output of the current batch (its EMA state restarting as that one vector).
class CodeRestarts {
 public:
  CodeRestarts(Index codes, Index window, Rng rng) : usage_(VecD::Zero(codes)), window_(window), rng_(rng) {}
  struct Window {
    VecD usage;    // how often each code was chosen in the window
    int dead = 0;  // codes unused in the window, restarted
  };
  // Counts the batch's codes; at the end of a window restarts the dead codes and returns true,
  // with the window's usage in `w`.
  bool after_batch(EmaCodebook& cb, const MatD& Ze, const std::vector<Index>& codes, Window& w) {
    for (Index k : codes) usage_(k) += 1.0;
    if (++batches_ % window_ != 0) return false;
    w = Window{usage_, 0};
    for (Index k = 0; k < usage_.size(); ++k) {
      if (usage_(k) > 0) continue;
      ++w.dead;
      cb.E.col(k) = Ze.col(Index(rng_.below(std::uint64_t(Ze.cols()))));
      cb.counts(k) = 1.0;
      cb.sums.col(k) = cb.E.col(k);
    }
    restarts_ += w.dead;
    usage_.setZero();
    return true;
  }
  long restarts() const { return restarts_; }

 private:
  VecD usage_;
  Index window_;
  Rng rng_;
  long batches_ = 0, restarts_ = 0;
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

// Trains a VQ-VAE on `train` with the configured codebook update, through the course's training
// loop (course/train.hpp). Two optimisers, so the loop's overload without one: each batch zeroes
// the gradients, runs forward_backward, stops on a non-finite loss, then Adam steps the networks
// and the codebook follows either its own Adam on the codebook loss (10.4) or the EMA (10.5).
// Every `window` batches it records the window's perplexity and dead codes and restarts those.
template <class Scalar>
VqVae<Scalar> train_vq_vae(const ImageSet& train, const VqConfig& cfg, VqRun& run, std::ostream* log,
                           const std::string& what) {
  Rng init(cfg.seed);
  VqVae<Scalar> model(train.dim(), cfg, init);
  Adam<Scalar> adam(model.params(), Scalar(cfg.lr));
  Adam<double> codebook_adam({{model.codebook.E.data(), model.dE.data(), model.codebook.E.size(), "E"}}, cfg.lr);
  CodeRestarts restarts(model.K(), cfg.window, Rng(cfg.seed, 2));
  double window_loss = 0.0;
  long seen = 0;
  const TrainOptions opt{.epochs = cfg.epochs, .batch = cfg.batch, .seed = cfg.seed, .what = what, .progress = log};
  const TrainLog trained = train_minibatches(
      train.size(), opt,
      [&](const Minibatch& b) {
        const Mat<Scalar> X = train.batch<Scalar>(b.indices, b.size);
        model.zero_grad();
        const auto s = model.forward_backward(X, cfg.beta);
        require_finite_loss(s.total(), b.epoch, long(b.index), what + " loss");
        adam.step();
        if (cfg.update == CodebookUpdate::Loss)
          codebook_adam.step();
        else
          ema_codebook_update(model.codebook, s.Ze, s.codes, cfg.ema_decay);
        window_loss += s.total();
        ++seen;
        CodeRestarts::Window w;
        if (restarts.after_batch(model.codebook, s.Ze, s.codes, w)) {
          run.batch.push_back(double(seen));
          run.perplexity.push_back(perplexity(w.usage));
          run.dead.push_back(w.dead);
          run.loss.push_back(window_loss / double(cfg.window));
          window_loss = 0.0;
        }
        return s.total();
      },
      [](int, double mean) { return "loss " + std::to_string(mean) + " nats/image"; });
  run.restarts = restarts.restarts();
  run.seconds = trained.seconds;
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
    const std::vector<Index> codes = model.nearest(Ze);
    for (Index k : codes) ev.usage(k) += 1.0;
    ev.quantisation += vq_loss(Ze, model.codebook.E, codes, 0.0, 1).codebook;
    const Mat<Scalar>& logits = model.decode_logits(codes, m);
    ev.reconstruction += double(nn::bce_with_logits_loss(logits, X)) * double(m);
  }
  ev.reconstruction /= double(test.size());
  ev.quantisation /= double(test.size());
  return ev;
}

}  // namespace course::ch10
