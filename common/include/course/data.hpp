// Data: IDX image files (Fashion-MNIST, MNIST), the procedural sprites dataset, 2-D toy sets and
// seeded shuffled minibatches. Images stay uint8 and are converted to [0, 1] a minibatch at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course {

// A set of equally sized grey images, stored as uint8, row-major within an image.
struct ImageSet {
  std::string name;                      // "Fashion-MNIST", "MNIST", "sprites"
  Index rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;      // size() * dim() bytes
  std::vector<std::uint8_t> labels;      // one class label per image
  std::vector<std::string> class_names;  // names of the label values
  // Known generative factors (sprites only): one row per image, one column per factor.
  MatD factors;
  std::vector<std::string> factor_names;

  Index size() const { return rows * cols == 0 ? 0 : Index(pixels.size()) / (rows * cols); }
  Index dim() const { return rows * cols; }

  // Images idx[0..count) as a dim() x count matrix with values in [0, 1].
  template <class Scalar>
  Mat<Scalar> batch(const Index* idx, Index count) const {
    Mat<Scalar> X(dim(), count);
    const Scalar scale = Scalar(1) / Scalar(255);
    for (Index j = 0; j < count; ++j) {
      const std::uint8_t* p = pixels.data() + idx[j] * dim();
      for (Index i = 0; i < dim(); ++i) X(i, j) = Scalar(p[i]) * scale;
    }
    return X;
  }
  // Images [first, first + count) as a matrix.
  template <class Scalar>
  Mat<Scalar> range(Index first, Index count) const {
    std::vector<Index> idx(static_cast<std::size_t>(count));
    for (Index j = 0; j < count; ++j) idx[std::size_t(j)] = first + j;
    return batch<Scalar>(idx.data(), count);
  }
  template <class Scalar>
  Mat<Scalar> all() const { return range<Scalar>(0, size()); }

  // The first n images (and their labels and factors).
  ImageSet head(Index n) const;
};

// Reads an IDX image file and its IDX label file, raw or gzip-compressed (detected by content).
// Throws InputError naming the file for: a missing file, a wrong magic number, a truncated file,
// absurd dimensions, or image and label counts that differ.
ImageSet read_idx(const std::filesystem::path& images, const std::filesystem::path& labels);

struct TrainTest {
  ImageSet train, test;
  std::string source;  // the directory read, or "built-in sprites"
  bool real = false;   // false when the sprites fallback is used
};

// Finds the IDX files in, in order: `data_dir` (the --data flag), $COURSE_DATA, and
// /usr/share/datasets/fashion-mnist. A directory named by the flag or the variable must hold the
// files (an InputError otherwise); when neither is set and the Debian directory is absent, falls
// back to the sprites dataset and says so in one line on `log`.
TrainTest load_image_data(const std::string& data_dir, std::ostream& log,
                          Index fallback_train = 12000, Index fallback_test = 2000);

// The directory load_image_data would read, or "" when it would fall back to sprites.
std::string find_image_data(const std::string& data_dir);

// ---------------------------------------------------------------------------------------------
// Sprites: 28 x 28 shapes with known factors, like dSprites.
// Factors (columns of `factors`): shape (0 square, 1 ellipse, 2 triangle), scale in [0.5, 1],
// rotation in [0, 90) degrees, x and y position of the centre in [-0.5, 0.5] (fraction of width).
// ---------------------------------------------------------------------------------------------
ImageSet make_sprites(Index n, std::uint64_t seed);
// Renders one sprite with the given factors into 28 x 28 uint8 pixels.
void render_sprite(int shape, double scale, double rotation_deg, double x, double y,
                   std::uint8_t* out);

// ---------------------------------------------------------------------------------------------
// 2-D toy sets
// ---------------------------------------------------------------------------------------------

// A mixture of isotropic 2-D Gaussians: sum_c w_c N(mean_c, var_c I).
struct GaussianMixture2D {
  std::vector<double> weights;
  std::vector<Eigen::Vector2d> means;
  std::vector<double> variances;

  // `count` components with equal weights on a circle of radius `radius`, each of variance `var`.
  static GaussianMixture2D ring(int count, double radius, double var);
  // n samples (2 x n) and their component labels.
  MatD sample(Index n, Rng& rng, std::vector<int>* labels = nullptr) const;
  // log density of the mixture convolved with N(0, extra_var I) (extra_var = 0: the mixture).
  double log_density(const Eigen::Vector2d& x, double extra_var = 0.0) const;
  // grad_x log density of the same smoothed mixture.
  Eigen::Vector2d score(const Eigen::Vector2d& x, double extra_var = 0.0) const;
};

// Two interleaved half circles with Gaussian noise of standard deviation `noise` (2 x n), labels 0/1.
MatD make_two_moons(Index n, double noise, Rng& rng, std::vector<int>* labels = nullptr);

// ---------------------------------------------------------------------------------------------
// Minibatches: a seeded shuffle of [0, n), cut into batches (the last one may be smaller).
// ---------------------------------------------------------------------------------------------
class Minibatches {
 public:
  Minibatches(Index n, Index batch_size, Rng& rng);
  Index count() const { return (Index(order_.size()) + batch_ - 1) / batch_; }
  // Indices of batch k and their number.
  const Index* indices(Index k) const { return order_.data() + k * batch_; }
  Index size(Index k) const { return std::min<Index>(batch_, Index(order_.size()) - k * batch_); }

 private:
  std::vector<Index> order_;
  Index batch_;
};

}  // namespace course
