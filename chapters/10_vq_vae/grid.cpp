// The convolutional VQ-VAE and its PixelCNN prior (grid.hpp).
#include "10_vq_vae/grid.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>
#include <stdexcept>

#include "course/error.hpp"
#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch10 {

namespace {
// The D x N matrix of the codes' vectors e_{k_n}.
MatD code_vectors(const MatD& E, const std::vector<Index>& codes) {
  MatD Zq(E.rows(), Index(codes.size()));
  for (std::size_t n = 0; n < codes.size(); ++n) Zq.col(Index(n)) = E.col(codes[n]);
  return Zq;
}
}  // namespace

// =============================================================================================
// Between the encoder's image layout and the D x N matrix of code vectors
// =============================================================================================
template <class Scalar>
MatD grid_vectors(const Mat<Scalar>& Z, Index D) {
  const Index P = Z.rows() / D, B = Z.cols();
  MatD V(D, P * B);
  // Column b of Z is D x P channel-major: as a P x D matrix its rows are the code vectors.
  for (Index b = 0; b < B; ++b)
    V.middleCols(b * P, P) = Eigen::Map<const Mat<Scalar>>(Z.col(b).data(), P, D).transpose().template cast<double>();
  return V;
}

template <class Scalar>
Mat<Scalar> grid_images(const MatD& V, Index D, Index B) {
  const Index P = V.cols() / B;
  Mat<Scalar> Z(D * P, B);
  for (Index b = 0; b < B; ++b)
    Eigen::Map<Mat<Scalar>>(Z.col(b).data(), P, D) = V.middleCols(b * P, P).transpose().template cast<Scalar>();
  return Z;
}

template MatD grid_vectors<float>(const MatF&, Index);
template MatD grid_vectors<double>(const MatD&, Index);
template MatF grid_images<float>(const MatD&, Index, Index);
template MatD grid_images<double>(const MatD&, Index, Index);
template Mat<long double> grid_images<long double>(const MatD&, Index, Index);
template MatD grid_vectors<long double>(const Mat<long double>&, Index);

// =============================================================================================
// ConvVqVae
// =============================================================================================
template <class Scalar>
ConvVqVae<Scalar>::ConvVqVae(const GridConfig& c, Rng& rng) : config(c) {
  using nn::Activation;
  const Index C = c.channels, h = c.height, w = c.width;
  if (h % 4 != 0 || w % 4 != 0) throw InputError("ConvVqVae: image sides must be multiples of 4");
  grid_h = h / 4, grid_w = w / 4;
  encoder.add(nn::Conv2d<Scalar>(1, C, 4, 2, 1, h, w, rng));
  encoder.add(Activation::ReLU);
  encoder.add(nn::Conv2d<Scalar>(C, C, 4, 2, 1, h / 2, w / 2, rng));
  encoder.add(Activation::ReLU);
  encoder.add(nn::Conv2d<Scalar>(C, c.dim, 3, 1, 1, grid_h, grid_w, rng));
  decoder.add(nn::ConvTranspose2d<Scalar>(c.dim, C, 4, 2, 1, grid_h, grid_w, rng));
  decoder.add(Activation::ReLU);
  decoder.add(nn::ConvTranspose2d<Scalar>(C, 1, 4, 2, 1, h / 2, w / 2, rng));
  // A codebook drawn like encoder outputs at initialisation (the MLP model's U(-1/K, 1/K) leaves
  // most codes dead at first; the restarts would fix that, but need not).
  codebook.E = rng.normal_matrix<double>(c.dim, c.codes) * 0.1;
  codebook.counts = VecD::Ones(c.codes);
  codebook.sums = codebook.E;
  dE = MatD::Zero(c.dim, c.codes);
}

template <class Scalar>
std::vector<Param<Scalar>> ConvVqVae<Scalar>::parameters() {
  std::vector<Param<Scalar>> p = encoder.parameters("enc");
  decoder.collect(p, "dec");
  return p;
}

template <class Scalar>
void ConvVqVae<Scalar>::zero_grad() {
  encoder.zero_grad();
  decoder.zero_grad();
  dE.setZero();
}

template <class Scalar>
std::vector<Index> ConvVqVae<Scalar>::encode(const Mat<Scalar>& X) {
  const MatD Ze = grid_vectors(encoder.forward(X), D());
  std::vector<Index> codes = nearest_codes(Ze, codebook.E);
  require_valid_codes(codes, Ze.cols(), K());
  return codes;
}

template <class Scalar>
Mat<Scalar> ConvVqVae<Scalar>::decode_logits(const std::vector<Index>& codes, Index images) {
  return decoder.forward(grid_images<Scalar>(code_vectors(codebook.E, codes), D(), images));
}

template <class Scalar>
Mat<Scalar> ConvVqVae<Scalar>::reconstruct(const Mat<Scalar>& X) {
  return nn::activation_forward(nn::Activation::Sigmoid, decode_logits(encode(X), X.cols()));
}

template <class Scalar>
typename ConvVqVae<Scalar>::Step ConvVqVae<Scalar>::forward_backward(const Mat<Scalar>& X, const VqGradientsFn& gradients) {
  const Index B = X.cols();
  Step s;
  // Encoder to the grid of vectors z_e, quantisation (10.1) and the VQ terms (10.2).
  s.Ze = grid_vectors(encoder.forward(X), D());
  s.codes = nearest_codes(s.Ze, codebook.E);
  require_valid_codes(s.codes, s.Ze.cols(), K());
  const VqLoss vq = vq_loss(s.Ze, codebook.E, s.codes, config.beta, B);
  // Decoder and -log p(x | z_q).
  const Mat<Scalar>& logits = decoder.forward(grid_images<Scalar>(code_vectors(codebook.E, s.codes), D(), B));
  s.reconstruction = double(nn::bce_with_logits_loss(logits, X));
  s.codebook = vq.codebook;
  s.commitment = vq.commitment;
  // Backward: the decoder to z_q, straight through to z_e (10.3) and to the codebook (10.4).
  const Mat<Scalar>& dZq = decoder.backward(nn::bce_with_logits_backward(logits, X));
  const VqGradients g = gradients(grid_vectors(dZq, D()), s.Ze, codebook.E, s.codes, config.beta, B);
  require_same_shape(g.Ze, s.Ze, "dL/dz_e", "Ze");
  require_same_shape(g.E, codebook.E, "dL/de", "E");
  dE += g.E;
  encoder.backward(grid_images<Scalar>(g.Ze, D(), B), false);
  return s;
}

template struct ConvVqVae<float>;
template struct ConvVqVae<double>;
template struct ConvVqVae<long double>;

ConvVqVae<float> train_conv_vq_vae(const ImageSet& train, const GridConfig& cfg, GridRun& run, std::ostream* log) {
  Rng init(cfg.seed, 7);
  ConvVqVae<float> model(cfg, init);
  Adam<float> adam(model.parameters(), float(cfg.lr));
  CodeRestarts restarts(model.K(), cfg.window, Rng(cfg.seed, 8));
  TrainOptions opt{.epochs = cfg.epochs, .batch = cfg.batch, .seed = cfg.seed, .what = "conv VQ-VAE", .progress = log};
  const TrainLog tl = train_minibatches(
      train.size(), adam, opt,
      [&](const Minibatch& b) {
        const MatF X = train.batch<float>(b.indices, b.size);
        const auto s = model.forward_backward(X);
        // The encoder and decoder step is the loop's; the codebook follows the EMA (eq. 10.5).
        ema_codebook_update(model.codebook, s.Ze, s.codes, cfg.ema_decay);
        CodeRestarts::Window window;
        restarts.after_batch(model.codebook, s.Ze, s.codes, window);
        return s.total();
      },
      no_metrics);
  run.restarts = restarts.restarts();
  run.seconds = tl.seconds;
  run.epoch_loss = tl.epoch_loss;
  return model;
}

std::vector<Index> encode_all(ConvVqVae<float>& model, const ImageSet& set, Index chunk) {
  std::vector<Index> all;
  all.reserve(std::size_t(set.size() * model.positions()));
  for (Index c = 0; c < set.size(); c += chunk) {
    const std::vector<Index> codes = model.encode(set.range<float>(c, std::min(chunk, set.size() - c)));
    all.insert(all.end(), codes.begin(), codes.end());
  }
  return all;
}

GridEvaluation evaluate_grid(ConvVqVae<float>& model, const ImageSet& set, Index chunk) {
  GridEvaluation ev;
  std::vector<Index> all;
  double se = 0.0, sum = 0.0, sum2 = 0.0;
  for (Index c = 0; c < set.size(); c += chunk) {
    const Index m = std::min(chunk, set.size() - c);
    const MatF X = set.range<float>(c, m);
    const std::vector<Index> codes = model.encode(X);
    all.insert(all.end(), codes.begin(), codes.end());
    const MatF logits = model.decode_logits(codes, m);
    ev.reconstruction += double(nn::bce_with_logits_loss(logits, X)) * double(m);
    const MatD Xd = X.cast<double>();
    se += (nn::activation_forward(nn::Activation::Sigmoid, logits).cast<double>() - Xd).squaredNorm();
    sum += Xd.sum();
    sum2 += Xd.squaredNorm();
  }
  const double n = double(set.size() * set.dim());
  ev.reconstruction /= double(set.size());
  ev.mse_over_variance = (se / n) / (sum2 / n - (sum / n) * (sum / n));
  ev.usage = codebook_usage(all, model.K());
  return ev;
}

// =============================================================================================
// GridPrior
// =============================================================================================
PriorMasks exercise_masks() { return {causal_mask(5, false), causal_mask(3, true)}; }

namespace {
// A k x k causal mask spread over a convolution's weights (out x (C k k)): the same taps for every
// pair of channels (one "colour" per position, so PixelCNN's channel masks are not needed).
template <class Scalar>
Mat<Scalar> spread_mask(const MatD& m, Index out, Index in, Index k) {
  if (m.rows() != k || m.cols() != k)
    throw std::invalid_argument("causal_mask(" + std::to_string(k) + ", ...) returned a " + std::to_string(m.rows()) + "x" +
                                std::to_string(m.cols()) + " matrix");
  Mat<Scalar> w(out, in * k * k);
  for (Index c = 0; c < in; ++c)
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) w.col((c * k + i) * k + j).setConstant(Scalar(m(i, j)));
  return w;
}
}  // namespace

template <class Scalar>
GridPrior<Scalar>::GridPrior(const PriorConfig& c, Rng& rng, const PriorMasks& masks) : config(c) {
  using nn::Activation;
  const Index K = c.codes, h = c.height, w = c.width, E = c.embed, C = c.channels;
  net.add(nn::Conv2d<Scalar>(K, E, 1, 1, 0, h, w, rng));  // an embedding of each code, position by position
  net.add(nn::Conv2d<Scalar>(E, C, 5, 1, 2, h, w, rng)).set_mask(spread_mask<Scalar>(masks.first, C, E, 5));
  net.add(Activation::ReLU);
  net.add(nn::Conv2d<Scalar>(C, C, 3, 1, 1, h, w, rng)).set_mask(spread_mask<Scalar>(masks.hidden, C, C, 3));
  net.add(Activation::ReLU);
  net.add(nn::Conv2d<Scalar>(C, C, 3, 1, 1, h, w, rng)).set_mask(spread_mask<Scalar>(masks.hidden, C, C, 3));
  net.add(Activation::ReLU);
  net.add(nn::Conv2d<Scalar>(C, K, 1, 1, 0, h, w, rng));
}

template <class Scalar>
Mat<Scalar> GridPrior<Scalar>::one_hot(const std::vector<Index>& codes, Index grids) const {
  const Index P = positions();
  if (Index(codes.size()) != P * grids) throw std::invalid_argument("GridPrior: expected " + std::to_string(P * grids) + " codes");
  Mat<Scalar> X = Mat<Scalar>::Zero(K() * P, grids);
  for (Index b = 0; b < grids; ++b)
    for (Index q = 0; q < P; ++q) {
      const Index k = codes[std::size_t(b * P + q)];
      if (k < 0 || k >= K()) throw std::invalid_argument("GridPrior: code " + std::to_string(k) + " outside [0, K)");
      X(k * P + q, b) = Scalar(1);
    }
  return X;
}

template <class Scalar>
MatD GridPrior<Scalar>::logits_of(const Mat<Scalar>& out, Index b, Index K, Index P) {
  // Column b is K x P channel-major: as a P x K matrix, row q holds position q's K logits.
  return Eigen::Map<const Mat<Scalar>>(out.col(b).data(), P, K).transpose().template cast<double>();
}

template <class Scalar>
Mat<Scalar> GridPrior<Scalar>::forward(const std::vector<Index>& codes, Index grids) {
  return net.forward(one_hot(codes, grids));
}

template <class Scalar>
double GridPrior<Scalar>::loss_and_gradient(const std::vector<Index>& codes, Index grids) {
  const Index P = positions(), K = this->K();
  const Mat<Scalar>& out = net.forward(one_hot(codes, grids));
  Mat<Scalar> dOut(out.rows(), out.cols());
  double loss = 0.0;
  for (Index b = 0; b < grids; ++b) {
    auto A = Eigen::Map<const Mat<Scalar>>(out.col(b).data(), P, K);  // row q: the logits at q
    auto dA = Eigen::Map<Mat<Scalar>>(dOut.col(b).data(), P, K);
    for (Index q = 0; q < P; ++q) {
      const Scalar m = A.row(q).maxCoeff();
      const auto e = (A.row(q).array() - m).exp();
      const Scalar z = e.sum();
      const Index k = codes[std::size_t(b * P + q)];
      loss -= double(A(q, k) - m - std::log(z));
      // d(-log softmax_k)/d a = softmax - one_hot(k), averaged over the grids.
      dA.row(q) = (e / z).matrix() / Scalar(grids);
      dA(q, k) -= Scalar(1) / Scalar(grids);
    }
  }
  net.backward(dOut, false);
  return loss / double(grids);
}

template <class Scalar>
std::vector<double> GridPrior<Scalar>::log_prob(const std::vector<Index>& codes, Index grids) {
  const Index P = positions();
  const Mat<Scalar> out = forward(codes, grids);
  std::vector<double> lp(static_cast<std::size_t>(grids));
  for (Index b = 0; b < grids; ++b) {
    const std::vector<Index> grid(codes.begin() + b * P, codes.begin() + (b + 1) * P);
    lp[std::size_t(b)] = grid_log_likelihood(logits_of(out, b, K(), P), grid);
  }
  return lp;
}

template <class Scalar>
std::vector<Index> GridPrior<Scalar>::sample(Index n, Rng& rng) {
  const Index P = positions(), K = this->K();
  std::vector<Index> codes(std::size_t(n * P), 0);
  for (Index q = 0; q < P; ++q) {
    // Position q depends only on positions < q (eq. 10.9), which are drawn already.
    const Mat<Scalar> out = forward(codes, n);
    for (Index b = 0; b < n; ++b) {
      const VecD a = logits_of(out, b, K, P).col(q);
      const VecD p = (a.array() - a.maxCoeff()).exp().matrix();
      double u = rng.uniform() * p.sum();
      Index k = 0;
      while (k < K - 1 && (u -= p(k)) > 0) ++k;
      codes[std::size_t(b * P + q)] = k;
    }
  }
  return codes;
}

template struct GridPrior<float>;
template struct GridPrior<double>;
template struct GridPrior<long double>;  // the gradient check's loss (grid_checks.cpp)

GridPrior<float> train_prior(const std::vector<Index>& codes, Index grids, const PriorConfig& cfg, std::ostream* log,
                             double* seconds) {
  Rng init(cfg.seed, 9);
  GridPrior<float> prior(cfg, init);
  Adam<float> adam(prior.net.parameters("prior"), float(cfg.lr));
  const Index P = prior.positions();
  TrainOptions opt{.epochs = cfg.epochs, .batch = cfg.batch, .seed = cfg.seed, .what = "PixelCNN prior", .progress = log};
  std::vector<Index> batch;
  const TrainLog tl = train_minibatches(
      grids, adam, opt,
      [&](const Minibatch& b) {
        batch.clear();
        for (Index j = 0; j < b.size; ++j) {
          const auto first = codes.begin() + b.indices[j] * P;
          batch.insert(batch.end(), first, first + P);
        }
        return prior.loss_and_gradient(batch, b.size);
      },
      no_metrics);
  if (seconds) *seconds = tl.seconds;
  return prior;
}

}  // namespace course::ch10
