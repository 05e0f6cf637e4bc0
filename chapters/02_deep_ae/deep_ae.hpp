// Chapter 2 model code: a deep (multilayer) autoencoder built from course::nn::Linear layers and
// activations, templated on Scalar (double in the checks, float in training), and its training
// loop with Adam. Later chapters reuse it:  #include "02_deep_ae/deep_ae.hpp".
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
// against this code in double.
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
#include "course/nn.hpp"
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

// =============================================================================================
// The model
// =============================================================================================

template <class Scalar>
class DeepAutoencoder {
 public:
  using MatS = Mat<Scalar>;

  // The activations each layer keeps for the backward pass: H[0] = X, Z[l] = W_l H[l] + b_l,
  // H[l + 1] = f_l(Z[l]); H[K] is the code and H[L] the output Y (logits for BCE).
  struct Cache {
    std::vector<MatS> Z, H;
  };

  DeepAutoencoder() = default;
  // Layers initialised as PyTorch does (nn::Linear), drawn from `rng`.
  DeepAutoencoder(const DeepAeSpec& spec, Rng& rng) : spec_(spec) {
    const std::size_t K = spec.encoder.size() - 1;
    if (K < 1) throw InputError("a deep autoencoder needs at least an input and a code size");
    if (spec.loss == Loss::BCE && spec.output != Activation::Identity)
      throw InputError("with the BCE loss the output layer emits logits: its activation must be identity");
    std::vector<Index> sizes = spec.encoder;
    for (std::size_t i = K; i-- > 0;) sizes.push_back(spec.encoder[i]);
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      layers_.emplace_back(sizes[l], sizes[l + 1], rng);
      activations_.push_back(l + 1 == K ? spec.code : l + 2 == sizes.size() ? spec.output : spec.hidden);
    }
  }

  const DeepAeSpec& spec() const { return spec_; }
  std::size_t depth() const { return layers_.size(); }               // L
  std::size_t code_layer() const { return spec_.encoder.size() - 1; }  // K: H[K] is the code
  std::vector<nn::Linear<Scalar>>& layers() { return layers_; }
  const std::vector<nn::Linear<Scalar>>& layers() const { return layers_; }
  const std::vector<Activation>& activations() const { return activations_; }

  // Eq. 2.1 through every layer; returns the output Y = H[L] (logits for BCE). X: d x B.
  const MatS& forward(const MatS& X, Cache& cache) const {
    cache.Z.resize(depth());
    cache.H.resize(depth() + 1);
    cache.H[0] = X;
    for (std::size_t l = 0; l < depth(); ++l) {
      cache.Z[l] = layers_[l].forward(cache.H[l]);
      cache.H[l + 1] = nn::activation_forward(activations_[l], cache.Z[l]);
    }
    return cache.H.back();
  }

  // The reconstruction loss of output Y against target T (eq. 2.3 or 2.4) and dL/dY.
  Scalar loss(const MatS& Y, const MatS& T) const {
    return spec_.loss == Loss::MSE ? nn::mse_loss(Y, T) : nn::bce_with_logits_loss(Y, T);
  }
  MatS loss_gradient(const MatS& Y, const MatS& T) const {
    return spec_.loss == Loss::MSE ? nn::mse_backward(Y, T) : nn::bce_with_logits_backward(Y, T);
  }

  // Eq. 2.5: walks the cached forward pass backwards from dY = dL/dY, accumulating every layer's
  // dW and db. `dcode`, when given, is added to dL/dH[K] (a penalty on the code, chapter 4).
  void backward(const Cache& cache, MatS dY, const MatS* dcode = nullptr) {
    MatS dH = std::move(dY);
    for (std::size_t l = depth(); l-- > 0;) {
      if (l + 1 == code_layer() && dcode) dH += *dcode;
      const MatS dZ = nn::activation_backward(activations_[l], cache.Z[l], cache.H[l + 1], dH);
      dH = layers_[l].backward(cache.H[l], dZ);
    }
  }

  // One training step's gradient: forward on `input`, the loss against `target`, backward.
  // Accumulates into dW, db and returns the loss. (A denoising AE passes a corrupted input.)
  Scalar forward_backward(const MatS& input, const MatS& target) {
    const MatS& Y = forward(input, cache_);
    const Scalar value = loss(Y, target);
    backward(cache_, loss_gradient(Y, target));
    return value;
  }
  Scalar forward_backward(const MatS& X) { return forward_backward(X, X); }

  // The code H[K] of each column of X.
  MatS encode(const MatS& X) const {
    MatS H = X;
    for (std::size_t l = 0; l < code_layer(); ++l) H = nn::activation_forward(activations_[l], layers_[l].forward(H));
    return H;
  }
  // The reconstruction in pixel space: Y for MSE, sigmoid(Y) for BCE.
  MatS decode(const MatS& code) const {
    MatS H = code;
    for (std::size_t l = code_layer(); l < depth(); ++l) H = nn::activation_forward(activations_[l], layers_[l].forward(H));
    if (spec_.loss == Loss::BCE) H = nn::activation_forward(Activation::Sigmoid, H);
    return H;
  }
  MatS reconstruct(const MatS& X) const { return decode(encode(X)); }

  // Every weight and bias with its gradient, for course::Adam or course::Sgd.
  std::vector<Param<Scalar>> params() {
    std::vector<Param<Scalar>> p;
    for (std::size_t l = 0; l < depth(); ++l) layers_[l].collect(p, "layer" + std::to_string(l + 1));
    return p;
  }
  void zero_grad() {
    for (auto& layer : layers_) layer.zero_grad();
  }

 private:
  DeepAeSpec spec_;
  std::vector<nn::Linear<Scalar>> layers_;
  std::vector<Activation> activations_;
  Cache cache_;
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
