// The bodies of 02_deep_ae/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "02_deep_ae/checks.hpp"

namespace course::ch02 {

DenseLayer random_layer(Activation f, Index in, Index out, std::uint64_t seed) {
  Rng rng(seed);
  return {rng.normal_matrix<double>(out, in) * 0.8, VecD(rng.normal_matrix<double>(out, 1) * 0.3), f};
}

MatD random_images(Index d, Index B, std::uint64_t seed) {
  Rng rng(seed);
  return rng.uniform_matrix<double>(d, B, 0.02, 0.98);
}

std::string name_of(Loss loss) { return loss == Loss::MSE ? "MSE" : "BCE"; }

DenseForward reference_forward(const DenseLayer& layer, const MatD& X) {
  DenseForward out;
  out.Z = (layer.W * X).colwise() + layer.b;
  out.H = nn::activation_forward(layer.f, out.Z);
  return out;
}

double reference_network_loss(const std::vector<DenseLayer>& layers, Loss loss, const MatD& X) {
  MatD H = X;
  for (const DenseLayer& layer : layers) H = reference_forward(layer, H).H;
  return loss == Loss::MSE ? nn::mse_loss(H, X) : nn::bce_with_logits_loss(H, X);
}

DeepAutoencoder<double> check_network(Activation hidden, Loss loss, std::uint64_t seed) {
  DeepAeSpec spec{{6, 5, 3}, hidden, Activation::Identity,
                  loss == Loss::MSE ? Activation::Sigmoid : Activation::Identity, loss};
  Rng rng(seed);
  DeepAutoencoder<double> ae(spec, rng);
  for (std::size_t l = 0; l < ae.depth(); ++l) {
    nn::Linear<double>& layer = ae.dense_layer(l);
    layer.W = rng.normal_matrix<double>(layer.out(), layer.in()) * 0.8;
    layer.b = rng.normal_matrix<double>(layer.out(), 1) * 0.3;
  }
  return ae;
}

CheckRow check_eq_2_1_forward(Activation f, const DenseForwardFn& forward) {
  const DenseLayer layer = random_layer(f);
  const MatD X = random_images(4, 6);
  MatD Z(5, 6), H(5, 6);
  for (Index n = 0; n < X.cols(); ++n)
    for (Index j = 0; j < layer.W.rows(); ++j) {
      double z = layer.b(j);
      for (Index i = 0; i < X.rows(); ++i) z += layer.W(j, i) * X(i, n);
      Z(j, n) = z;
      H(j, n) = f == Activation::ReLU      ? std::max(z, 0.0)
                : f == Activation::Sigmoid ? 1.0 / (1.0 + std::exp(-z))
                : f == Activation::Tanh    ? std::tanh(z)
                                           : z;
    }
  const DenseForward out = forward(layer, X);
  MatD lhs(10, 6), rhs(10, 6);
  lhs << Z, H;
  if (out.Z.rows() != 5 || out.Z.cols() != 6 || out.H.rows() != 5 || out.H.cols() != 6)
    return check_identity("2.1", nn::to_string(f) + " layer: Z and H", lhs, out.H);  // reports the shapes
  rhs << out.Z, out.H;
  // The row shows an entry of H = f(Z), which differs from activation to activation (the stacked
  // [Z; H] showed a pre-activation entry, the same number for all four); Z must agree too.
  CheckRow r = check_identity("2.1", nn::to_string(f) + " layer: H = f(W X + b) vs the sums (and Z)", H, out.H);
  const CheckRow z = check_identity("2.1", "Z", Z, out.Z);
  if (!z.passed()) {
    r.pass = false;
    r.error = std::max(r.error, z.error);
    r.detail += "; Z = W X + b differs: " + z.line();
  }
  return r;
}

CheckRow check_eq_2_2_backward(Activation f, const DenseBackwardFn& backward) {
  DenseLayer layer = random_layer(f);
  MatD X = random_images(4, 6, 6) * 2.0 - MatD::Ones(4, 6);
  const MatD G = Rng(8).normal_matrix<double>(5, 6);
  const DenseGradient g = backward(layer, X, reference_forward(layer, X), G);
  const std::string claim = nn::to_string(f) + " layer: dW, db, dX vs central differences";
  if (g.dW.rows() != 5 || g.dW.cols() != 4 || g.db.size() != 5 || g.dX.rows() != 4 || g.dX.cols() != 6) {
    CheckRow r = check_identity("2.2", claim, 0.0, NAN);
    r.detail = "gradient shapes do not match W (5x4), b (5) and X (4x6)";
    return r;
  }
  return check_gradient("2.2", claim,
                        [&] { return G.cwiseProduct(reference_forward(layer, X).H).sum(); },
                        {grad_block("W", layer.W, g.dW), grad_block("b", layer.b, g.db), grad_block("X", X, g.dX)});
}

LossProblem loss_problem() { return {Rng(12).normal_matrix<double>(6, 5) * 2.0, random_images(6, 5, 13)}; }

CheckRow check_eq_2_3_mse_value(const LossFn& loss) {
  const LossProblem p = loss_problem();
  return check_identity("2.3", "MSE = 1/(2B) ||Y - X||^2", 0.5 * (p.Y - p.X).squaredNorm() / double(p.Y.cols()),
                        loss(Loss::MSE, p.Y, p.X).loss);
}

CheckRow check_eq_2_3_mse_gradient(const LossFn& loss) {
  LossProblem p = loss_problem();
  const MatD dY = loss(Loss::MSE, p.Y, p.X).dY;
  if (dY.rows() != p.Y.rows() || dY.cols() != p.Y.cols()) return check_identity("2.3", "MSE gradient shape", p.Y, dY);
  return check_gradient("2.3", "MSE: dL/dY = (Y - X) / B vs central differences",
                        [&] { return nn::mse_loss(p.Y, p.X); }, {grad_block("Y", p.Y, dY)});
}

CheckRow check_eq_2_4_bce_value(const LossFn& loss) {
  const LossProblem p = loss_problem();
  const MatD S = p.Y.unaryExpr([](double y) { return 1.0 / (1.0 + std::exp(-y)); });
  const double naive = -(p.X.array() * S.array().log() + (1.0 - p.X.array()) * (1.0 - S.array()).log()).sum() /
                       double(p.Y.cols());
  return check_identity("2.4", "BCE from logits = -1/B sum [x log s + (1-x) log(1-s)]", naive,
                        loss(Loss::BCE, p.Y, p.X).loss);
}

CheckRow check_eq_2_4_bce_gradient(const LossFn& loss) {
  LossProblem p = loss_problem();
  const MatD dY = loss(Loss::BCE, p.Y, p.X).dY;
  if (dY.rows() != p.Y.rows() || dY.cols() != p.Y.cols()) return check_identity("2.4", "BCE gradient shape", p.Y, dY);
  return check_gradient("2.4", "BCE: dL/dY = (sigmoid(Y) - X) / B vs central differences",
                        [&] { return nn::bce_with_logits_loss(p.Y, p.X); }, {grad_block("Y", p.Y, dY)});
}

CheckRow check_eq_2_4_bce_large_logits(const LossFn& loss) {
  MatD Y(4, 3);
  Y << 800, -800, 800, -800, 800, -800, 800, 800, -800, -800, -800, 800;
  const MatD X = random_images(4, 3, 14);
  const double exact = (Y.array().max(0.0) - X.array() * Y.array()).sum() / 3.0;
  const LossAndGradient out = loss(Loss::BCE, Y, X);
  CheckRow r = check_identity("2.4", "BCE stays exact at logits +-800", exact, out.loss);
  if (!out.dY.allFinite()) {
    r.pass = false;
    r.detail = "the gradient has non-finite entries";
  }
  return r;
}

CheckRow check_eq_2_5_network_gradient(Activation hidden, Loss loss,
                                              const NetworkGradientFn& gradient) {
  std::vector<DenseLayer> layers = to_dense_layers(check_network(hidden, loss));
  const MatD X = random_images(6, 7, 15);
  const NetworkGradient g = gradient(layers, loss, X);
  const std::string claim = "6-5-3-5-6 " + nn::to_string(hidden) + ", " + name_of(loss) + ": all dW, db vs central differences";
  std::vector<GradBlock> blocks;
  if (g.dW.size() != layers.size() || g.db.size() != layers.size()) {
    CheckRow r = check_identity("2.5", claim, 0.0, NAN);
    r.detail = "expected " + std::to_string(layers.size()) + " weight and bias gradients";
    return r;
  }
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (g.dW[l].rows() != layers[l].W.rows() || g.dW[l].cols() != layers[l].W.cols() || g.db[l].size() != layers[l].b.size()) {
      CheckRow r = check_identity("2.5", claim, 0.0, NAN);
      r.detail = "the gradient of layer " + std::to_string(l + 1) + " has the wrong shape";
      return r;
    }
    blocks.push_back(grad_block("W" + std::to_string(l + 1), layers[l].W, g.dW[l]));
    blocks.push_back(grad_block("b" + std::to_string(l + 1), layers[l].b, g.db[l]));
  }
  CheckRow r = check_gradient("2.5", claim, [&] { return reference_network_loss(layers, loss, X); }, blocks);
  // The loss it returns must be the network's loss too.
  const double value = reference_network_loss(layers, loss, X);
  if (!(std::abs(g.loss - value) <= tolerance::identity * std::max(1.0, std::abs(value)))) {
    r.pass = false;
    r.detail += "\nthe returned loss " + std::to_string(g.loss) + " is not the network's loss " + std::to_string(value);
  }
  return r;
}

CheckRow check_eq_2_5_model_gradient(Activation hidden, Loss loss) {
  DeepAutoencoder<double> ae = check_network(hidden, loss);
  const MatD X = random_images(6, 7, 15);
  ae.zero_grad();
  ae.forward_backward(X);
  std::vector<GradBlock> blocks;
  for (std::size_t l = 0; l < ae.depth(); ++l) {
    auto& layer = ae.dense_layer(l);
    blocks.push_back(grad_block("W" + std::to_string(l + 1), layer.W, layer.dW));
    blocks.push_back(grad_block("b" + std::to_string(l + 1), layer.b, layer.db));
  }
  return check_gradient("2.5", "DeepAutoencoder<double> " + nn::to_string(hidden) + ", " + name_of(loss) + " vs central differences",
                        [&] { return ae.loss(ae.forward(X), X); }, blocks);
}

CheckRow check_eq_2_6_below_linear_floor(double ae_train_error, double eckart_young, const std::string& what) {
  CheckRow r = check_bound("2.6", what + ": deep AE train error < Eckart-Young floor", ae_train_error, eckart_young, 0.0);
  r.detail = "mean ||x - x_hat||^2 on the training data: deep AE " + std::to_string(ae_train_error) +
             ", best linear code (sum of discarded eigenvalues) " + std::to_string(eckart_young);
  return r;
}

CheckRow check_eq_2_6_beats_pca(double ae_test_error, double pca_test_error, const std::string& what) {
  CheckRow r = check_bound("2.6", what + ": deep AE test error < PCA test error", ae_test_error, pca_test_error, 0.0);
  r.detail = "mean ||x - x_hat||^2 on held-out data: deep AE " + std::to_string(ae_test_error) + ", PCA " +
             std::to_string(pca_test_error);
  return r;
}

BumpComparison compare_on_bumps(std::uint64_t seed, Activation hidden, int epochs) {
  const MatD train = make_bump_images(1000, 32, 2.5, seed), test = make_bump_images(500, 32, 2.5, seed + 100);
  const MatF train_f = train.cast<float>(), test_f = test.cast<float>();
  BumpComparison c;
  const bool linear = hidden == Activation::Identity;
  const DeepAeSpec spec{{32, 64, 32, c.k}, hidden, Activation::Identity,
                        linear ? Activation::Identity : Activation::Sigmoid, Loss::MSE};
  Rng rng(seed, 3);
  DeepAutoencoder<float> ae(spec, rng);
  AeTrainOptions opt;
  opt.epochs = epochs;
  opt.batch = 50;
  opt.lr = 3e-3;
  opt.seed = seed;
  opt.eval_every = epochs;
  c.curve = train_autoencoder(ae, train_f, test_f, opt);
  c.ae_train = reconstruction_error(ae, train_f);
  c.ae_test = reconstruction_error(ae, test_f);
  const PcaBaseline pca = fit_pca(train, c.k);
  c.pca_train = pca_error(pca, train);
  c.pca_test = pca_error(pca, test);
  c.eckart_young = pca.eckart_young();
  c.test_images = test.leftCols(8);
  c.ae_reconstructions = ae.reconstruct(test_f.leftCols(8)).cast<double>();
  c.pca_reconstructions = pca.reconstruct(c.test_images);
  return c;
}

MatD stack_conv_forward(const nn::Conv2d<double>& layer, const MatD& X) {
  MatD Y;
  layer.forward(X, Y);
  return Y;
}

CheckRow check_eq_2_7_conv_forward(Index stride, Index padding, const ConvForwardFn& forward) {
  const Index C = 3, K = 4, H = 7, W = 6, k = 3, B = 2;
  Rng rng(17);
  const nn::Conv2d<double> layer(C, K, k, stride, padding, H, W, rng);
  const MatD X = rng.normal_matrix<double>(C * H * W, B);
  const nn::ConvGeometry& g = layer.g;
  MatD expected(K * g.out_height * g.out_width, B);
  for (Index b = 0; b < B; ++b)
    for (Index o = 0; o < K; ++o)
      for (Index u = 0; u < g.out_height; ++u)
        for (Index v = 0; v < g.out_width; ++v) {
          double y = layer.b(o);
          for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < k; ++i)
              for (Index j = 0; j < k; ++j) {
                const Index row = stride * u - padding + i, col = stride * v - padding + j;
                if (row >= 0 && row < H && col >= 0 && col < W) y += layer.W(o, (c * k + i) * k + j) * X((c * H + row) * W + col, b);
              }
          expected((o * g.out_height + u) * g.out_width + v, b) = y;
        }
  return check_identity("2.7", "conv " + g.describe() + ": y = b + sum_cij w x (shared kernel) vs the explicit sum", expected,
                        forward(layer, X));
}

ConvAeSpec check_conv_spec(Activation hidden, Loss loss) {
  ConvAeSpec spec;
  spec.height = spec.width = 8;
  spec.channels1 = 2;
  spec.channels2 = 3;
  spec.code = 3;
  spec.hidden = hidden;
  spec.loss = loss;
  return spec;
}

DeepAutoencoder<double> check_conv_network(Activation hidden, Loss loss, std::uint64_t seed) {
  Rng rng(seed);
  return DeepAutoencoder<double>(check_conv_spec(hidden, loss), rng);
}

CheckRow check_eq_2_7_conv_autoencoder_gradient(Activation hidden, Loss loss,
                                                const std::function<void(DeepAutoencoder<double>&)>& after_backward) {
  using LD = long double;
  DeepAutoencoder<double> ae = check_conv_network(hidden, loss);
  const MatD X = random_images(64, 3, 22);
  ae.zero_grad();
  ae.forward_backward(X);
  if (after_backward) after_backward(ae);
  std::vector<GradBlock> blocks;
  std::vector<Param<double>> params = ae.params();
  for (const auto& p : params) blocks.push_back({p.name, p.value, p.grad, p.size, 1});
  // The numeric side evaluates the loss in long double, by a shadow network that takes the double
  // network's current parameters (the harness perturbs those) before each evaluation. In double,
  // the rounding noise of the tanh + BCE network's loss (~45, a sum over 64 pixels and several
  // layers) is a few 1e-14, which over the step's 2h = 2e-5 puts ~2e-9 into every central
  // difference: twenty times the harness's absolute floor (1e-10) for gradients below 1e-4, and the
  // smallest gradients here are ~4e-6 (measured in double: 25 of 295 coordinates bad, worst
  // relative error 2.4e-5; in long double: worst 1.0e-8, tanh + MSE 5.5e-10). The loss is
  // returned minus its value at the checked point (in long double), a number of order h that
  // double holds to 1e-16 of itself (as chapters 10 and 12 do).
  Rng unused(0);
  DeepAutoencoder<LD> shadow(check_conv_spec(hidden, loss), unused);
  std::vector<Param<LD>> wide = shadow.params();
  const Mat<LD> XL = X.cast<LD>();
  auto loss_ld = [&] {
    for (std::size_t k = 0; k < params.size(); ++k)
      for (Index i = 0; i < params[k].size; ++i) wide[k].value[i] = LD(params[k].value[i]);
    return shadow.loss(shadow.forward(XL), XL);
  };
  const LD base = loss_ld();
  return check_gradient("2.7", "conv AE " + ae.describe() + ": every dW, db vs central differences",
                        [&] { return double(loss_ld() - base); }, blocks);
}

std::vector<CheckRow> all_checks(const BumpComparison& bumps) {
  const std::vector<Activation> hidden = {Activation::ReLU, Activation::Tanh, Activation::Sigmoid};
  std::vector<CheckRow> rows;
  for (Activation f : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh})
    rows.push_back(check_eq_2_1_forward(f));
  for (Activation f : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh})
    rows.push_back(check_eq_2_2_backward(f));
  rows.push_back(check_eq_2_3_mse_value());
  rows.push_back(check_eq_2_3_mse_gradient());
  rows.push_back(check_eq_2_4_bce_value());
  rows.push_back(check_eq_2_4_bce_gradient());
  rows.push_back(check_eq_2_4_bce_large_logits());
  for (Loss loss : {Loss::MSE, Loss::BCE})
    for (Activation f : hidden) rows.push_back(check_eq_2_5_network_gradient(f, loss));
  for (Loss loss : {Loss::MSE, Loss::BCE})
    for (Activation f : hidden) rows.push_back(check_eq_2_5_model_gradient(f, loss));
  rows.push_back(check_eq_2_6_below_linear_floor(bumps.ae_train, bumps.eckart_young, "bumps, k = 2"));
  rows.push_back(check_eq_2_6_beats_pca(bumps.ae_test, bumps.pca_test, "bumps, k = 2"));
  rows.push_back(check_eq_2_7_conv_forward(2, 1));
  rows.push_back(check_eq_2_7_conv_forward(1, 0));
  for (Loss loss : {Loss::MSE, Loss::BCE}) rows.push_back(check_eq_2_7_conv_autoencoder_gradient(Activation::Tanh, loss));
  rows.push_back(check_eq_2_7_conv_autoencoder_gradient(Activation::ReLU, Loss::MSE));
  return rows;
}

}  // namespace course::ch02
