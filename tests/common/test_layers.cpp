// The dense layer stack (course/nn.hpp, course/sequential.hpp): every backward pass against
// central differences in double, each test also handing the same check a planted wrong backward
// (the mistake a student or a refactoring would make) and asserting that the check rejects it.
//
// The loss of every check is a fixed linear functional of the layer's output, L = <R, Y> =
// sum_ij R_ij Y_ij, so dL/dY = R exactly and the check sees the layer's backward alone.
#include "check_test.hpp"
#include "course/nn.hpp"
#include "course/sequential.hpp"

using namespace course;
using namespace course::nn;

namespace {

double inner(const MatD& R, const MatD& Y) { return (R.array() * Y.array()).sum(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(layers)

BOOST_AUTO_TEST_CASE(linear_backward_matches_central_differences_and_rejects_planted_mistakes) {
  Rng rng(11);
  // out = 20 rows: three row blocks of 8, 8 and 4 (row_block), so the partition is exercised.
  Linear<double> layer(13, 20, rng);
  MatD X = rng.normal_matrix<double>(13, 5);
  const MatD R = rng.normal_matrix<double>(20, 5);
  auto loss = [&] { return inner(R, layer.forward(X)); };
  layer.zero_grad();
  const MatD dX = layer.backward(X, R);
  const std::vector<GradBlock> blocks = {grad_block("W", layer.W, layer.dW), grad_block("b", layer.b, layer.db),
                                         grad_block("X", X, dX)};
  COURSE_CHECK(check_gradient("nn", "Linear: dW = dY X^T, db = dY 1, dX = W^T dY", loss, blocks));

  // Planted: db as the batch MEAN of dY (the loss is already averaged by its own backward).
  const VecD db_mean = R.rowwise().mean();
  COURSE_CHECK_REJECTS(check_gradient("nn", "", loss, {grad_block("b", layer.b, db_mean)}), "db = mean of dY over the batch");
  // Planted: dW from the first sample only (the sum over the batch forgotten).
  const MatD dW_first = R.col(0) * X.col(0).transpose();
  COURSE_CHECK_REJECTS(check_gradient("nn", "", loss, {grad_block("W", layer.W, dW_first)}), "dW = dy_1 x_1^T (no sum over the batch)");

  // Planted on a square layer, where the shapes cannot tell: dX = W dY (the transpose forgotten).
  Linear<double> square(9, 9, rng);
  MatD Xs = rng.normal_matrix<double>(9, 4);
  const MatD Rs = rng.normal_matrix<double>(9, 4);
  const MatD wrong_dX = square.W * Rs;
  COURSE_CHECK_REJECTS(check_gradient("nn", "", [&] { return inner(Rs, square.forward(Xs)); }, {grad_block("X", Xs, wrong_dX)}),
                       "dX = W dY (no transpose)");
}

BOOST_AUTO_TEST_CASE(linear_backward_accumulates_and_zero_grad_clears) {
  // The stack's one convention: backward ADDS into dW, db. Two backward passes of the same batch
  // give twice the gradient; a backward that overwrites (chapter 8's old linear_backward) gives once.
  Rng rng(12);
  Linear<double> layer(7, 10, rng);
  const MatD X = rng.normal_matrix<double>(7, 6), R = rng.normal_matrix<double>(10, 6);
  layer.zero_grad();
  layer.backward(X, R, nullptr);
  const MatD once = layer.dW;
  const VecD once_b = layer.db;
  layer.backward(X, R, nullptr);
  COURSE_CHECK(check_identity("nn", "two backward passes accumulate 2 dW", layer.dW, MatD(2 * once)));
  COURSE_CHECK(check_identity("nn", "two backward passes accumulate 2 db", layer.db, MatD(2 * once_b)));
  COURSE_CHECK_REJECTS(check_identity("nn", "", layer.dW, once), "a backward that overwrites dW");
  layer.zero_grad();
  BOOST_TEST(layer.dW.squaredNorm() == 0.0);
  BOOST_TEST(layer.db.squaredNorm() == 0.0);
}

BOOST_AUTO_TEST_CASE(linear_forward_with_a_fused_activation_equals_the_two_steps) {
  Rng rng(13);
  Linear<double> layer(6, 17, rng);
  const MatD X = rng.normal_matrix<double>(6, 9);
  for (Activation f : {Activation::ReLU, Activation::Tanh, Activation::LeakyReLU}) {
    MatD fused;
    linear_forward(layer, X, fused, f);
    const MatD two_steps = activation_forward<double>(f, (layer.W * X).colwise() + layer.b);
    COURSE_CHECK(check_identity("nn", "linear_forward(" + to_string(f) + ") = f(W X + b)", fused, two_steps, 1e-14));
  }
  // A fused relu that forgot the bias (or clipped before adding it) differs.
  const MatD no_bias = (layer.W * X).cwiseMax(0.0);
  MatD fused;
  linear_forward(layer, X, fused, Activation::ReLU);
  COURSE_CHECK_REJECTS(check_identity("nn", "", fused, no_bias, 1e-14), "relu(W X) without the bias");
}

BOOST_AUTO_TEST_CASE(every_activation_backward_matches_central_differences_and_rejects_its_likely_mistake) {
  Rng rng(14);
  // Z away from the kinks of relu and leaky relu (|z| >= 0.1), so central differences are exact there.
  MatD Z = rng.normal_matrix<double>(4, 6);
  Z = Z.unaryExpr([](double z) { return z >= 0 ? z + 0.1 : z - 0.1; });
  const MatD R = rng.normal_matrix<double>(4, 6);
  struct Case {
    Activation f;
    std::string wrong;
    std::function<MatD(const MatD& Z, const MatD& H)> wrong_dZ;
  };
  const double slope = leaky_relu_slope;
  const std::vector<Case> cases = {
      {Activation::Identity, "dZ = 0 (identity treated as constant)", [&](const MatD& Zc, const MatD&) { return MatD(MatD::Zero(Zc.rows(), Zc.cols())); }},
      {Activation::ReLU, "dZ = dH (the mask [z > 0] forgotten)", [&](const MatD&, const MatD&) { return R; }},
      {Activation::LeakyReLU, "the slope on the positive side: z > 0 ? 0.2 : 1",
       [&](const MatD& Zc, const MatD&) { return MatD((Zc.array() > 0).select(slope * R.array(), R.array())); }},
      {Activation::Sigmoid, "sigmoid'(h) = s(h)(1 - s(h)) at the output h instead of the input z",
       [&](const MatD&, const MatD& H) {
         const MatD s = activation_forward<double>(Activation::Sigmoid, H);
         return MatD(R.array() * s.array() * (1 - s.array()));
       }},
      {Activation::Tanh, "tanh' = 1 - z^2 (the input for the output)",
       [&](const MatD& Zc, const MatD&) { return MatD(R.array() * (1 - Zc.array().square())); }},
      {Activation::Softplus, "softplus' = sigmoid(h) (the output for the input)",
       [&](const MatD&, const MatD& H) { return MatD(R.array() * activation_forward<double>(Activation::Sigmoid, H).array()); }},
  };
  for (const Case& c : cases) {
    const MatD H = activation_forward(c.f, Z);
    const MatD dZ = activation_backward<double>(c.f, Z, H, R);
    auto loss = [&] { return inner(R, activation_forward(c.f, Z)); };
    COURSE_CHECK(check_gradient("nn", to_string(c.f) + " backward", loss, {grad_block("Z", Z, dZ)}));
    const MatD wrong = c.wrong_dZ(Z, H);
    COURSE_CHECK_REJECTS(check_gradient("nn", "", loss, {grad_block("Z", Z, wrong)}), to_string(c.f) + ": " + c.wrong);
  }
  // Softplus is stable where the naive log(1 + e^z) overflows.
  COURSE_CHECK(check_identity("nn", "softplus(1000) = 1000", softplus(1000.0), 1000.0));
  COURSE_CHECK(check_identity("nn", "softplus(-1000) = e^-1000 ~ 0", softplus(-1000.0), 0.0));
}

BOOST_AUTO_TEST_CASE(parse_activation_round_trips_and_rejects_unknown_names) {
  for (Activation f : {Activation::Identity, Activation::ReLU, Activation::LeakyReLU, Activation::Sigmoid,
                       Activation::Tanh, Activation::Softplus})
    BOOST_TEST(int(parse_activation(to_string(f))) == int(f));
  BOOST_CHECK_THROW(parse_activation("swish"), InputError);
}

// A 6-20-9-4 network with relu and tanh between its layers.
Sequential<double> small_network(Rng& rng) {
  Sequential<double> net;
  net.add(Linear<double>(6, 20, rng));
  net.add(Activation::ReLU);
  net.add(Linear<double>(20, 9, rng));
  net.add(Activation::Tanh);
  net.add(Linear<double>(9, 4, rng));
  return net;
}

BOOST_AUTO_TEST_CASE(sequential_backward_matches_central_differences_for_every_parameter_and_the_input) {
  Rng rng(15);
  Sequential<double> net = small_network(rng);
  MatD X = rng.normal_matrix<double>(6, 7);
  const MatD R = rng.normal_matrix<double>(4, 7);
  net.zero_grad();
  net.forward(X);
  const MatD dX = net.backward(R);
  std::vector<GradBlock> blocks = {grad_block("X", X, dX)};
  for (std::size_t l : {0u, 2u, 4u}) {
    Linear<double>& layer = net.at<Linear<double>>(l);
    blocks.push_back(grad_block("W" + std::to_string(l), layer.W, layer.dW));
    blocks.push_back(grad_block("b" + std::to_string(l), layer.b, layer.db));
  }
  auto loss = [&] { return inner(R, net.forward(X)); };
  COURSE_CHECK(check_gradient("nn", "Sequential " + net.describe(), loss, blocks));
  BOOST_TEST(net.parameters("net").size() == 6u);
  BOOST_TEST(net.parameters("net")[2].name == "net.2.W");

  // Planted: a backward that skips the activations' derivatives (the same weights, identity in
  // place of relu and tanh on the way back).
  Sequential<double> linear_twin;
  for (std::size_t l : {0u, 2u, 4u}) {
    linear_twin.add(net.at<Linear<double>>(l));
    if (l < 4) linear_twin.add(Activation::Identity);
  }
  linear_twin.zero_grad();
  linear_twin.forward(X);
  const MatD wrong_dX = linear_twin.backward(R);
  COURSE_CHECK_REJECTS(check_gradient("nn", "", loss, {grad_block("X", X, wrong_dX)}),
                       "backward through the linear layers alone (activation derivatives skipped)");
}

BOOST_AUTO_TEST_CASE(sequential_copies_are_deep_and_sizes_are_checked) {
  Rng rng(16);
  Sequential<double> a = small_network(rng);
  Sequential<double> b = a;
  b.at<Linear<double>>(0).W(0, 0) += 1.0;
  BOOST_TEST(a.at<Linear<double>>(0).W(0, 0) != b.at<Linear<double>>(0).W(0, 0));
  BOOST_CHECK_THROW(a.add(Linear<double>(5, 3, rng)), std::invalid_argument);  // a gives 4 outputs
  BOOST_CHECK_THROW(a.at<Linear<double>>(1), std::invalid_argument);           // layer 1 is the relu
  BOOST_TEST(a.in_size() == 6);
  BOOST_TEST(a.out_size() == 4);
  // A first network needs no input gradient.
  a.forward(rng.normal_matrix<double>(6, 3));
  BOOST_TEST(a.backward(MatD::Ones(4, 3), false).size() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
