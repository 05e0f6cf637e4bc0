// The bodies of 11_ae_limits/models.hpp, compiled once for the chapter program and its tests.
#include "11_ae_limits/models.hpp"

#include <ostream>

#include "08_vae/checks.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch11 {

ImageSet select_classes(const ImageSet& set, const std::function<bool(int)>& keep, Index max_count) {
  ImageSet s;
  s.name = set.name;
  s.rows = set.rows;
  s.cols = set.cols;
  s.class_names = set.class_names;
  const Index D = set.dim();
  for (Index i = 0; i < set.size() && (max_count < 0 || Index(s.labels.size()) < max_count); ++i) {
    if (!keep(set.labels[std::size_t(i)])) continue;
    s.labels.push_back(set.labels[std::size_t(i)]);
    s.pixels.insert(s.pixels.end(), set.pixels.begin() + i * D, set.pixels.begin() + (i + 1) * D);
  }
  return s;
}

MatD encode_means(Vae<float>& model, const ImageSet& set, Index first, Index count) {
  MatD Z(model.latent(), count);
  for (Index b = 0; b < count; b += 1000) {
    const Index m = std::min<Index>(1000, count - b);
    model.encode(set.range<float>(first + b, m));
    Z.middleCols(b, m) = model.mu().cast<double>();
  }
  return Z;
}

MatD encode_draws(Vae<float>& model, const ImageSet& set, Index first, Index count, Rng& rng) {
  MatD Z(model.latent(), count);
  for (Index b = 0; b < count; b += 1000) {
    const Index m = std::min<Index>(1000, count - b);
    model.encode(set.range<float>(first + b, m));
    const MatD sd = (0.5 * model.log_var().cast<double>().array()).exp();
    Z.middleCols(b, m) = model.mu().cast<double>() + sd.cwiseProduct(rng.normal_matrix<double>(model.latent(), m));
  }
  return Z;
}

MatD decode_means(Vae<float>& model, const MatD& Z) {
  MatD X(model.config.input, Z.cols());
  for (Index b = 0; b < Z.cols(); b += 1000) {
    const Index m = std::min<Index>(1000, Z.cols() - b);
    X.middleCols(b, m) = model.decode_mean(Z.middleCols(b, m).cast<float>()).cast<double>();
  }
  return X;
}

VecD reconstruction_scores(Vae<float>& model, const ImageSet& set) {
  VecD s(set.size());
  for (Index b = 0; b < set.size(); b += 1000) {
    const Index m = std::min<Index>(1000, set.size() - b);
    const MatF X = set.range<float>(b, m);
    model.forward(X, MatF::Zero(model.latent(), m));  // z = mu(x)
    s.segment(b, m) = model.reconstruction.cast<double>();
  }
  return s;
}

VecD negative_elbo_scores(Vae<float>& model, const ImageSet& set, int samples, std::uint64_t seed) {
  VecD s = VecD::Zero(set.size());
  for (Index b = 0, chunk = 0; b < set.size(); b += 1000, ++chunk) {
    const Index m = std::min<Index>(1000, set.size() - b);
    const MatF X = set.range<float>(b, m);
    Rng rng(seed, std::uint64_t(chunk));
    for (int t = 0; t < samples; ++t) {
      model.forward(X, rng.normal_matrix<float>(model.latent(), m));
      s.segment(b, m) += (model.reconstruction + model.kl).cast<double>() / double(samples);
    }
  }
  return s;
}

VecD negative_iw_scores(const Vae<float>& model, const ImageSet& set, Index M, std::uint64_t seed) {
  VecD s(set.size());
  for (Index b = 0; b < set.size(); b += 1000) {
    const Index m = std::min<Index>(1000, set.size() - b);
    const ch08::IwEstimates iw = ch08::importance_weighted(model, set.range<float>(b, m), {M}, seed + std::uint64_t(b));
    s.segment(b, m) = -iw.L.col(0);
  }
  return s;
}

}  // namespace course::ch11
