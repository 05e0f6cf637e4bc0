// The convolution layers (course/conv.hpp): gradient checks against central differences for
// stride 1 and 2, padding 0 and 1 and several channel counts, each rejecting the planted wrong
// backward passes a hand-written convolution typically has; the transposed convolution as the
// exact adjoint of the convolution; the weight mask; the bits for 1 and 2 threads.
//
// Every loss is L = <R, Y> for a fixed random R, so dL/dY = R and the check sees the layer alone.

#include "check_test.hpp"
#include "thread_test.hpp"
#include "course/conv.hpp"
#include "course/sequential.hpp"

using namespace course;
using namespace course::nn;

namespace {

double inner(const MatD& R, const MatD& Y) { return (R.array() * Y.array()).sum(); }

struct Shape {
  Index in_ch, out_ch, kernel, stride, padding, height, width;
  std::string name() const {
    return "C" + std::to_string(in_ch) + "->" + std::to_string(out_ch) + " k" + std::to_string(kernel) + " s" +
           std::to_string(stride) + " p" + std::to_string(padding) + " " + std::to_string(height) + "x" + std::to_string(width);
  }
};
// Stride 1 and 2, padding 0 and 1, 1 to 4 channels, square and non-square images, odd and even kernels.
const std::vector<Shape> shapes = {{1, 2, 3, 1, 0, 5, 5}, {2, 3, 3, 1, 1, 5, 4}, {2, 2, 3, 2, 1, 7, 7},
                                   {3, 4, 4, 2, 1, 8, 6}, {2, 3, 2, 2, 0, 6, 6}, {4, 4, 3, 2, 0, 7, 5}};

// W with every kernel rotated by 180 degrees: W'(o, c, i, j) = W(o, c, k-1-i, k-1-j).
MatD rotate_kernels(const MatD& W, Index channels, Index k) {
  MatD R = W;
  for (Index o = 0; o < W.rows(); ++o)
    for (Index c = 0; c < channels; ++c)
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j) R(o, (c * k + i) * k + j) = W(o, (c * k + (k - 1 - i)) * k + (k - 1 - j));
  return R;
}
// W with the roles of its two channel indices exchanged (in == out channels): W'(o, c) = W(c, o).
MatD swap_channels(const MatD& W, Index channels, Index k) {
  MatD S = W;
  for (Index o = 0; o < W.rows(); ++o)
    for (Index c = 0; c < channels; ++c) S.block(o, c * k * k, 1, k * k) = W.block(c, o * k * k, 1, k * k);
  return S;
}
// col2im of the columns of P with another geometry (a planted mistake), into a fresh dX.
MatD col2im_all(const ConvGeometry& g, const MatD& P, Index B) {
  MatD dX = MatD::Zero(g.image_size(), B);
  for (Index s = 0; s < B; ++s) col2im(g, P, s * g.patches(), dX.col(s));
  return dX;
}

// dX of `layer` at X when dL/dY = R (dW and db accumulate into the layer).
template <class Layer>
MatD input_gradient(Layer& layer, const MatD& X, const MatD& R) {
  MatD Y, dX;
  layer.forward(X, Y);
  layer.backward(X, Y, R, &dX);
  return dX;
}
// L = <R, layer(X)> at the layer's and X's current values (the gradient check perturbs them).
template <class Layer>
std::function<double()> inner_loss(const Layer& layer, const MatD& X, const MatD& R) {
  return [l = &layer, x = &X, r = &R] {
    MatD out;
    l->forward(*x, out);
    return inner(*r, out);
  };
}
// The planted input gradient of a copy of `layer` whose kernels are rotated by 180 degrees
// (`channels`: the count of the kernels' channel index).
template <class Layer>
MatD unflipped_input_gradient(const Layer& layer, Index channels, const MatD& X, const MatD& R) {
  Layer unflipped = layer;
  unflipped.W = rotate_kernels(layer.W, channels, layer.g.kernel);
  return input_gradient(unflipped, X, R);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv)

BOOST_AUTO_TEST_CASE(conv_geometry_gives_the_output_size_and_rejects_kernels_that_do_not_fit) {
  const ConvGeometry g = ConvGeometry::of_convolution(1, 28, 28, 4, 2, 1);
  BOOST_TEST(g.out_height == 14);
  BOOST_TEST(g.out_width == 14);
  BOOST_TEST(ConvGeometry::of_convolution(3, 7, 5, 3, 2, 0).out_width == 2);  // floor((5 - 3) / 2) + 1
  BOOST_CHECK_THROW(ConvGeometry::of_convolution(1, 2, 2, 5, 1, 1), InputError);
  BOOST_CHECK_THROW(ConvGeometry::of_convolution(1, 5, 5, 3, 0, 0), InputError);
  Rng rng(1);
  const ConvTranspose2d<double> up(64, 32, 4, 2, 1, 7, 7, rng);
  BOOST_TEST(up.out_size() == 32 * 14 * 14);
}

BOOST_AUTO_TEST_CASE(eq_conv_conv2d_backward_matches_central_differences_and_rejects_planted_mistakes) {
  Rng rng(41);
  const Index B = 2;
  for (const Shape& s : shapes) {
    Conv2d<double> layer(s.in_ch, s.out_ch, s.kernel, s.stride, s.padding, s.height, s.width, rng);
    MatD X = rng.normal_matrix<double>(layer.in_size(), B);
    const MatD R = rng.normal_matrix<double>(layer.out_size(), B);
    MatD dX = input_gradient(layer, X, R);
    const auto loss = inner_loss(layer, X, R);
    COURSE_CHECK(check_gradient("conv", "Conv2d " + s.name() + ": dW, db, dX", loss,
                                {grad_block("W", layer.W, layer.dW), grad_block("b", layer.b, layer.db), grad_block("X", X, dX)}));

    // Planted: the input gradient correlates dY with the kernels as they are (not flipped).
    const MatD dX_unflipped = unflipped_input_gradient(layer, s.in_ch, X, R);
    COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("X", X, dX_unflipped)}),
                         s.name() + ": kernel not flipped in the input gradient");
    // Planted (equal channel counts, where the shapes cannot tell): the kernel's channel roles not
    // transposed in the input gradient.
    if (s.in_ch == s.out_ch) {
      Conv2d<double> untransposed = layer;
      untransposed.W = swap_channels(layer.W, s.in_ch, s.kernel);
      const MatD dX_untransposed = input_gradient(untransposed, X, R);
      COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("X", X, dX_untransposed)}),
                           s.name() + ": kernel channels not transposed in the input gradient");
    }
    // Planted: col2im that ignores the stride (patches put back at stride 1).
    if (s.stride > 1) {
      ConvGeometry g1 = layer.g;
      g1.stride = 1;
      const MatD dX_stride = col2im_all(g1, layer.dP_, B);
      COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("X", X, dX_stride)}),
                           s.name() + ": stride ignored in col2im");
    }
    // Planted: col2im that subtracts the padding twice.
    if (s.padding > 0) {
      ConvGeometry g2 = layer.g;
      g2.padding = 2 * s.padding;
      const MatD dX_pad = col2im_all(g2, layer.dP_, B);
      COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("X", X, dX_pad)}),
                           s.name() + ": padding counted twice in col2im");
    }
  }
}

BOOST_AUTO_TEST_CASE(eq_conv_conv_transpose2d_backward_matches_central_differences_and_rejects_planted_mistakes) {
  Rng rng(42);
  const Index B = 2;
  for (const Shape& s : shapes) {
    // The transposed convolution that maps the Conv2d's output grid back to its input image.
    const ConvGeometry conv_g = ConvGeometry::of_convolution(s.out_ch, s.height, s.width, s.kernel, s.stride, s.padding);
    const Index op = (s.height + 2 * s.padding - s.kernel) % s.stride;  // PyTorch's output_padding
    if ((s.width + 2 * s.padding - s.kernel) % s.stride != op) continue;
    ConvTranspose2d<double> layer(s.in_ch, s.out_ch, s.kernel, s.stride, s.padding, conv_g.out_height, conv_g.out_width, rng, op);
    BOOST_TEST(layer.out_size() == s.out_ch * s.height * s.width);
    MatD X = rng.normal_matrix<double>(layer.in_size(), B);
    const MatD R = rng.normal_matrix<double>(layer.out_size(), B);
    MatD dX = input_gradient(layer, X, R);
    const auto loss = inner_loss(layer, X, R);
    COURSE_CHECK(check_gradient("conv", "ConvTranspose2d " + s.name() + ": dW, db, dX", loss,
                                {grad_block("W", layer.W, layer.dW), grad_block("b", layer.b, layer.db), grad_block("X", X, dX)}));
    // Planted: the input gradient of a transposed convolution is a convolution of dY; done with the
    // kernels not flipped relative to the forward pass, it is wrong.
    const MatD dX_unflipped = unflipped_input_gradient(layer, s.out_ch, X, R);
    COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("X", X, dX_unflipped)}),
                         s.name() + ": transposed conv, kernel not flipped in the input gradient");
    // Planted: db summed over the samples but only over the first pixel of each channel.
    VecD db_first(layer.b.size());
    for (Index c = 0; c < layer.b.size(); ++c) db_first(c) = R.row(c * s.height * s.width).sum();
    COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("b", layer.b, db_first)}),
                         s.name() + ": transposed conv, db from one pixel per channel");
  }
}

BOOST_AUTO_TEST_CASE(eq_conv_adjoint_conv_transpose2d_is_the_adjoint_of_conv2d) {
  // <A x, y> = <x, A^T y> with A = Conv2d (bias 0) and A^T = ConvTranspose2d with the same W.
  Rng rng(43);
  for (const Shape& s : shapes) {
    Conv2d<double> A(s.in_ch, s.out_ch, s.kernel, s.stride, s.padding, s.height, s.width, rng);
    A.b.setZero();
    const Index op_h = (s.height + 2 * s.padding - s.kernel) % s.stride, op_w = (s.width + 2 * s.padding - s.kernel) % s.stride;
    if (op_h != op_w) continue;
    ConvTranspose2d<double> At(s.out_ch, s.in_ch, s.kernel, s.stride, s.padding, A.g.out_height, A.g.out_width, rng, op_h);
    At.W = A.W;  // (in = out_ch) x (in_ch k k): the same matrix
    At.b.setZero();
    const MatD x = rng.normal_matrix<double>(A.in_size(), 3), y = rng.normal_matrix<double>(A.out_size(), 3);
    MatD Ax, Aty;
    A.forward(x, Ax);
    At.forward(y, Aty);
    const double lhs = inner(Ax, y), rhs = inner(x, Aty);
    COURSE_CHECK(check_identity("conv", "<A x, y> = <x, A^T y>, " + s.name(), lhs, rhs, 1e-12));
    // Planted: a "transpose" whose kernels are not flipped is not the adjoint.
    ConvTranspose2d<double> wrong = At;
    wrong.W = rotate_kernels(A.W, s.in_ch, s.kernel);
    MatD Wy;
    wrong.forward(y, Wy);
    COURSE_CHECK_REJECTS(check_identity("conv", "", lhs, inner(x, Wy), 1e-12), s.name() + ": unflipped kernels as the adjoint");
    // The gradient of Conv2d is the adjoint applied to dY: backward's dX = A^T R.
    MatD dX;
    A.backward(x, Ax, y, &dX);
    COURSE_CHECK(check_identity("conv", "Conv2d dX = ConvTranspose2d(dY), " + s.name(), dX, Aty, 1e-12));
  }
}

BOOST_AUTO_TEST_CASE(eq_conv_masked_conv2d_uses_and_trains_only_the_unmasked_weights) {
  // PixelCNN's mask A on a 3x3 kernel: only the pixels above and to the left of the centre.
  Rng rng(44);
  Conv2d<double> layer(2, 3, 3, 1, 1, 5, 5, rng);
  MatD mask = MatD::Zero(layer.W.rows(), layer.W.cols());
  for (Index o = 0; o < 3; ++o)
    for (Index c = 0; c < 2; ++c)
      for (Index q = 0; q < 4; ++q) mask(o, c * 9 + q) = 1.0;  // (0,0) (0,1) (0,2) (1,0)
  layer.set_mask(mask);
  MatD X = rng.normal_matrix<double>(layer.in_size(), 2);
  const MatD R = rng.normal_matrix<double>(layer.out_size(), 2);
  MatD Y, dX;
  layer.forward(X, Y);
  layer.backward(X, Y, R, &dX);
  auto loss = [&] {
    MatD out;
    layer.forward(X, out);
    return inner(R, out);
  };
  COURSE_CHECK(check_gradient("conv", "masked Conv2d: dW (masked), db, dX", loss,
                              {grad_block("W", layer.W, layer.dW), grad_block("b", layer.b, layer.db), grad_block("X", X, dX)}));
  // Planted: the weight gradient without the mask (masked weights would move).
  Conv2d<double> unmasked = layer;
  unmasked.mask.resize(0, 0);
  unmasked.zero_grad();
  MatD Yu;
  unmasked.forward(X, Yu);
  unmasked.backward(X, Yu, R, nullptr);
  COURSE_CHECK_REJECTS(check_gradient("conv", "", loss, {grad_block("W", layer.W, unmasked.dW)}), "masked conv: dW without the mask");
  // The masked weights get exactly zero gradient, so Adam never moves them.
  BOOST_TEST((layer.dW.array() * (1.0 - mask.array())).abs().maxCoeff() == 0.0);
}

BOOST_AUTO_TEST_CASE(a_convolutional_autoencoder_trains_bitwise_the_same_on_one_and_two_threads) {
  auto model = [] {
    Rng init(45);
    Sequential<float> net;
    net.add(Conv2d<float>(1, 16, 4, 2, 1, 12, 12, init));      // 1x12x12 -> 16x6x6
    net.add(Activation::ReLU);
    net.add(Conv2d<float>(16, 24, 4, 2, 1, 6, 6, init));       // -> 24x3x3
    net.add(Activation::ReLU);
    net.add(Linear<float>(24 * 9, 8, init));
    net.add(Linear<float>(8, 24 * 9, init));
    net.add(Activation::ReLU);
    net.add(ConvTranspose2d<float>(24, 16, 4, 2, 1, 3, 3, init));  // -> 16x6x6
    net.add(Activation::ReLU);
    net.add(ConvTranspose2d<float>(16, 1, 4, 2, 1, 6, 6, init));   // -> 1x12x12
    return net;
  };
  Sequential<float> start = model();
  test::check_bitwise_equal_for_1_and_2_threads(test::values_of(start.parameters()), [&] {
    Sequential<float> net = model();
    Adam<float> adam(net.parameters("cae"), 1e-2f);
    Rng rng(46);
    for (int step = 0; step < 4; ++step) {
      const MatF X = rng.uniform_matrix<float>(144, 20, 0.0, 1.0);  // 3 sample blocks of 8
      adam.zero_grad();
      const MatF Y = net.forward(X);
      net.backward(bce_with_logits_backward<float>(Y, X), false);
      adam.step();
    }
    return test::values_of(net.parameters());
  });
}

BOOST_AUTO_TEST_SUITE_END()
