// Chapter 2: deep autoencoders, trained by backpropagation, beat PCA at the same code size.
//
// Follows docs/02-deep-autoencoders.md:
//   1. the derivation checks: each layer's forward and backward pass, the two reconstruction
//      losses, and the whole network's gradient against central differences (eqs. 2.1-2.5), and
//      a quick deep-AE-vs-PCA comparison on curved synthetic data (eq. 2.6);
//   2. PCA of Fashion-MNIST: the linear baseline and its Eckart-Young floor;
//   3. two deep autoencoders trained with Adam: one with the lecture's 30-d code, one with a 2-d
//      code to look at; and a convolutional autoencoder with the same 30-d code (eq. 2.7);
//   4. the lecture's comparison (real / deep AE / PCA, and the convolutional AE beside them) and
//      the figures.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "02_deep_ae/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::ch02;
namespace po = boost::program_options;

namespace {

std::vector<VecD> columns(const MatD& M, Index count) {
  std::vector<VecD> out;
  for (Index j = 0; j < std::min(count, M.cols()); ++j) out.push_back(M.col(j).cwiseMax(0.0).cwiseMin(1.0));
  return out;
}

Index parameter_count(DeepAutoencoder<float>& ae) {
  Index n = 0;
  for (const auto& p : ae.params()) n += p.size;
  return n;
}

// The first epoch after which the curve's test error is below `level` (-1: never).
double first_epoch_below(const TrainingCurve& curve, double level) {
  for (std::size_t i = 0; i < curve.test_error.size(); ++i)
    if (curve.test_error[i] < level) return curve.epoch[i];
  return -1;
}

std::string fixed(double x, int digits = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << x;
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("02", "deep autoencoders: backpropagation, and a deep AE beats PCA");
    int code = 30, epochs2 = 0, conv_epochs = 0;
    Index batch = 128;
    double lr = 2e-3;
    std::string activation = "relu", loss_name = "mse";
    cli.chapter_options().add_options()
      ("code", po::value<int>(&code)->default_value(30), "code size of the main autoencoder (and of PCA)")
      ("activation", po::value<std::string>(&activation)->default_value("relu"), "hidden activation: relu, tanh or sigmoid")
      ("loss", po::value<std::string>(&loss_name)->default_value("mse"), "reconstruction loss: mse or bce")
      ("batch", po::value<Index>(&batch)->default_value(128), "minibatch size")
      ("lr", po::value<double>(&lr)->default_value(2e-3), "Adam learning rate")
      ("epochs2", po::value<int>(&epochs2), "epochs of the 2-d-code autoencoder (default: 4, at most --epochs)")
      ("conv-epochs", po::value<int>(&conv_epochs), "epochs of the convolutional autoencoder (default: 4, at most --epochs)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (code < 1 || code > 64) throw InputError("--code must be between 1 and 64, not " + std::to_string(code));
    if (batch < 1) throw InputError("--batch must be positive");
    if (!(lr > 0.0)) throw InputError("--lr must be positive");
    if (loss_name != "mse" && loss_name != "bce") throw InputError("--loss must be mse or bce, not '" + loss_name + "'");
    const Activation hidden = nn::parse_activation(activation);
    if (hidden == Activation::Identity) throw InputError("--activation must be relu, tanh or sigmoid");
    const Loss loss = loss_name == "mse" ? Loss::MSE : Loss::BCE;
    const int epochs = opt.epochs_or(opt.quick ? 1 : 10);
    // A 2-d code has little to learn: it overtakes 2-d PCA within an epoch.
    if (!cli.vm().count("epochs2")) epochs2 = std::min(epochs, 4);
    if (epochs2 < 0) throw InputError("--epochs2 must not be negative");
    if (!cli.vm().count("conv-epochs")) conv_epochs = std::min(epochs, 4);
    if (conv_epochs < 0 || conv_epochs > 100) throw InputError("--conv-epochs must be between 0 and 100");

    // Read the data first, so a bad --data fails at once.
    std::cout << "Chapter 2: deep autoencoders beat PCA at the same code size\n";
    const TrainTest data = load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked in double on small networks ------------------------------
    Stopwatch clock;
    const BumpComparison bumps = compare_on_bumps(opt.seed);
    CheckTable table;
    for (auto& row : all_checks(bumps)) table.add(row);
    table.print(std::cout, "Verification: backpropagation in double (6-5-3-5-6 networks), and deep AE vs PCA on bump images");
    std::cout << "  (" << fixed(clock.seconds(), 1) << " s)\n";

    // ---- 2. The linear baseline: PCA of the images ----------------------------------------------
    const ImageSet train = opt.quick ? data.train.head(3000) : data.train;
    const ImageSet test = opt.quick ? data.test.head(1000) : data.test;
    std::cout << "\n" << train.name << ": " << train.size() << " training and " << test.size() << " test images of "
              << train.rows << "x" << train.cols << " from " << data.source << "\n";
    clock = Stopwatch();
    const PcaBaseline pca = fit_pca(train, code);
    PcaBaseline pca2 = pca;
    pca2.components = pca.components.leftCols(std::min<Index>(2, code));
    const double pca_train = pca.eckart_young(), pca_test = pca_error(pca, test);
    const double pca2_test = pca_error(pca2, test);
    std::cout << "  PCA: " << fixed(clock.seconds(), 1) << " s; k = " << code << " keeps "
              << fixed(100.0 * pca.eigenvalues.head(code).sum() / pca.eigenvalues.sum(), 1) << " % of the variance\n";

    // ---- 3. Deep autoencoders, trained in float with Adam ---------------------------------------
    const DeepAeSpec spec{{train.dim(), 256, 64, code}, hidden, Activation::Identity,
                          loss == Loss::MSE ? Activation::Sigmoid : Activation::Identity, loss};
    DeepAeSpec spec2 = spec;
    spec2.encoder.back() = 2;
    AeTrainOptions topt;
    topt.epochs = epochs;
    topt.batch = batch;
    topt.lr = lr;
    topt.seed = opt.seed;
    topt.eval_train = opt.quick ? 1000 : 10000;
    Rng rng(opt.seed, 2);
    DeepAutoencoder<float> ae(spec, rng);
    std::cout << "\nDeep autoencoder " << spec.describe() << ", Adam lr " << lr << ", batch " << batch << "\n";
    const TrainingCurve curve = train_autoencoder(ae, train, test, topt, &std::cout, "code " + std::to_string(code));
    DeepAutoencoder<float> ae2(spec2, rng);
    AeTrainOptions topt2 = topt;
    topt2.epochs = epochs2;
    std::cout << "Deep autoencoder " << spec2.describe() << "\n";
    const TrainingCurve curve2 = train_autoencoder(ae2, train, test, topt2, &std::cout, "code 2");
    const double ae_train = reconstruction_error(ae, train), ae_test = curve.test_error.back();

    // The convolutional autoencoder with the same code (eq. 2.7): 3 x 3 kernels shared across the
    // image on the way down, 4 x 4 transposed convolutions on the way up.
    if (train.rows % 4 || train.cols % 4) throw InputError("the convolutional autoencoder needs image sides that are multiples of 4");
    ConvAeSpec cspec;
    cspec.height = train.rows;
    cspec.width = train.cols;
    cspec.code = code;
    cspec.hidden = hidden;
    cspec.loss = loss;
    DeepAutoencoder<float> cae(cspec, rng);
    const Index conv_params = parameter_count(cae), dense_params = parameter_count(ae);
    std::cout << "Convolutional autoencoder " << cspec.describe() << ": " << conv_params << " parameters (the dense one: "
              << dense_params << ")\n";
    AeTrainOptions copt = topt;
    copt.epochs = conv_epochs;
    const TrainingCurve conv_curve = train_autoencoder(cae, train, test, copt, &std::cout, "conv, code " + std::to_string(code));
    const double cae_test = conv_curve.test_error.back();
    // The dense AE after as many epochs as the convolutional one had (its curve records every epoch).
    const int same_epochs = std::min(conv_epochs, epochs);
    const double ae_test_same_epochs = curve.test_error.at(std::size_t(same_epochs));

    // (2.6) on the images. A --quick run (3,000 images, one epoch) is far too short for the deep AE
    // to overtake PCA, so only the full run checks it; the quick comparison is the bump images'.
    CheckTable real;
    const std::string k = "k = " + std::to_string(code);
    if (!opt.quick) {
      real.add(check_eq_2_6_below_linear_floor(ae_train, pca_train, train.name + ", " + k));
      real.add(check_eq_2_6_beats_pca(ae_test, pca_test, train.name + ", " + k));
      real.add(check_eq_2_6_beats_pca(curve2.test_error.back(), pca2_test, train.name + ", k = 2"));
      real.print(std::cout, "Verification on " + train.name);
    } else {
      std::cout << "\n(--quick: the deep AE vs PCA comparison on " << train.name
                << " is checked only by the full run; the bump images above checked eq. 2.6)\n";
    }

    std::cout << "\nSummary (mean squared error per image, summed over " << train.dim() << " pixels)\n"
              << "  test error, code " << code << ": deep AE " << fixed(ae_test) << " vs PCA " << fixed(pca_test)
              << " (the deep AE's error is " << fixed(100.0 * ae_test / pca_test, 1) << " % of PCA's)\n"
              << "  train error, code " << code << ": deep AE " << fixed(ae_train) << " vs Eckart-Young floor "
              << fixed(pca_train) << "\n"
              << "  test error, code " << code << ": convolutional AE " << fixed(cae_test) << " after " << conv_epochs
              << " epoch(s) (dense AE after " << same_epochs << ": " << fixed(ae_test_same_epochs) << ", PCA " << fixed(pca_test) << "), "
              << conv_params << " parameters against the dense AE's " << dense_params << "\n"
              << "  test error, code 2: deep AE " << fixed(curve2.test_error.back()) << " vs PCA " << fixed(pca2_test) << "\n"
              << "  bump images, code 2: deep AE test error " << bumps.ae_test << " vs PCA " << bumps.pca_test << "\n"
              << "  training time: " << fixed(curve.seconds, 1) << " s (code " << code << "), " << fixed(curve2.seconds, 1)
              << " s (code 2), " << fixed(conv_curve.seconds, 1) << " s (convolutional)\n";
    // The numbers docs/02 quotes ({{metric:ch02.NAME}}).
    const double variance_kept = 100.0 * pca.eigenvalues.head(code).sum() / pca.eigenvalues.sum();
    record_metric("train_images", double(train.size()), 0);
    record_metric("test_images", double(test.size()), 0);
    record_metric("code", code, 0);
    record_metric("epochs", epochs, 0);
    record_metric("epochs2", epochs2, 0);
    record_metric("conv_epochs", conv_epochs, 0);
    record_metric("variance_kept", variance_kept, 0);
    record_metric("dense_ae_test", ae_test, 2);
    record_metric("dense_ae_train", ae_train, 2);
    record_metric("pca_test", pca_test, 2);
    record_metric("eckart_young", pca_train, 2);
    record_metric("dense_ae_percent_of_pca", 100.0 * ae_test / pca_test, 0);
    record_metric("dense_ae2_test", curve2.test_error.back(), 2);
    record_metric("pca2_test", pca2_test, 2);
    record_metric("dense_ae_overtakes_pca_epoch", first_epoch_below(curve, pca_test), 0);
    record_metric("dense_ae_test_same_epochs", ae_test_same_epochs, 2);
    record_metric("conv_ae_test", cae_test, 2);
    record_metric("conv_ae_train", conv_curve.train_error.back(), 2);
    record_metric("conv_ae_overtakes_pca_epoch", first_epoch_below(conv_curve, pca_test), 0);
    record_metric("conv_ae_percent_of_dense", 100.0 * cae_test / ae_test, 0);
    record_metric("conv_params", double(conv_params), 0);
    record_metric("dense_params", double(dense_params), 0);
    record_metric("dense_over_conv_params", double(dense_params) / double(conv_params), 1);
    Index conv_dense_part = 0;  // the convolutional AE's two dense layers, to and from the code
    for (std::size_t l = 0; l < cae.depth(); ++l) conv_dense_part += cae.dense_layer(l).W.size() + cae.dense_layer(l).b.size();
    record_metric("conv_params_in_dense_layers", 100.0 * double(conv_dense_part) / double(conv_params), 0);
    record_metric("conv_kernel_params", double(conv_params - conv_dense_part), 0);
    record_metric("dense_seconds", curve.seconds, 0);
    record_metric("conv_seconds", conv_curve.seconds, 0);

    // ---- 4. Figures ----------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    {
      // The lecture's comparison: real / deep AE / PCA rows of the same test images.
      const Index count = 12;
      const MatD X = test.range<double>(0, count);
      const MatF Xf = X.cast<float>();
      plot::Montage rec;
      rec.title = "test images and their reconstructions from a " + std::to_string(code) + "-d and a 2-d code";
      rec.image_rows = test.rows;
      rec.image_cols = test.cols;
      rec.rows = {columns(X, count),
                  columns(ae.reconstruct(Xf).cast<double>(), count),
                  columns(pca.reconstruct(X), count),
                  columns(ae2.reconstruct(Xf).cast<double>(), count),
                  columns(pca2.reconstruct(X), count)};
      rec.row_labels = {"real", std::to_string(code) + "-d deep AE", std::to_string(code) + "-d PCA", "2-d deep AE", "2-d PCA"};
      figs.draw("reconstructions", rec);
    }
    {
      // The three at the same code size: the dense AE, the convolutional AE and PCA.
      const Index count = 12;
      const MatD X = test.range<double>(0, count);
      const MatF Xf = X.cast<float>();
      plot::Montage rec;
      rec.title = "test images and their reconstructions from a " + std::to_string(code) +
                  "-d code: dense AE (" + std::to_string(epochs) + " epochs), convolutional AE (" +
                  std::to_string(conv_epochs) + " epochs), PCA; test error " + fixed(ae_test) + ", " + fixed(cae_test) +
                  ", " + fixed(pca_test);
      rec.image_rows = test.rows;
      rec.image_cols = test.cols;
      rec.rows = {columns(X, count), columns(ae.reconstruct(Xf).cast<double>(), count),
                  columns(cae.reconstruct(Xf).cast<double>(), count), columns(pca.reconstruct(X), count)};
      rec.row_labels = {"real", "dense AE", "conv AE", "PCA"};
      figs.draw("conv_reconstructions", rec);
    }
    {
      // 2-d codes of test images, coloured by class: the deep AE's code beside PCA's projection.
      const Index n = std::min<Index>(test.size(), 3000);
      const MatD X = test.range<double>(0, n);
      const MatD codes = ae2.encode(X.cast<float>()).cast<double>();
      const MatD projected = pca2.project(X);
      std::vector<int> labels(test.labels.begin(), test.labels.begin() + n);
      auto panel = [&](std::string title, const MatD& pts, std::string axis) {
        Panel p;
        p.title = std::move(title);
        p.xlabel = axis + " 1";
        p.ylabel = axis + " 2";
        p.key = "outside right top";
        p.series = plot::scatter_by_label(pts, labels, test.class_names, "pt 7 ps 0.5");
        return p;
      };
      figs.draw("codes_2d", plot::Figure{test.name + " test images in two dimensions (" + std::to_string(n) + " images)",
                                         {panel("deep autoencoder, 2-d code", codes, "code unit"),
                                          panel("PCA, first two components", projected, "principal component")},
                                         1, 1400, 560});
    }
    {
      // The bump images of the verification table: each row of pixels is one image.
      auto bump_panel = [](std::string title, const MatD& images) {
        Panel p;
        p.title = std::move(title);
        p.xlabel = "pixel i";
        p.ylabel = "intensity x_i";
        p.yrange = std::make_pair(-0.25, 1.15);
        p.key = "off";
        for (Index j = 0; j < images.cols(); ++j) {
          std::vector<double> x, y;
          for (Index i = 0; i < images.rows(); ++i) {
            x.push_back(double(i));
            y.push_back(images(i, j));
          }
          p.series.push_back(plot::lines("", x, y, "lw 2 lc " + std::to_string(j + 1)));
        }
        return p;
      };
      figs.draw("bumps", plot::Figure{"Bump images (d = 32): one number each, but a curved manifold; 8 held-out images",
                                      {bump_panel("real", bumps.test_images),
                                       bump_panel("deep AE, 2-d code (test error " + fixed(bumps.ae_test, 3) + ")", bumps.ae_reconstructions),
                                       bump_panel("PCA, 2 components (test error " + fixed(bumps.pca_test, 3) + ")", bumps.pca_reconstructions)},
                                      1, 1500, 450});
    }
    {
      auto curve_panel = [](std::string title, const TrainingCurve& c, double pca_value) {
        Panel p;
        p.title = std::move(title);
        p.xlabel = "epoch";
        p.ylabel = "mean squared error per image (sum over pixels)";
        p.logy = true;
        p.series.push_back(plot::lines("deep AE, training images", c.epoch, c.train_error, "lw 2"));
        p.series.push_back(plot::lines("deep AE, test images", c.epoch, c.test_error, "lw 2 dt 2"));
        p.series.push_back(plot::hline("PCA, test images", pca_value, 0.0, c.epoch.back(), "dt 3 lw 2 lc rgb '#444444'"));
        return p;
      };
      figs.draw("loss_curves", plot::Figure{train.name + ": reconstruction error while training (Adam)",
                                            {curve_panel("code size " + std::to_string(code), curve, pca_test),
                                             curve_panel("code size 2", curve2, pca2_test)},
                                            1, 1200, 500});
    }
    return finish_chapter(figs, {&table, &real});
  });
}
