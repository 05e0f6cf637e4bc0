// Each layer's backward pass and each loss's gradient against central differences (double).
#include "check_test.hpp"
#include "course/nn.hpp"
#include "course/optim.hpp"

using namespace course;
using namespace course::nn;

BOOST_AUTO_TEST_SUITE(nn)

BOOST_AUTO_TEST_CASE(linear_backward_matches_central_differences) {
  Rng rng(1);
  Linear<double> layer(4, 3, rng);
  const MatD X = rng.normal_matrix<double>(4, 5), T = rng.normal_matrix<double>(3, 5);
  auto loss = [&] { return mse_loss<double>(layer.forward(X), T); };
  layer.zero_grad();
  MatD Xv = X;
  const MatD dX = layer.backward(X, mse_backward<double>(layer.forward(X), T));
  COURSE_CHECK(check_gradient("nn", "Linear dW, db", loss, {grad_block("W", layer.W, layer.dW), grad_block("b", layer.b, layer.db)}));
  COURSE_CHECK(check_gradient("nn", "Linear dX", [&] { return mse_loss<double>(layer.forward(Xv), T); }, {grad_block("X", Xv, dX)}));
}

BOOST_AUTO_TEST_CASE(activation_backward_matches_central_differences) {
  Rng rng(2);
  for (Activation a : {Activation::ReLU, Activation::Sigmoid, Activation::Tanh, Activation::Identity}) {
    MatD Z = rng.normal_matrix<double>(3, 4);
    const MatD T = rng.normal_matrix<double>(3, 4);
    const MatD H = activation_forward(a, Z);
    const MatD dZ = activation_backward<double>(a, Z, H, mse_backward<double>(H, T));
    COURSE_CHECK(check_gradient("nn", to_string(a) + " backward",
                                [&] { return mse_loss<double>(activation_forward(a, Z), T); }, {grad_block("Z", Z, dZ)}));
  }
}

BOOST_AUTO_TEST_CASE(bce_from_logits_is_stable_and_its_gradient_is_sigmoid_minus_target) {
  Rng rng(3);
  MatD Z = 3.0 * rng.normal_matrix<double>(4, 6);
  const MatD T = rng.uniform_matrix<double>(4, 6, 0, 1);
  const MatD dZ = bce_with_logits_backward<double>(Z, T);
  COURSE_CHECK(check_gradient("nn", "BCE dZ", [&] { return bce_with_logits_loss<double>(Z, T); }, {grad_block("Z", Z, dZ)}));
  // The direct formula -[t log s + (1-t) log(1-s)] on moderate logits.
  const MatD S = Z.unaryExpr([](double z) { return sigmoid(z); });
  const double direct = -(T.array() * S.array().log() + (1 - T.array()) * (1 - S.array()).log()).sum() / 6.0;
  COURSE_CHECK(check_identity("nn", "BCE from logits = -[t log s + (1-t) log(1-s)]", bce_with_logits_loss<double>(Z, T), direct));
  // At logits of +-1000 the naive formula gives inf/NaN; ours stays finite and exact.
  MatD big(1, 2);
  big << 1000.0, -1000.0;
  MatD t(1, 2);
  t << 0.0, 1.0;
  // softplus(1000) - 0 = 1000 and softplus(-1000) + 1000 = 1000, averaged over the 2 columns.
  COURSE_CHECK(check_identity("nn", "BCE at |z| = 1000", bce_with_logits_loss<double>(big, t), 1000.0));
  COURSE_CHECK(check_identity("nn", "MSE is 1/(2B)||Y - T||^2", mse_loss<double>(big, t), 0.5 * (1e6 + 1002001.0) / 2.0));
}

BOOST_AUTO_TEST_CASE(adam_first_step_moves_each_parameter_by_lr_against_the_gradient_sign) {
  // With bias correction, Adam's first step is lr * g / (|g| + eps) = lr * sign(g) (up to eps).
  VecD w(3), g(3);
  w << 1.0, 2.0, 3.0;
  g << 0.5, -4.0, 1e-3;
  Adam<double> adam({{w.data(), g.data(), 3, "w"}}, 0.1);
  adam.step();
  COURSE_CHECK(check_identity("optim", "Adam step 1", w, VecD((VecD(3) << 0.9, 2.1, 2.9).finished()), 1e-6));
  Sgd<double> sgd({{w.data(), g.data(), 3, "w"}}, 0.5, 0.9);
  const VecD before = w;
  sgd.step();
  sgd.step();  // velocity g, then 1.9 g: total 2.9 * lr * g
  COURSE_CHECK(check_identity("optim", "SGD momentum two steps", w, VecD(before - 0.5 * 2.9 * g)));
}

// docs/08: averaging the minibatch loss instead of summing it does not change Adam's steps. Adam's
// update m_hat / (sqrt(v_hat) + eps) is homogeneous of degree 0 in the gradient, up to eps: a loss
// B times larger gives the same trajectory (to ~eps / |g|), while SGD's steps grow B times. The
// claim this replaces ("summing only rescales Adam's effective step") is what the Adam row rejects.
BOOST_AUTO_TEST_CASE(adam_is_invariant_to_the_scale_of_the_loss_and_sgd_is_not) {
  const VecD target = (VecD(3) << 1.0, -2.0, 0.5).finished();
  auto run = [&](auto make, double scale) {
    VecD w = VecD::Zero(3), g(3);
    auto opt = make(w, g);
    for (int t = 0; t < 50; ++t) {
      g = scale * (w - target);  // gradient of scale * 1/2 ||w - target||^2
      opt.step();
    }
    return w;
  };
  auto adam = [](VecD& w, VecD& g) { return Adam<double>({{w.data(), g.data(), 3, "w"}}, 0.05); };
  auto sgd = [](VecD& w, VecD& g) { return Sgd<double>({{w.data(), g.data(), 3, "w"}}, 0.005); };
  const double B = 64.0;  // a sum over 64 images is 64 times their mean
  COURSE_CHECK(check_identity("optim", "Adam: loss x 64 gives the same parameters", MatD(run(adam, 1.0)), MatD(run(adam, B)), 1e-6));
  COURSE_CHECK_REJECTS(check_identity("optim", "SGD: loss x 64", MatD(run(sgd, 1.0)), MatD(run(sgd, B)), 1e-6),
                       "SGD's steps are 64 times larger for a summed loss");
}

BOOST_AUTO_TEST_SUITE_END()
