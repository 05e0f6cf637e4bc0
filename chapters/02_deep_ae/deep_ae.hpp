// Chapter 2 model code: deep autoencoders, dense (DeepAeSpec) and convolutional (ConvAeSpec), each
// an encoder and a decoder nn::Sequential of the course's layer stack (course/sequential.hpp),
// templated on Scalar (double in the checks, float in training), and their training with Adam
// through course::train_minibatches. Later chapters reuse it:  #include "02_deep_ae/deep_ae.hpp".
//
//   DeepAeSpec spec{{784, 256, 64, 30}};              // encoder sizes; the decoder mirrors them
//   Rng rng(seed);
//   DeepAutoencoder<float> ae(spec, rng);
//   Adam<float> adam(ae.params(), 1e-3f);
//   adam.zero_grad();
//   float loss = ae.forward_backward(X);             // X: 784 x B; accumulates dW, db
//   adam.step();
//
// The forward pass is eq. 2.1 layer after layer, the loss eq. 2.3 (MSE) or 2.4 (BCE from logits),
// and the backward pass eq. 2.5: the same formulas as exercises 2.1-2.4, which the tests check
// against this code in double. The layers' own backward passes are the stack's; the exercises are
// where the student writes them.
#pragma once

#include <algorithm>
#include <cmath>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/exercises/ch02_deep_ae.hpp"
#include "course/conv.hpp"
#include "course/nn.hpp"
#include "course/sequential.hpp"
#include "course/optim.hpp"
#include "course/rng.hpp"
#include "course/train.hpp"

namespace course::ch02 {

// =============================================================================================
// The architecture
// =============================================================================================

// Encoder sizes n_0 = d > n_1 > ... > n_K = code size; the decoder mirrors them back to d, so the
// network has L = 2K layers. Hidden layers use `hidden`; the code layer (layer K) uses `code`
// (linear by default, as in Hinton & Salakhutdinov 2006); the output layer uses `output`. With
// Loss::BCE the output layer must be linear: it emits logits and the reconstruction is their sigmoid.
struct DeepAeSpec {
  std::vector<Index> encoder;
  Activation hidden = Activation::ReLU;
  Activation code = Activation::Identity;
  Activation output = Activation::Sigmoid;
  Loss loss = Loss::MSE;

  Index input_size() const { return encoder.front(); }
  Index code_size() const { return encoder.back(); }
  std::string describe() const;  // "784-256-64-30-64-256-784 relu, mse"
};

inline std::string DeepAeSpec::describe() const {
  std::string s;
  for (Index n : encoder) s += std::to_string(n) + "-";
  for (std::size_t i = encoder.size() - 1; i-- > 0;) s += std::to_string(encoder[i]) + (i ? "-" : "");
  return s + " " + nn::to_string(hidden) + ", " + (loss == Loss::MSE ? "mse" : "bce");
}

// The convolutional autoencoder of section 6, with a code of the same size as the dense one's:
//   x (1 x H x W) -> conv 3x3 stride 2 (C1 x H/2 x W/2) -> f -> conv 3x3 stride 2 (C2 x H/4 x W/4) -> f
//     -> linear (code)
//   code -> linear (C2 x H/4 x W/4) -> f -> conv-transpose 4x4 stride 2 (C1 x H/2 x W/2) -> f
//     -> conv-transpose 4x4 stride 2 (1 x H x W) -> output
// (padding 1 throughout). Each convolution applies one small kernel per pair of channels at every
// position of the image: weight sharing (eq. 2.7).
struct ConvAeSpec {
  Index height = 28, width = 28;      // one channel; both sides multiples of 4
  Index channels1 = 16, channels2 = 32;
  Index code = 30;
  Activation hidden = Activation::ReLU;
  Loss loss = Loss::MSE;  // MSE: a sigmoid output; BCE: logits

  std::string describe() const;  // "conv 1x28x28 -> 16x14x14 -> 32x7x7 -> 30 and back, relu, mse"
};

inline std::string ConvAeSpec::describe() const {
  const auto side = [](Index c, Index h, Index w) { return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w); };
  return "conv " + side(1, height, width) + " -> " + side(channels1, height / 2, width / 2) + " -> " +
         side(channels2, height / 4, width / 4) + " -> " + std::to_string(code) + " and back, " + nn::to_string(hidden) +
         ", " + (loss == Loss::MSE ? "mse" : "bce");
}

// =============================================================================================
// The model: an encoder and a decoder, each an nn::Sequential of the course's layer stack
// =============================================================================================

template <class Scalar>
class DeepAutoencoder {
 public:
  using MatS = Mat<Scalar>;

  DeepAutoencoder() = default;
  // The dense autoencoder of DeepAeSpec: layers initialised as PyTorch does (nn::Linear), drawn
  // from `rng` in order, encoder then decoder.
  DeepAutoencoder(const DeepAeSpec& spec, Rng& rng) : loss_(spec.loss), describe_(spec.describe()), code_size_(spec.code_size()) {
    const std::size_t K = spec.encoder.size() - 1;
    if (K < 1) throw InputError("a deep autoencoder needs at least an input and a code size");
    require_logits(spec.loss, spec.output);
    std::vector<Index> decoder_sizes(spec.encoder.rbegin(), spec.encoder.rend());
    encoder_ = nn::mlp<Scalar>(spec.encoder, spec.hidden, spec.code, rng);
    decoder_ = nn::mlp<Scalar>(decoder_sizes, spec.hidden, spec.output, rng);
  }
  // The convolutional autoencoder of ConvAeSpec (PyTorch's initialisation, drawn in layer order).
  DeepAutoencoder(const ConvAeSpec& spec, Rng& rng) : loss_(spec.loss), describe_(spec.describe()), code_size_(spec.code) {
    const Index h = spec.height, w = spec.width, c1 = spec.channels1, c2 = spec.channels2;
    if (h < 4 || w < 4 || h % 4 || w % 4) throw InputError("a convolutional autoencoder needs image sides that are multiples of 4");
    const Index grid = c2 * (h / 4) * (w / 4);
    encoder_.add(nn::Conv2d<Scalar>(1, c1, 3, 2, 1, h, w, rng));
    encoder_.add(spec.hidden);
    encoder_.add(nn::Conv2d<Scalar>(c1, c2, 3, 2, 1, h / 2, w / 2, rng));
    encoder_.add(spec.hidden);
    encoder_.add(nn::Linear<Scalar>(grid, spec.code, rng));
    decoder_.add(nn::Linear<Scalar>(spec.code, grid, rng));
    decoder_.add(spec.hidden);
    decoder_.add(nn::ConvTranspose2d<Scalar>(c2, c1, 4, 2, 1, h / 4, w / 4, rng));
    decoder_.add(spec.hidden);
    decoder_.add(nn::ConvTranspose2d<Scalar>(c1, 1, 4, 2, 1, h / 2, w / 2, rng));
    if (spec.loss == Loss::MSE) decoder_.add(Activation::Sigmoid);
  }

  Loss loss_kind() const { return loss_; }
  Index code_size() const { return code_size_; }
  std::string describe() const { return describe_; }
  nn::Sequential<Scalar>& encoder() { return encoder_; }
  nn::Sequential<Scalar>& decoder() { return decoder_; }

  // Eq. 2.1 through every layer: the output Y (logits for BCE) of X (d x B), kept by the two
  // Sequentials for the backward pass.
  const MatS& forward(const MatS& X) const { return decoder_.forward(encoder_.forward(X)); }

  // The reconstruction loss of output Y against target T (eq. 2.3 or 2.4) and dL/dY.
  Scalar loss(const MatS& Y, const MatS& T) const {
    return loss_ == Loss::MSE ? nn::mse_loss(Y, T) : nn::bce_with_logits_loss(Y, T);
  }
  MatS loss_gradient(const MatS& Y, const MatS& T) const {
    return loss_ == Loss::MSE ? nn::mse_backward(Y, T) : nn::bce_with_logits_backward(Y, T);
  }

  // One training step's gradient: forward on `input`, the loss against `target`, and eq. 2.5 back
  // through the decoder to the code and on through the encoder. Accumulates every layer's
  // gradients (course/nn.hpp's convention) and returns the loss. (A denoising AE passes a
  // corrupted input.)
  Scalar forward_backward(const MatS& input, const MatS& target) {
    const MatS& Y = forward(input);
    const Scalar value = loss(Y, target);
    const MatS& dcode = decoder_.backward(loss_gradient(Y, target));  // dL/d(code)
    encoder_.backward(dcode, false);
    return value;
  }
  Scalar forward_backward(const MatS& X) { return forward_backward(X, X); }

  // The code of each column of X.
  MatS encode(const MatS& X) const { return encoder_.forward(X); }
  // The reconstruction in pixel space: Y for MSE, sigmoid(Y) for BCE.
  MatS decode(const MatS& code) const {
    const MatS& Y = decoder_.forward(code);
    return loss_ == Loss::BCE ? nn::activation_forward(Activation::Sigmoid, Y) : Y;
  }
  MatS reconstruct(const MatS& X) const { return decode(encoder_.forward(X)); }

  // Every weight and bias with its gradient, for course::Adam: "enc.<layer>.W", "dec.<layer>.b", ...
  std::vector<Param<Scalar>> params() {
    std::vector<Param<Scalar>> p = encoder_.parameters("enc");
    decoder_.collect(p, "dec");
    return p;
  }
  void zero_grad() {
    encoder_.zero_grad();
    decoder_.zero_grad();
  }

  // The dense layers, encoder then decoder (layer l + 1 of the doc is dense_layer(l)), and the
  // activation that follows each (identity when none).
  std::size_t depth() const { return dense_index().size(); }
  nn::Linear<Scalar>& dense_layer(std::size_t l) {
    const auto [net, i] = dense_index().at(l);
    return const_cast<nn::Sequential<Scalar>*>(net)->template at<nn::Linear<Scalar>>(i);
  }
  const nn::Linear<Scalar>& dense_layer(std::size_t l) const { return const_cast<DeepAutoencoder*>(this)->dense_layer(l); }
  Activation dense_activation(std::size_t l) const {
    const auto [net, i] = dense_index().at(l);
    const auto* f = i + 1 < net->size() ? net->template as<nn::ActivationLayer<Scalar>>(i + 1) : nullptr;
    return f ? f->f : Activation::Identity;
  }

 private:
  static void require_logits(Loss loss, Activation output) {
    if (loss == Loss::BCE && output != Activation::Identity)
      throw InputError("with the BCE loss the output layer emits logits: its activation must be identity");
  }
  std::vector<std::pair<const nn::Sequential<Scalar>*, std::size_t>> dense_index() const {
    std::vector<std::pair<const nn::Sequential<Scalar>*, std::size_t>> out;
    for (const nn::Sequential<Scalar>* net : {&encoder_, &decoder_})
      for (std::size_t i = 0; i < net->size(); ++i)
        if (net->template as<nn::Linear<Scalar>>(i)) out.emplace_back(net, i);
    return out;
  }

  Loss loss_ = Loss::MSE;
  std::string describe_;
  Index code_size_ = 0;
  nn::Sequential<Scalar> encoder_, decoder_;
};

// The model's layers as the exercises' plain double layers (the same weights), for the checks.
std::vector<DenseLayer> to_dense_layers(const DeepAutoencoder<double>& ae);

// =============================================================================================
// Data sources: an ImageSet (uint8, converted a batch at a time) or a d x n matrix
// =============================================================================================

Index count_of(const ImageSet& s);
template <class Scalar>
Index count_of(const Mat<Scalar>& X) { return X.cols(); }

template <class Scalar>
Mat<Scalar> gather(const ImageSet& s, const Index* idx, Index n) { return s.batch<Scalar>(idx, n); }
template <class Scalar>
Mat<Scalar> gather(const Mat<Scalar>& X, const Index* idx, Index n) {
  Mat<Scalar> out(X.rows(), n);
  for (Index j = 0; j < n; ++j) out.col(j) = X.col(idx[j]);
  return out;
}
template <class Scalar, class Data>
Mat<Scalar> columns_of(const Data& data, Index first, Index n) {
  std::vector<Index> idx(static_cast<std::size_t>(n));
  for (Index j = 0; j < n; ++j) idx[std::size_t(j)] = first + j;
  return gather<Scalar>(data, idx.data(), n);
}

// The mean over the first `count` samples (all when count <= 0) of the squared reconstruction
// error ||x - x_hat||^2, summed over the d pixels: the measure PCA's Eckart-Young error uses (1.2).
template <class Scalar, class Data>
double reconstruction_error(const DeepAutoencoder<Scalar>& ae, const Data& data, Index count = 0) {
  const Index n = count > 0 ? std::min(count, count_of(data)) : count_of(data);
  const Index chunk = 1000;
  double sum = 0.0;
  for (Index first = 0; first < n; first += chunk) {
    const Mat<Scalar> X = columns_of<Scalar>(data, first, std::min(chunk, n - first));
    sum += double((ae.reconstruct(X) - X).squaredNorm());
  }
  return sum / double(n);
}

// =============================================================================================
// Training: Adam on shuffled minibatches
// =============================================================================================

struct AeTrainOptions {
  int epochs = 5;
  Index batch = 128;
  double lr = 1e-3;
  std::uint64_t seed = 1;
  Index eval_train = 10000;  // the training error of the curves is measured on this many images
  int eval_every = 1;        // record the errors every this many epochs (and after the last)
};

// Errors (mean ||x - x_hat||^2 per sample) after each epoch; epoch 0 is the initialisation.
struct TrainingCurve {
  std::vector<double> epoch, train_error, test_error;
  double seconds = 0.0;
};

// Trains `ae` with Adam through the course's training loop (course/train.hpp: shuffle, progress,
// stopwatch, stop on a non-finite loss). Every batch: forward_backward, one Adam step.
// `progress` may be null (silent, as in the tests).
template <class Scalar, class Data>
TrainingCurve train_autoencoder(DeepAutoencoder<Scalar>& ae, const Data& train, const Data& test,
                                const AeTrainOptions& opt, std::ostream* progress = nullptr,
                                const std::string& what = "deep AE") {
  Adam<Scalar> adam(ae.params(), Scalar(opt.lr));
  TrainingCurve curve;
  auto record = [&](int epoch) {
    curve.epoch.push_back(epoch);
    curve.train_error.push_back(reconstruction_error(ae, train, opt.eval_train));
    curve.test_error.push_back(reconstruction_error(ae, test));
  };
  record(0);
  course::TrainOptions loop;
  loop.epochs = opt.epochs;
  loop.batch = opt.batch;
  loop.seed = opt.seed;
  loop.what = what;
  loop.progress = progress;
  const TrainLog log = train_minibatches(count_of(train), adam, loop, [&](const Minibatch& b) {
    return double(ae.forward_backward(gather<Scalar>(train, b.indices, b.size)));
  }, [&](int epoch) {
    if ((epoch + 1) % opt.eval_every == 0 || epoch + 1 == opt.epochs) record(epoch + 1);
    return "train error " + std::to_string(curve.train_error.back()) + ", test error " +
           std::to_string(curve.test_error.back());
  });
  curve.seconds = log.seconds;
  return curve;
}

// =============================================================================================
// The linear baseline: PCA with k components (chapter 1)
// =============================================================================================

struct PcaBaseline {
  VecD mean;          // d
  MatD components;    // d x k, orthonormal, by decreasing variance
  VecD eigenvalues;   // all d eigenvalues of the training covariance, decreasing
  // The Eckart-Young error on the training data: the floor of every linear code of size k (1.2).
  double eckart_young() const { return eigenvalues.tail(eigenvalues.size() - components.cols()).sum(); }
  MatD project(const MatD& X) const { return components.transpose() * (X.colwise() - mean); }
  MatD reconstruct(const MatD& X) const { return (components * project(X)).colwise() + mean; }
};

// PCA of the samples of `data` from the covariance S = Xc Xc^T / n, accumulated in chunks.
template <class Data>
PcaBaseline fit_pca(const Data& data, Index k) {
  const Index n = count_of(data), chunk = 5000;
  MatD first = columns_of<double>(data, 0, std::min(chunk, n));
  const Index d = first.rows();
  VecD sum = VecD::Zero(d);
  for (Index s = 0; s < n; s += chunk) sum += columns_of<double>(data, s, std::min(chunk, n - s)).rowwise().sum();
  PcaBaseline p;
  p.mean = sum / double(n);
  MatD S = MatD::Zero(d, d);
  for (Index s = 0; s < n; s += chunk) {
    const MatD Xc = columns_of<double>(data, s, std::min(chunk, n - s)).colwise() - p.mean;
    S.selfadjointView<Eigen::Lower>().rankUpdate(Xc, 1.0 / double(n));
  }
  S.triangularView<Eigen::StrictlyUpper>() = S.transpose();
  const Eigen::SelfAdjointEigenSolver<MatD> eig(S);
  p.eigenvalues = eig.eigenvalues().reverse();
  p.components = eig.eigenvectors().rowwise().reverse().leftCols(k);
  return p;
}

// Mean ||x - x_hat||^2 of PCA's reconstructions over the samples of `data`.
template <class Data>
double pca_error(const PcaBaseline& pca, const Data& data) {
  const Index n = count_of(data), chunk = 5000;
  double sum = 0.0;
  for (Index s = 0; s < n; s += chunk) {
    const MatD X = columns_of<double>(data, s, std::min(chunk, n - s));
    sum += (pca.reconstruct(X) - X).squaredNorm();
  }
  return sum / double(n);
}

// =============================================================================================
// A curved data set where a nonlinear code must win: "images" of a moving bump
// =============================================================================================

// n one-dimensional images of d pixels, each a Gaussian bump of width `width` pixels centred at a
// uniformly random position t in [2 width, d - 1 - 2 width]: x_i = exp(-(i - t)^2 / (2 width^2)).
// One number t describes each image, but the images span a curved 1-D manifold that no k-dimensional
// linear subspace holds for small k: a deep autoencoder with a 2-D code reconstructs them almost
// exactly, PCA with 2 components cannot. d x n.
MatD make_bump_images(Index n, Index d, double width, std::uint64_t seed);

}  // namespace course::ch02
