// Convolutions on the course's layout: a batch is a matrix with one sample per column, and an
// image sample is C x H x W in one column, index c H W + y W + x (channel-major, then rows, then
// columns). A convolution's output column feeds a Linear layer as it is, and a Linear layer's
// output feeds a ConvTranspose2d as it is.
//
// Both layers are im2col/col2im around one GEMM each way, products partitioned as everywhere in
// the stack (course/nn.hpp: fixed blocks, never from the thread count; backward accumulates into
// dW, db and writes dX). Notation for one sample: the input x (C x H x W), k x k kernels, stride
// s, padding p, output OH x OW with OH = floor((H + 2p - k) / s) + 1. The patch matrix of x is
//   P(c k k + i k + j, oy OW + ox) = x(c, oy s - p + i, ox s - p + j)    (0 outside the image),
// one column per output pixel (im2col); col2im is its adjoint: it adds each patch entry back onto
// the input pixel it came from.
//
//   Conv2d            y = W P(x) + b                 W: K x (C k k), b: K
//                     dW += dy P(x)^T,  db += dy 1,  dx = col2im(W^T dy)
//   ConvTranspose2d   y = col2im(W^T x) + b          W: C_in x (C_out k k) (PyTorch's layout)
//                     dW += x P(dy)^T,  db += sums of dy per channel,  dx = W P(dy)
// ConvTranspose2d is exactly the adjoint of the Conv2d with the same W and the roles of input
// and output swapped (tests/common/test_conv.cpp checks <A x, y> = <x, A^T y> to 1e-12).
//
// Public names (stable): ConvGeometry, im2col, col2im, Conv2d, ConvTranspose2d.
#pragma once

#include <string>
#include <vector>

#include "course/error.hpp"
#include "course/nn.hpp"

namespace course::nn {

// =============================================================================================
// Geometry, im2col and col2im
// =============================================================================================

// The image side (channels x height x width), the kernel, stride and padding, and the grid of
// output pixels (patches) they give.
struct ConvGeometry {
  Index channels = 1, height = 1, width = 1, kernel = 1, stride = 1, padding = 0;
  Index out_height = 1, out_width = 1;  // the patch grid

  // The grid of a convolution: OH = floor((H + 2p - k) / s) + 1. Throws InputError when the kernel
  // does not fit.
  static ConvGeometry of_convolution(Index channels, Index height, Index width, Index kernel, Index stride, Index padding);
  Index image_size() const { return channels * height * width; }  // rows of an image column
  Index patch_size() const { return channels * kernel * kernel; }  // rows of a patch column
  Index patches() const { return out_height * out_width; }         // patch columns per image
  std::string describe() const;                                   // "3x8x8, k4 s2 p1 -> 4x4"
};

// Patch columns of image `x` (one column, image_size() rows) into P, columns [col0, col0 + patches()).
template <class Scalar, class Image>
void im2col(const ConvGeometry& g, const Image& x, Mat<Scalar>& P, Index col0) {
  const Index k = g.kernel;
  for (Index oy = 0; oy < g.out_height; ++oy)
    for (Index ox = 0; ox < g.out_width; ++ox) {
      Scalar* patch = P.col(col0 + oy * g.out_width + ox).data();
      for (Index c = 0; c < g.channels; ++c)
        for (Index i = 0; i < k; ++i) {
          const Index y = oy * g.stride - g.padding + i;
          for (Index j = 0; j < k; ++j) {
            const Index xx = ox * g.stride - g.padding + j;
            const bool inside = y >= 0 && y < g.height && xx >= 0 && xx < g.width;
            *patch++ = inside ? x((c * g.height + y) * g.width + xx) : Scalar(0);
          }
        }
    }
}

// The adjoint of im2col: adds every entry of P's columns [col0, col0 + patches()) onto the pixel of
// image column `x` it was read from (entries that fell into the padding are dropped).
template <class Scalar, class Image>
void col2im(const ConvGeometry& g, const Mat<Scalar>& P, Index col0, Image&& x) {
  const Index k = g.kernel;
  for (Index oy = 0; oy < g.out_height; ++oy)
    for (Index ox = 0; ox < g.out_width; ++ox) {
      const Scalar* patch = P.col(col0 + oy * g.out_width + ox).data();
      for (Index c = 0; c < g.channels; ++c)
        for (Index i = 0; i < k; ++i) {
          const Index y = oy * g.stride - g.padding + i;
          for (Index j = 0; j < k; ++j, ++patch) {
            const Index xx = ox * g.stride - g.padding + j;
            if (y >= 0 && y < g.height && xx >= 0 && xx < g.width) x((c * g.height + y) * g.width + xx) += *patch;
          }
        }
    }
}

// Between an image column (channels x pixels, channel-major) and `channels` rows of a "flat"
// matrix whose columns are the pixels of the batch (pixel q of sample b in column b * pixels + q).
template <class Scalar>
void image_to_flat(const Mat<Scalar>& X, Index b, Index channels, Index pixels, Mat<Scalar>& F) {
  F.middleCols(b * pixels, pixels) = Eigen::Map<const Mat<Scalar>>(X.col(b).data(), pixels, channels).transpose();
}
template <class Scalar>
void flat_to_image(const Mat<Scalar>& F, Index b, Index channels, Index pixels, Mat<Scalar>& X) {
  Eigen::Map<Mat<Scalar>>(X.col(b).data(), pixels, channels) = F.middleCols(b * pixels, pixels).transpose();
}

// Samples per block of the sample-wise passes (im2col, col2im, the per-sample products): fixed.
inline constexpr Index conv_sample_block = 8;
template <class F>
void for_sample_blocks(Index B, F&& f) {
  parallel::for_blocks((B + conv_sample_block - 1) / conv_sample_block, [&](Index k) {
    const Index first = k * conv_sample_block;
    f(first, std::min(conv_sample_block, B - first));
  });
}

// =============================================================================================
// Conv2d: y = W P(x) + b
// =============================================================================================
template <class Scalar>
struct Conv2d {
  ConvGeometry g;   // the input image and the patch grid (the output is out_channels x OH x OW)
  Index out_channels = 0;
  Mat<Scalar> W;    // out_channels x (C k k), row o = kernel of output channel o, entries (c, i, j)
  Vec<Scalar> b;    // out_channels
  Mat<Scalar> dW;   // accumulated by backward
  Vec<Scalar> db;
  // An optional fixed mask of W's shape (empty: none): the layer uses W .* mask in forward, and
  // dW accumulates (dL/d(W .* mask)) .* mask, so masked weights never move (PixelCNN's masked
  // convolutions). Set it with set_mask.
  Mat<Scalar> mask;

  // Cache of the last forward, for backward.
  mutable Mat<Scalar> P_, Wm_, Yf_;  // forward's (mutable: forward is const, its cache is not the value)
  Mat<Scalar> dYf_, dP_;

  Conv2d() = default;
  // PyTorch's default initialisation: W, b ~ U(-1/sqrt(C k k), 1/sqrt(C k k)).
  Conv2d(Index in_channels, Index out_ch, Index kernel, Index stride, Index padding, Index height, Index width, Rng& rng)
      : g(ConvGeometry::of_convolution(in_channels, height, width, kernel, stride, padding)), out_channels(out_ch) {
    init_weights_and_bias(*this, out_ch, g.patch_size(), out_ch, 1.0 / std::sqrt(double(g.patch_size())), rng);
  }
  void set_mask(const Mat<Scalar>& m) {
    if (m.rows() != W.rows() || m.cols() != W.cols())
      throw std::invalid_argument("Conv2d mask is " + std::to_string(m.rows()) + "x" + std::to_string(m.cols()) + " but W is " +
                                  std::to_string(W.rows()) + "x" + std::to_string(W.cols()));
    mask = m;
  }
  Index in_size() const { return g.image_size(); }
  Index out_size() const { return out_channels * g.patches(); }
  std::string describe() const {
    return "conv " + g.describe() + " x" + std::to_string(out_channels) + (mask.size() ? " (masked)" : "");
  }
  const Mat<Scalar>& effective_weight() const {
    if (mask.size() == 0) return W;
    Wm_ = W.cwiseProduct(mask);
    return Wm_;
  }

  // X: C H W x B -> Y: K OH OW x B.
  void forward(const Mat<Scalar>& X, Mat<Scalar>& Y) const {
    const Index B = X.cols(), n = g.patches(), K = out_channels;
    const Mat<Scalar>& Wk = effective_weight();
    P_.resize(g.patch_size(), n * B);
    Yf_.resize(K, n * B);
    Y.resize(out_size(), B);
    for_sample_blocks(B, [&](Index first, Index count) {
      for (Index s = first; s < first + count; ++s) im2col(g, X.col(s), P_, s * n);
      auto Yk = Yf_.middleCols(first * n, count * n);
      Yk.noalias() = Wk * P_.middleCols(first * n, count * n);
      Yk.colwise() += b;
      for (Index s = first; s < first + count; ++s) flat_to_image(Yf_, s, K, n, Y);
    });
  }
  // dY: K OH OW x B. dW += dYf P^T (.* mask), db += dYf 1, dX = col2im(W^T dYf).
  void backward(const Mat<Scalar>& X, const Mat<Scalar>&, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
    const Index B = dY.cols(), n = g.patches(), K = out_channels;
    ensure_weight_and_bias_grad(*this);
    dYf_.resize(K, n * B);
    for_sample_blocks(B, [&](Index first, Index count) {
      for (Index s = first; s < first + count; ++s) image_to_flat(dY, s, K, n, dYf_);
    });
    for_row_blocks(K, [&](Index r, Index h) {
      if (mask.size() == 0) {
        dW.middleRows(r, h).noalias() += dYf_.middleRows(r, h) * P_.transpose();
      } else {
        const Mat<Scalar> full = dYf_.middleRows(r, h) * P_.transpose();
        dW.middleRows(r, h) += full.cwiseProduct(mask.middleRows(r, h));
      }
      db.segment(r, h) += dYf_.middleRows(r, h).rowwise().sum();
    });
    if (!dX) return;
    const Mat<Scalar>& Wk = mask.size() ? Wm_ : W;
    dP_.resize(g.patch_size(), n * B);
    dX->setZero(g.image_size(), B);
    for_sample_blocks(B, [&](Index first, Index count) {
      dP_.middleCols(first * n, count * n).noalias() = Wk.transpose() * dYf_.middleCols(first * n, count * n);
      for (Index s = first; s < first + count; ++s) col2im(g, dP_, s * n, dX->col(s));
    });
    (void)X;
  }
  void zero_grad() { zero_weight_and_bias_grad(*this); }
  void collect(std::vector<Param<Scalar>>& params, const std::string& name) { collect_weight_and_bias(*this, params, name); }
};

// =============================================================================================
// ConvTranspose2d: y = col2im(W^T x) + b, the adjoint of Conv2d
// =============================================================================================
template <class Scalar>
struct ConvTranspose2d {
  ConvGeometry g;  // the OUTPUT image (out_channels x OH x OW) and the patch grid = the input H x W
  Index in_channels = 0;
  Mat<Scalar> W;   // in_channels x (C_out k k): PyTorch's (in, out, k, k)
  Vec<Scalar> b;   // out_channels
  Mat<Scalar> dW;
  Vec<Scalar> db;

  mutable Mat<Scalar> Xf_, P_;  // forward's cache
  Mat<Scalar> dP_, dXf_;

  ConvTranspose2d() = default;
  // Input in_ch x H x W; output out_ch x OH x OW with OH = (H - 1) s - 2p + k + output_padding.
  // PyTorch's initialisation: U(-1/sqrt(C_out k k), 1/sqrt(C_out k k)).
  ConvTranspose2d(Index in_ch, Index out_ch, Index kernel, Index stride, Index padding, Index height, Index width, Rng& rng,
                  Index output_padding = 0)
      : in_channels(in_ch) {
    if (output_padding < 0 || output_padding >= std::max<Index>(stride, 1))
      throw InputError("ConvTranspose2d: output_padding must be in [0, stride)");
    const Index oh = (height - 1) * stride - 2 * padding + kernel + output_padding;
    const Index ow = (width - 1) * stride - 2 * padding + kernel + output_padding;
    g = ConvGeometry::of_convolution(out_ch, oh, ow, kernel, stride, padding);
    if (g.out_height != height || g.out_width != width)
      throw InputError("ConvTranspose2d: " + g.describe() + " does not invert to " + std::to_string(height) + "x" + std::to_string(width));
    init_weights_and_bias(*this, in_ch, g.patch_size(), out_ch, 1.0 / std::sqrt(double(g.patch_size())), rng);
  }
  Index out_channels() const { return g.channels; }
  Index in_size() const { return in_channels * g.patches(); }
  Index out_size() const { return g.image_size(); }
  std::string describe() const { return "conv-transpose " + std::to_string(in_channels) + "x" + std::to_string(g.out_height) +
                                        "x" + std::to_string(g.out_width) + " -> " + g.describe(); }

  // X: C_in H W x B -> Y: C_out OH OW x B.
  void forward(const Mat<Scalar>& X, Mat<Scalar>& Y) const {
    const Index B = X.cols(), n = g.patches(), C = g.channels;
    Xf_.resize(in_channels, n * B);
    P_.resize(g.patch_size(), n * B);
    Y.resize(out_size(), B);
    for_sample_blocks(B, [&](Index first, Index count) {
      for (Index s = first; s < first + count; ++s) image_to_flat(X, s, in_channels, n, Xf_);
      P_.middleCols(first * n, count * n).noalias() = W.transpose() * Xf_.middleCols(first * n, count * n);
      for (Index s = first; s < first + count; ++s) {
        auto y = Y.col(s);
        for (Index c = 0; c < C; ++c) y.segment(c * g.height * g.width, g.height * g.width).setConstant(b(c));
        col2im(g, P_, s * n, y);
      }
    });
  }
  // dY: C_out OH OW x B. dW += Xf P(dY)^T, db += per-channel sums of dY, dX = W P(dY).
  void backward(const Mat<Scalar>&, const Mat<Scalar>&, const Mat<Scalar>& dY, Mat<Scalar>* dX) {
    const Index B = dY.cols(), n = g.patches(), C = g.channels, pixels = g.height * g.width;
    ensure_weight_and_bias_grad(*this);
    dP_.resize(g.patch_size(), n * B);
    for_sample_blocks(B, [&](Index first, Index count) {
      for (Index s = first; s < first + count; ++s) im2col(g, dY.col(s), dP_, s * n);
    });
    for_row_blocks(in_channels, [&](Index r, Index h) {
      dW.middleRows(r, h).noalias() += Xf_.middleRows(r, h) * dP_.transpose();
    });
    // db: channel c's sum over the pixels of every sample, in sample order.
    for (Index c = 0; c < C; ++c) db(c) += dY.middleRows(c * pixels, pixels).sum();
    if (!dX) return;
    dXf_.resize(in_channels, n * B);
    dX->resize(in_size(), B);
    for_sample_blocks(B, [&](Index first, Index count) {
      dXf_.middleCols(first * n, count * n).noalias() = W * dP_.middleCols(first * n, count * n);
      for (Index s = first; s < first + count; ++s) flat_to_image(dXf_, s, in_channels, n, *dX);
    });
  }
  void zero_grad() { zero_weight_and_bias_grad(*this); }
  void collect(std::vector<Param<Scalar>>& params, const std::string& name) { collect_weight_and_bias(*this, params, name); }
};

}  // namespace course::nn
