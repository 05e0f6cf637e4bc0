// The bodies of 02_deep_ae/deep_ae.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "02_deep_ae/deep_ae.hpp"

namespace course::ch02 {

std::vector<DenseLayer> to_dense_layers(const DeepAutoencoder<double>& ae) {
  std::vector<DenseLayer> out;
  for (std::size_t l = 0; l < ae.depth(); ++l) out.push_back({ae.dense_layer(l).W, ae.dense_layer(l).b, ae.dense_activation(l)});
  return out;
}

Index count_of(const ImageSet& s) { return s.size(); }

MatD make_bump_images(Index n, Index d, double width, std::uint64_t seed) {
  Rng rng(seed, 11);
  MatD X(d, n);
  for (Index j = 0; j < n; ++j) {
    const double t = rng.uniform(2.0 * width, double(d - 1) - 2.0 * width);
    for (Index i = 0; i < d; ++i) X(i, j) = std::exp(-(double(i) - t) * (double(i) - t) / (2.0 * width * width));
  }
  return X;
}

}  // namespace course::ch02
