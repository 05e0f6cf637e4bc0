// Chapter 2: every tagged equation of docs/02-deep-autoencoders.md, and the wrong formula each
// check must reject.
#include "02_deep_ae/checks.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch02;

namespace {

const std::vector<Activation> kActivations = {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh};
const std::vector<Activation> kHidden = {Activation::ReLU, Activation::Tanh, Activation::Sigmoid};

// The solution's backward pass with the activation's derivative replaced by `fprime(Z, H)`.
DenseBackwardFn backward_with(std::function<MatD(const DenseForward&)> fprime) {
  return [fprime](const DenseLayer& layer, const MatD& X, const DenseForward& fwd, const MatD& dH) {
    const MatD delta = fprime(fwd).cwiseProduct(dH);
    return DenseGradient{delta * X.transpose(), delta.rowwise().sum(), layer.W.transpose() * delta};
  };
}

// A loss whose value is right but whose gradient is `grad(Y, X)`.
LossFn loss_with_gradient(std::function<MatD(const MatD&, const MatD&)> grad) {
  return [grad](Loss loss, const MatD& Y, const MatD& X) {
    LossAndGradient out = reconstruction_loss(loss, Y, X);
    out.dY = grad(Y, X);
    return out;
  };
}
MatD sigmoid_of(const MatD& Y) { return Y.unaryExpr([](double y) { return nn::sigmoid(y); }); }

const BumpComparison& bumps() {
  static const BumpComparison c = compare_on_bumps(1);
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ch02_deep_ae)

BOOST_AUTO_TEST_CASE(eq_2_1_dense_forward_matches_the_componentwise_sum) {
  for (Activation f : kActivations) COURSE_CHECK(check_eq_2_1_forward(f));
  // Rejects the bias added after the activation, f(W X) + b.
  auto bias_after = [](const DenseLayer& layer, const MatD& X) {
    DenseForward out;
    out.Z = layer.W * X;
    out.H = nn::activation_forward(layer.f, out.Z).colwise() + layer.b;
    return out;
  };
  COURSE_CHECK_REJECTS(check_eq_2_1_forward(Activation::Tanh, bias_after), "the bias added after the activation");
}

BOOST_AUTO_TEST_CASE(eq_2_2_dense_backward_matches_central_differences) {
  for (Activation f : kActivations) COURSE_CHECK(check_eq_2_2_backward(f));
  const auto missing = backward_with([](const DenseForward& fwd) { return MatD::Ones(fwd.Z.rows(), fwd.Z.cols()); });
  COURSE_CHECK_REJECTS(check_eq_2_2_backward(Activation::Tanh, missing), "a missing f' (Delta = dH)");
  COURSE_CHECK_REJECTS(check_eq_2_2_backward(Activation::ReLU, missing), "a missing relu' (Delta = dH)");
  COURSE_CHECK_REJECTS(check_eq_2_2_backward(Activation::Sigmoid, backward_with([](const DenseForward& fwd) { return fwd.H; })),
                       "sigmoid' = s instead of s (1 - s)");
  COURSE_CHECK_REJECTS(check_eq_2_2_backward(Activation::Tanh, backward_with([](const DenseForward& fwd) {
                         return MatD((1.0 - fwd.Z.array().square()).matrix());
                       })),
                       "tanh' = 1 - z^2 instead of 1 - tanh(z)^2");
  // W instead of W^T for dX: a shape error on a square layer would go unnoticed, so use one.
  auto untransposed = [](const DenseLayer& layer, const MatD& X, const DenseForward& fwd, const MatD& dH) {
    DenseGradient g = dense_backward(layer, X, fwd, dH);
    const MatD delta = (fwd.Z.array() > 0.0).select(dH, 0.0);
    g.dX = layer.W * delta;
    return g;
  };
  DenseLayer square = random_layer(Activation::ReLU, 5, 5);
  MatD X = random_images(5, 6) * 2.0 - MatD::Ones(5, 6);
  const MatD G = Rng(8).normal_matrix<double>(5, 6);
  const DenseGradient g = untransposed(square, X, reference_forward(square, X), G);
  COURSE_CHECK_REJECTS(check_gradient("2.2", "", [&] { return G.cwiseProduct(reference_forward(square, X).H).sum(); },
                                      {grad_block("W", square.W, g.dW), grad_block("b", square.b, g.db), grad_block("X", X, g.dX)}),
                       "dX = W Delta instead of W^T Delta");
}

BOOST_AUTO_TEST_CASE(eq_2_3_mse_loss_and_its_gradient) {
  COURSE_CHECK(check_eq_2_3_mse_value());
  COURSE_CHECK(check_eq_2_3_mse_gradient());
  auto doubled = [](Loss loss, const MatD& Y, const MatD& X) {
    LossAndGradient out = reconstruction_loss(loss, Y, X);
    out.loss *= 2.0;
    return out;
  };
  COURSE_CHECK_REJECTS(check_eq_2_3_mse_value(doubled), "a missing 1/2 in the loss");
  COURSE_CHECK_REJECTS(check_eq_2_3_mse_gradient(loss_with_gradient([](const MatD& Y, const MatD& X) {
                         return MatD(2.0 * (Y - X) / double(Y.cols()));
                       })),
                       "a factor 2 in the gradient (the 1/2 forgotten)");
  COURSE_CHECK_REJECTS(check_eq_2_3_mse_gradient(loss_with_gradient([](const MatD& Y, const MatD& X) {
                         return MatD((X - Y) / double(Y.cols()));
                       })),
                       "the sign flipped, (X - Y) / B");
  COURSE_CHECK_REJECTS(check_eq_2_3_mse_gradient(loss_with_gradient([](const MatD& Y, const MatD& X) { return MatD(Y - X); })),
                       "a missing 1/B");
}

BOOST_AUTO_TEST_CASE(eq_2_4_bce_from_logits_and_its_gradient) {
  COURSE_CHECK(check_eq_2_4_bce_value());
  COURSE_CHECK(check_eq_2_4_bce_gradient());
  COURSE_CHECK(check_eq_2_4_bce_large_logits());
  COURSE_CHECK_REJECTS(check_eq_2_4_bce_gradient(loss_with_gradient([](const MatD& Y, const MatD& X) {
                         const MatD S = sigmoid_of(Y);
                         return MatD((S - X).cwiseProduct(S.cwiseProduct(MatD::Ones(S.rows(), S.cols()) - S)) / double(Y.cols()));
                       })),
                       "the extra factor s (1 - s) of differentiating through the sigmoid");
  COURSE_CHECK_REJECTS(check_eq_2_4_bce_gradient(loss_with_gradient([](const MatD& Y, const MatD& X) {
                         return MatD((X - sigmoid_of(Y)) / double(Y.cols()));
                       })),
                       "the sign flipped");
  // The naive log form overflows at large logits.
  auto naive = [](Loss, const MatD& Y, const MatD& X) {
    const MatD S = sigmoid_of(Y);
    LossAndGradient out;
    out.loss = -(X.array() * S.array().log() + (1.0 - X.array()) * (1.0 - S.array()).log()).sum() / double(Y.cols());
    out.dY = (S - X) / double(Y.cols());
    return out;
  };
  COURSE_CHECK_REJECTS(check_eq_2_4_bce_large_logits(naive), "the naive -[x log s + (1 - x) log(1 - s)] at logits +-800");
  auto flipped = [](Loss loss, const MatD& Y, const MatD& X) {
    LossAndGradient out = reconstruction_loss(loss, Y, X);
    out.loss = -out.loss;
    return out;
  };
  COURSE_CHECK_REJECTS(check_eq_2_4_bce_value(flipped), "a flipped sign of the log-likelihood");
}

BOOST_AUTO_TEST_CASE(eq_2_5_backpropagation_through_the_network_matches_central_differences) {
  for (Loss loss : {Loss::MSE, Loss::BCE})
    for (Activation f : kHidden) COURSE_CHECK(check_eq_2_5_network_gradient(f, loss));
  // Rejects backpropagation that skips the hidden layers' f' (treats them as linear on the way back).
  auto no_fprime = [](const std::vector<DenseLayer>& layers, Loss loss, const MatD& X) {
    const std::size_t L = layers.size();
    std::vector<MatD> inputs{X};
    std::vector<DenseForward> fwd;
    for (const DenseLayer& layer : layers) {
      fwd.push_back(reference_forward(layer, inputs.back()));
      inputs.push_back(fwd.back().H);
    }
    const LossAndGradient top = reconstruction_loss(loss, inputs.back(), X);
    NetworkGradient g{top.loss, std::vector<MatD>(L), std::vector<VecD>(L)};
    MatD dH = top.dY;
    for (std::size_t l = L; l-- > 0;) {
      DenseLayer as_linear = layers[l];
      if (l + 1 < L) as_linear.f = Activation::Identity;
      DenseGradient d = dense_backward(as_linear, inputs[l], fwd[l], dH);
      g.dW[l] = d.dW;
      g.db[l] = d.db;
      dH = d.dX;
    }
    return g;
  };
  COURSE_CHECK_REJECTS(check_eq_2_5_network_gradient(Activation::Tanh, Loss::MSE, no_fprime), "the hidden layers' f' skipped");
  COURSE_CHECK_REJECTS(check_eq_2_5_network_gradient(Activation::ReLU, Loss::BCE, no_fprime), "relu' skipped");
  // Rejects the BCE gradient with the extra s (1 - s) at the output.
  auto extra_sigmoid = [](const std::vector<DenseLayer>& layers, Loss, const MatD& X) {
    std::vector<DenseLayer> with_sigmoid = layers;
    with_sigmoid.back().f = Activation::Sigmoid;  // as if the output were probabilities under MSE
    return autoencoder_gradient(with_sigmoid, Loss::MSE, X);
  };
  COURSE_CHECK_REJECTS(check_eq_2_5_network_gradient(Activation::Tanh, Loss::BCE, extra_sigmoid),
                       "MSE on sigmoid outputs in place of BCE from logits");
}

BOOST_AUTO_TEST_CASE(eq_2_5_the_chapter_model_backpropagates_correctly) {
  for (Loss loss : {Loss::MSE, Loss::BCE})
    for (Activation f : kHidden) COURSE_CHECK(check_eq_2_5_model_gradient(f, loss));
  // The model computes what the exercise computes, on the same weights.
  const DeepAutoencoder<double> net = check_network(Activation::Tanh, Loss::BCE);
  DeepAutoencoder<double> ae = net;
  const MatD X = random_images(6, 7, 15);
  ae.zero_grad();
  const double loss = ae.forward_backward(X);
  const NetworkGradient g = autoencoder_gradient(to_dense_layers(net), Loss::BCE, X);
  COURSE_CHECK(check_identity("2.5", "model loss = exercise loss", loss, g.loss));
  COURSE_CHECK(check_identity("2.5", "model dW1 = exercise dW1", ae.dense_layer(0).dW, g.dW[0]));
  // A BCE model's reconstruction is the sigmoid of its logits (eq. 2.4), in pixel space. Rejects
  // decoding the logits themselves (values outside [0, 1]).
  const MatD logits = ae.forward(X);
  COURSE_CHECK(check_identity("2.4", "BCE model: reconstruction = sigmoid(logits)", sigmoid_of(logits), ae.reconstruct(X)));
  COURSE_CHECK_REJECTS(check_identity("2.4", "", sigmoid_of(logits), logits), "the logits taken for the reconstruction");
}

BOOST_AUTO_TEST_CASE(eq_2_6_a_deep_autoencoder_beats_pca_on_curved_data) {
  const BumpComparison& c = bumps();
  COURSE_CHECK(check_eq_2_6_below_linear_floor(c.ae_train, c.eckart_young, "bumps, k = 2"));
  COURSE_CHECK(check_eq_2_6_beats_pca(c.ae_test, c.pca_test, "bumps, k = 2"));
  // PCA's training error is the floor itself (1.2): the baseline is computed right.
  COURSE_CHECK(check_identity("2.6", "PCA training error = Eckart-Young", c.eckart_young, c.pca_train, 1e-9));
  // Rejects the same network with linear activations: a deep *linear* AE is still a rank-k map.
  const BumpComparison linear = compare_on_bumps(1, Activation::Identity);
  COURSE_CHECK_REJECTS(check_eq_2_6_below_linear_floor(linear.ae_train, linear.eckart_young, "linear"),
                       "a deep autoencoder with linear activations");
  // Rejects the untrained network.
  COURSE_CHECK_REJECTS(check_eq_2_6_beats_pca(c.curve.test_error.front(), c.pca_test, "untrained"), "the untrained network");
}

BOOST_AUTO_TEST_CASE(eq_2_7_a_convolution_applies_one_shared_kernel_at_every_position) {
  COURSE_CHECK(check_eq_2_7_conv_forward(2, 1));
  COURSE_CHECK(check_eq_2_7_conv_forward(1, 0));
  // Rejects the flipped kernel (a convolution in the signal-processing sense).
  auto flipped = [](const nn::Conv2d<double>& layer, const MatD& X) {
    nn::Conv2d<double> f = layer;
    const Index k = layer.g.kernel;
    for (Index col = 0; col < layer.W.cols(); ++col) {
      const Index c = col / (k * k), i = col / k % k, j = col % k;
      f.W.col(col) = layer.W.col((c * k + (k - 1 - i)) * k + (k - 1 - j));
    }
    return stack_conv_forward(f, X);
  };
  COURSE_CHECK_REJECTS(check_eq_2_7_conv_forward(2, 1, flipped), "the kernel flipped");
}

BOOST_AUTO_TEST_CASE(eq_2_7_the_convolutional_autoencoder_backpropagates_correctly) {
  for (Loss loss : {Loss::MSE, Loss::BCE}) COURSE_CHECK(check_eq_2_7_conv_autoencoder_gradient(Activation::Tanh, loss));
  COURSE_CHECK(check_eq_2_7_conv_autoencoder_gradient(Activation::ReLU, Loss::MSE));
  // Rejects a shared kernel's gradient averaged over the positions it is applied at,
  // dW = 1/(OH OW) sum_{u,v} dy x (the sum is right: every position's use of w adds its own term
  // to dL/dw), in both losses (the BCE case is the one whose small gradients need the long-double
  // loss), and the same mistake in the biases alone.
  auto averaged = [](bool weights) {
    return [weights](DeepAutoencoder<double>& ae) {
      for (nn::Sequential<double>* net : {&ae.encoder(), &ae.decoder()})
        for (std::size_t i = 0; i < net->size(); ++i) {
          if (auto* c = net->as<nn::Conv2d<double>>(i)) {
            if (weights) c->dW /= double(c->g.patches());
            else c->db /= double(c->g.patches());
          }
          if (auto* t = net->as<nn::ConvTranspose2d<double>>(i)) {
            if (weights) t->dW /= double(t->g.patches());
            else t->db /= double(t->g.height * t->g.width);
          }
        }
    };
  };
  for (Loss loss : {Loss::MSE, Loss::BCE})
    COURSE_CHECK_REJECTS(check_eq_2_7_conv_autoencoder_gradient(Activation::Tanh, loss, averaged(true)),
                         "the shared kernels' gradients averaged over the positions");
  COURSE_CHECK_REJECTS(check_eq_2_7_conv_autoencoder_gradient(Activation::Tanh, Loss::MSE, averaged(false)),
                       "the shared biases' gradients averaged over the positions");
}

// Trains the autoencoder of `spec` (weights from Rng(seed)) for 2 epochs of batch 20 (shuffle and
// noise from seed + 1) on the columns of `train`, with 1 and with 2 threads, and requires bitwise
// the same parameters (tests/support/thread_test.hpp).
template <class Spec>
void check_trains_bitwise_the_same_on_one_and_two_threads(const Spec& spec, const MatF& train, std::uint64_t seed) {
  const MatF held_out = train.leftCols(20);
  auto model = [&] {
    Rng rng(seed);
    return DeepAutoencoder<float>(spec, rng);
  };
  AeTrainOptions opt;
  opt.epochs = 2;
  opt.batch = 20;
  opt.seed = seed + 1;
  DeepAutoencoder<float> start = model();
  test::check_bitwise_equal_for_1_and_2_threads(test::values_of(start.params()), [&] {
    DeepAutoencoder<float> ae = model();
    train_autoencoder(ae, train, held_out, opt);
    return test::values_of(ae.params());
  });
}

BOOST_AUTO_TEST_CASE(the_dense_autoencoder_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the layer stack's promise (fixed blocks, randomness from the seed). A
  // 40-32-24-6 autoencoder on 200 random samples: every layer has several row blocks, so 2 threads
  // really split the products.
  check_trains_bitwise_the_same_on_one_and_two_threads(DeepAeSpec{{40, 32, 24, 6}},
                                                       Rng(41).uniform_matrix<float>(40, 200, 0.0, 1.0), 42);
}

BOOST_AUTO_TEST_CASE(the_convolutional_autoencoder_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the layer stack's promise for Conv2d and ConvTranspose2d. The chapter's
  // convolutional AE on 100 random 12 x 12 images (4 and 8 channels, a code of 5); batches of 20 are
  // three blocks of the convolutions' per-sample passes.
  ConvAeSpec spec;
  spec.height = spec.width = 12;
  spec.channels1 = 4;
  spec.channels2 = 8;
  spec.code = 5;
  check_trains_bitwise_the_same_on_one_and_two_threads(spec, Rng(44).uniform_matrix<float>(144, 100, 0.0, 1.0), 45);
}

BOOST_AUTO_TEST_SUITE_END()
