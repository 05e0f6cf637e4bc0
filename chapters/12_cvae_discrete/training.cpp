// The bodies of 12_cvae_discrete/training.hpp.
#include "12_cvae_discrete/training.hpp"

#include <cmath>

#include "12_cvae_discrete/model.hpp"
#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch12 {

namespace {

// Adam (lr 1e-3) through the course's training loop (batch 128), with `test_elbo()` (its mean)
// after every epoch. `step(b)` runs forward and backward on batch b and returns its loss;
// `epoch_note()` may prefix the epoch's progress line (and record more of the curve).
template <class Step, class TestElbo, class Note>
Curve train_with_test_elbo(Adam<float>& adam, Index n, std::string what, int epochs, std::uint64_t seed,
                           std::ostream* progress, Step&& step, TestElbo&& test_elbo, Note&& epoch_note) {
  TrainOptions opt;
  opt.epochs = epochs;
  opt.seed = seed;
  opt.what = std::move(what);
  opt.progress = progress;
  Curve curve;
  const TrainLog log = train_minibatches(n, adam, opt, step, [&](int e) {
    curve.epoch.push_back(e + 1);
    const std::string note = epoch_note(curve);
    curve.test_elbo.push_back(test_elbo().mean());
    return note + "test ELBO " + std::to_string(curve.test_elbo.back()) + " nats";
  });
  curve.train_loss = log.epoch_loss;
  curve.seconds = log.seconds;
  return curve;
}
std::string no_note(Curve&) { return ""; }

// f(first, n, rng) -> the ELBOs of test images [first, first + n), in batches of 500; batch k draws
// from Rng(seed, k).
// `model_kl()` returns the last batch's per-image KL, copied into *kl when kl is not null.
template <class F, class Kl>
VecD per_image(const ImageSet& test, std::uint64_t seed, VecD* kl, F&& f, Kl&& model_kl) {
  VecD elbo(test.size());
  if (kl) kl->resize(test.size());
  for (Index first = 0, k = 0; first < test.size(); first += 500, ++k) {
    const Index n = std::min<Index>(500, test.size() - first);
    Rng rng(seed, std::uint64_t(k));
    elbo.segment(first, n) = f(first, n, rng);
    if (kl) kl->segment(first, n) = model_kl().template cast<double>();
  }
  return elbo;
}

}  // namespace

MatF labels_one_hot(const ImageSet& set, const Index* idx, Index count, Index classes) {
  MatF Y = MatF::Zero(classes, count);
  for (Index j = 0; j < count; ++j) Y(Index(set.labels[std::size_t(idx[j])]), j) = 1.0f;
  return Y;
}

MatF labels_one_hot_range(const ImageSet& set, Index first, Index count, Index classes) {
  std::vector<Index> idx(static_cast<std::size_t>(count));
  for (Index j = 0; j < count; ++j) idx[std::size_t(j)] = first + j;
  return labels_one_hot(set, idx.data(), count, classes);
}

Index class_count(const ImageSet& set) {
  int top = 0;
  for (std::uint8_t l : set.labels) top = std::max(top, int(l));
  return std::max<Index>(Index(set.class_names.size()), Index(top) + 1);
}

// ---- classifier ---------------------------------------------------------------------------------

Classifier::Classifier(Index input, Index classes, Rng& rng) {
  net.add(nn::Linear<float>(input, 256, rng));
  net.add(nn::Activation::ReLU);
  net.add(nn::Linear<float>(256, classes, rng));
}

std::vector<int> Classifier::predict(const MatF& X) {
  const MatF& S = net.forward(X);
  std::vector<int> out(static_cast<std::size_t>(S.cols()));
  for (Index j = 0; j < S.cols(); ++j) {
    Index k = 0;
    S.col(j).maxCoeff(&k);
    out[std::size_t(j)] = int(k);
  }
  return out;
}

Curve train_classifier(Classifier& c, const ImageSet& train, int epochs, std::uint64_t seed, std::ostream* progress) {
  const Index classes = c.net.out_size();
  Adam<float> adam(c.net.parameters("classifier"), 1e-3f);
  TrainOptions opt;
  opt.epochs = epochs;
  opt.seed = seed;
  opt.what = "classifier 784-256-" + std::to_string(classes);
  opt.progress = progress;
  Curve curve;
  const TrainLog log = train_minibatches(
      train.size(), adam, opt,
      [&](const Minibatch& b) {
        const MatF X = train.batch<float>(b.indices, b.size);
        const MatF Y = labels_one_hot(train, b.indices, b.size, classes);
        const MatF& S = c.net.forward(X);
        // Softmax cross-entropy, mean over the batch: dL/dS = (softmax(S) - Y) / B.
        MatF dS(S.rows(), S.cols());
        double loss = 0.0;
        for (Index j = 0; j < S.cols(); ++j) {
          const VecF e = (S.col(j).array() - S.col(j).maxCoeff()).exp();
          const float total = e.sum();
          dS.col(j) = (e / total - Y.col(j)) / float(S.cols());
          Index k = 0;
          Y.col(j).maxCoeff(&k);
          loss -= std::log(double(e(k)) / double(total));
        }
        c.net.backward(dS, false);
        return loss / double(S.cols());
      },
      no_metrics);
  curve.train_loss = log.epoch_loss;
  curve.seconds = log.seconds;
  return curve;
}

Accuracy accuracy(const std::vector<int>& predicted, const std::vector<int>& wanted) {
  Accuracy a;
  a.n = Index(predicted.size());
  Index right = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == wanted[i];
  a.rate = a.n ? double(right) / double(a.n) : 0.0;
  if (a.n == 0) return a;
  const double n = double(a.n), z2 = kWilsonZ * kWilsonZ;
  a.se = std::sqrt(a.rate * (1.0 - a.rate) / n);
  const double centre = (a.rate + z2 / (2 * n)) / (1 + z2 / n);
  const double half = kWilsonZ / (1 + z2 / n) * std::sqrt(a.rate * (1 - a.rate) / n + z2 / (4 * n * n));
  a.lower = centre - half;
  a.upper = centre + half;
  return a;
}

Accuracy test_accuracy(Classifier& c, const ImageSet& test) {
  std::vector<int> predicted, wanted;
  for (Index first = 0; first < test.size(); first += 1000) {
    const Index m = std::min<Index>(1000, test.size() - first);
    for (int p : c.predict(test.range<float>(first, m))) predicted.push_back(p);
    for (Index j = 0; j < m; ++j) wanted.push_back(int(test.labels[std::size_t(first + j)]));
  }
  return accuracy(predicted, wanted);
}

// ---- CVAE ---------------------------------------------------------------------------------------

VecD cvae_test_elbo(Cvae<float>& m, const ImageSet& test, std::uint64_t seed, VecD* kl) {
  return per_image(test, seed, kl, [&](Index first, Index n, Rng& rng) -> VecD {
    m.forward(test.range<float>(first, n), labels_one_hot_range(test, first, n, m.config.classes),
              rng.normal_matrix<float>(m.latent(), n));
    return -(m.reconstruction + m.kl).cast<double>();
  }, [&] { return m.kl; });
}

Curve train_cvae(Cvae<float>& m, const ImageSet& train, const ImageSet& test, int epochs, std::uint64_t seed,
                 std::ostream* progress) {
  Adam<float> adam(m.parameters(), 1e-3f);
  return train_with_test_elbo(
      adam, train.size(),
      "CVAE 784+" + std::to_string(m.config.classes) + "-" + std::to_string(m.config.hidden) + "-" + std::to_string(m.latent()),
      epochs, seed, progress,
      [&](const Minibatch& b) {
        const MatF X = train.batch<float>(b.indices, b.size);
        const MatF Y = labels_one_hot(train, b.indices, b.size, m.config.classes);
        Rng rng = b.rng();
        const float loss = m.forward(X, Y, rng.normal_matrix<float>(m.latent(), b.size));
        m.backward();
        return double(loss);
      },
      [&] { return cvae_test_elbo(m, test, seed + 77); }, no_note);
}

MatF cvae_samples(Cvae<float>& m, Index per_class, std::uint64_t seed, std::vector<int>* wanted) {
  const Index C = m.config.classes;
  Rng rng(seed, 31);
  const MatF Z = rng.normal_matrix<float>(m.latent(), C * per_class);
  MatF Y = MatF::Zero(C, C * per_class);
  if (wanted) wanted->clear();
  for (Index c = 0; c < C; ++c)
    for (Index i = 0; i < per_class; ++i) {
      Y(c, c * per_class + i) = 1.0f;
      if (wanted) wanted->push_back(int(c));
    }
  return m.decode_mean(Z, Y);
}

// ---- discrete VAE -------------------------------------------------------------------------------

MatF gumbel_matrix(Index rows, Index cols, Rng& rng) {
  MatF G(rows, cols);
  for (Index j = 0; j < cols; ++j) G.col(j) = gumbel_noise(rows, rng).cast<float>();
  return G;
}

VecD dvae_test_elbo(Dvae<float>& m, const ImageSet& test, std::uint64_t seed, VecD* kl) {
  return per_image(test, seed, kl, [&](Index first, Index n, Rng& rng) -> VecD {
    return m.discrete_elbo(test.range<float>(first, n), gumbel_matrix(m.code_size(), n, rng)).cast<double>();
  }, [&] { return m.kl; });
}

Curve train_dvae(Dvae<float>& m, const ImageSet& train, const ImageSet& test, int epochs, double tau0, double tau_min,
                 std::uint64_t seed, std::ostream* progress) {
  Adam<float> adam(m.parameters(), 1e-3f);
  const long steps = long(epochs) * long((train.size() + 127) / 128);
  // tau reaches tau_min after 70% of the steps.
  const double rate = std::log(tau0 / tau_min) / std::max(1.0, 0.7 * double(steps));
  double tau = tau0;
  return train_with_test_elbo(
      adam, train.size(),
      std::string(m.config.straight_through ? "ST " : "") + "Gumbel-softmax VAE 784-" + std::to_string(m.config.hidden) + "-" +
          std::to_string(m.config.groups) + "x" + std::to_string(m.config.classes),
      epochs, seed, progress,
      [&](const Minibatch& b) {
        tau = annealed_temperature(tau0, tau_min, rate, adam.steps());
        const MatF X = train.batch<float>(b.indices, b.size);
        Rng rng = b.rng();
        const float loss = m.forward(X, gumbel_matrix(m.code_size(), b.size, rng), float(tau));
        m.backward();
        return double(loss);
      },
      [&] { return dvae_test_elbo(m, test, seed + 77); },
      [&](Curve& curve) {
        curve.tau.push_back(tau);
        return "tau " + std::to_string(tau).substr(0, 5) + ", discrete z: ";
      });
}

// ---- chapter 8's VAE ------------------------------------------------------------------------------

VecD gaussian_test_elbo(ch08::Vae<float>& m, const ImageSet& test, std::uint64_t seed, VecD* kl) {
  return per_image(test, seed, kl, [&](Index first, Index n, Rng& rng) -> VecD {
    m.forward(test.range<float>(first, n), rng.normal_matrix<float>(m.latent(), n));
    return -(m.reconstruction + m.kl).cast<double>();
  }, [&] { return m.kl; });
}

Curve train_gaussian_vae(ch08::Vae<float>& m, const ImageSet& train, const ImageSet& test, int epochs, std::uint64_t seed,
                         std::ostream* progress) {
  Adam<float> adam(m.parameters(), 1e-3f);
  return train_with_test_elbo(
      adam, train.size(),
      "Gaussian VAE 784-" + std::to_string(m.config.hidden) + "-" + std::to_string(m.latent()) + " (chapter 8)", epochs, seed,
      progress,
      [&](const Minibatch& b) {
        const MatF X = train.batch<float>(b.indices, b.size);
        Rng rng = b.rng();
        const float loss = m.forward(X, rng.normal_matrix<float>(m.latent(), b.size));
        m.backward(X);
        return double(loss);
      },
      [&] { return gaussian_test_elbo(m, test, seed + 77); }, no_note);
}

}  // namespace course::ch12
