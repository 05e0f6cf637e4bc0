// Chapter 4: sparse and dropout autoencoders.
//
// Follows docs/04-sparse-and-dropout-autoencoders.md:
//   1. the derivation checks on a small network and a small regression (eqs. 4.1-4.7);
//   2. three one-hidden-layer autoencoders with sigmoid codes trained on Fashion-MNIST: without a
//      penalty, with the KL sparsity penalty of the UFLDL sparse autoencoder, and with inverted
//      dropout on the code;
//   3. the trained sparse AE's mean activation against its target rho (eq. 4.5), and the test
//      reconstruction errors of all three;
//   4. the lecture figures: encoder filters, histograms of activations, reconstructions.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "04_sparse_dropout_ae/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/run_record.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch04;
namespace po = boost::program_options;

namespace {

// Rows first..first+count of W (k x d) as images: the encoder filter of each hidden unit.
std::vector<VecD> filter_row(const MatF& W, Index first, Index count) {
  std::vector<VecD> out;
  for (Index j = first; j < std::min(first + count, W.rows()); ++j) out.push_back(W.row(j).transpose().cast<double>());
  return out;
}

std::vector<VecD> columns(const MatF& M, Index count) {
  std::vector<VecD> out;
  for (Index j = 0; j < std::min(count, M.cols()); ++j) out.push_back(M.col(j).cast<double>());
  return out;
}

// A histogram of values in [0, 1] with `bins` bins, as the fraction of values per bin.
plot::Series histogram(const std::string& title, const MatF& values, int bins, const std::string& style) {
  std::vector<double> x(static_cast<std::size_t>(bins)), y(static_cast<std::size_t>(bins), 0.0);
  for (int b = 0; b < bins; ++b) x[std::size_t(b)] = (b + 0.5) / bins;
  for (Index i = 0; i < values.size(); ++i) {
    const int b = std::clamp(int(double(values(i)) * bins), 0, bins - 1);
    y[std::size_t(b)] += 1.0 / double(values.size());
  }
  for (double& v : y) v = std::max(v, 1e-7);  // log axis: an empty bin sits at the floor
  plot::Series s{plot::Series::Kind::Boxes, title, {x, y}, style};
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("04", "sparse and dropout autoencoders");
    int hidden = 100, train_size = 0;
    double rho = 0.05, beta = 3.0, drop_rate = 0.3, lr = 2e-3;
    cli.chapter_options().add_options()
      ("hidden", po::value<int>(&hidden)->default_value(100), "hidden units (code size) of the autoencoders")
      ("rho", po::value<double>(&rho)->default_value(0.05), "target mean activation of the sparse AE")
      ("beta", po::value<double>(&beta)->default_value(3.0), "weight of the KL sparsity penalty")
      ("drop", po::value<double>(&drop_rate)->default_value(0.3), "drop rate of the dropout AE's code")
      ("lr", po::value<double>(&lr)->default_value(2e-3), "Adam's learning rate")
      ("train-size", po::value<int>(&train_size), "training images used (default 20000, --quick 1000)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (hidden < 1 || hidden > 1024) throw InputError("--hidden must be between 1 and 1024, not " + std::to_string(hidden));
    if (!(rho > 0.0 && rho < 1.0)) throw InputError("--rho must lie in (0, 1)");
    if (!(beta >= 0.0)) throw InputError("--beta must be non-negative");
    if (!(drop_rate >= 0.0 && drop_rate < 1.0)) throw InputError("--drop must lie in [0, 1)");
    if (!cli.vm().count("train-size")) train_size = opt.quick ? 1000 : 20000;
    if (train_size < 1) throw InputError("--train-size must be positive");

    // Read the data first, so a bad --data fails at once.
    std::cout << "Chapter 4: sparse and dropout autoencoders\n";
    const TrainTest data = load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked on a small network (d = 10, k = 6, B = 8) and a regression --
    const Problem problem = make_problem(opt.seed);
    const DropoutRegression regression = make_dropout_regression(opt.seed + 2);
    CheckTable table;
    for (auto& row : all_checks(problem, regression)) table.add(row);
    table.print(std::cout, "Verification on a small network (d = 10, k = 6, B = 8, rho = 0.1, beta = 3, lambda = 0.7) "
                           "and a dropout regression (p = 6, n = 20, delta = 0.3)");

    // ---- 2. Three autoencoders on the images ---------------------------------------------------
    const ImageSet train = data.train.head(std::min<Index>(train_size, data.train.size()));
    const ImageSet test = opt.quick ? data.test.head(500) : data.test;
    const MatF X = train.all<float>(), Xt = test.all<float>();
    std::cout << "\n" << train.name << ": " << X.cols() << " training and " << Xt.cols() << " test images of "
              << train.rows << "x" << train.cols << " from " << data.source << "\n";

    TrainConfig base;
    base.hidden = hidden;
    base.epochs = opt.epochs_or(opt.quick ? 5 : 8);
    base.seed = opt.seed + 10;
    base.lr = lr;
    TrainConfig sparse_cfg = base, dropout_cfg = base;
    sparse_cfg.reg.kind = Regulariser::Kind::KL;
    sparse_cfg.reg.rho = rho;
    sparse_cfg.reg.beta = beta;
    dropout_cfg.reg.drop_rate = drop_rate;
    std::cout << "Training three AEs with " << hidden << " sigmoid hidden units, Adam (lr " << lr << "), batch "
              << base.batch << ", " << base.epochs << " epoch(s):\n";
    const auto plain = train_ae(X, base, &std::cout, "plain  ");
    const auto sparse = train_ae(X, sparse_cfg, &std::cout, "sparse ");
    const auto dropped = train_ae(X, dropout_cfg, &std::cout, "dropout");

    // ---- 3. What training did: mean activations and reconstruction errors ---------------------
    const VecD rho_hat_sparse = mean_activation(sparse.ae, Xt);
    const VecD rho_hat_plain = mean_activation(plain.ae, Xt);
    const VecD rho_hat_dropout = mean_activation(dropped.ae, Xt);
    CheckTable real;
    real.add(check_eq_4_5_mean_activation(rho_hat_sparse, rho, beta, std::to_string(Xt.cols()) + " test images"));
    real.print(std::cout, "Verification on " + train.name);

    struct Row {
      std::string name, key;  // key: the metrics' prefix (docs/04 quotes {{metric:ch04.plain_test}})
      const TrainedAe<float>* t;
      const VecD* rho_hat;
    };
    const std::vector<Row> models = {{"no penalty", "plain", &plain, &rho_hat_plain},
                                     {"KL sparse (rho " + format_number(rho, 3) + ", beta " +
                                          format_number(beta, 2) + ")", "sparse", &sparse, &rho_hat_sparse},
                                     {"dropout (delta " + format_number(drop_rate, 2) + ")", "dropout", &dropped, &rho_hat_dropout}};
    std::cout << "\nSummary (reconstruction error = mean over images of ||x_hat - x||^2, test time without dropout)\n"
              << std::fixed << std::setprecision(3) << "  " << std::left << std::setw(36) << "model" << std::setw(12) << "train err" << std::setw(12)
              << "test err" << std::setw(16) << "mean activation" << "train time\n";
    for (const Row& m : models) {
      const double train_error = reconstruction_error(m.t->ae, X), test_error = reconstruction_error(m.t->ae, Xt);
      std::cout << "  " << std::setw(36) << m.name << std::setw(12) << train_error << std::setw(12) << test_error
                << std::setw(16) << m.rho_hat->mean() << m.t->seconds << " s\n";
      record_metric(m.key + "_train", train_error, 2);
      record_metric(m.key + "_test", test_error, 2);
      record_metric(m.key + "_mean_activation", m.rho_hat->mean(), 3);
    }
    record_metric("train_images", double(X.cols()), 0);
    record_metric("epochs", base.epochs, 0);
    std::cout << std::right << std::defaultfloat;

    // ---- 4. Figures ----------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    if (figs.enabled()) {
      const Index per_row = 16, filter_rows = std::min<Index>(3, (hidden + per_row - 1) / per_row);
      plot::Montage filters;
      filters.title = "encoder filters w_j (rows of W_{enc}), 0 = grey, each scaled to ±(its 98th percentile of |w|)";
      filters.image_rows = train.rows;
      filters.image_cols = train.cols;
      for (const auto& [label, t] : {std::pair{std::string("no penalty"), &plain}, std::pair{std::string("KL sparse"), &sparse},
                                     std::pair{std::string("dropout"), &dropped}})
        for (Index r = 0; r < filter_rows; ++r) {
          filters.rows.push_back(filter_row(t->ae.enc().W, r * per_row, per_row));
          filters.row_labels.push_back(r == 0 ? label : "");
        }
      filters.normalise_each = true;
      filters.symmetric = true;
      filters.clip_quantile = 0.98;
      filters.pixel_scale = 2;
      figs.draw("filters", filters);

      // Activations of the hidden units on 1000 test images.
      const MatF Xh = Xt.leftCols(std::min<Index>(1000, Xt.cols()));
      std::vector<plot::Panel> panels;
      const char* colours[] = {"lc rgb '#4477aa'", "lc rgb '#cc6677'", "lc rgb '#228833'"};
      for (std::size_t m = 0; m < models.size(); ++m) {
        plot::Panel p;
        p.title = models[m].name + ": mean " + format_number(models[m].rho_hat->mean(), 3);
        p.xlabel = "activation h_{ji} of a hidden unit";
        p.ylabel = "fraction of (unit, image) pairs";
        p.logy = true;
        p.xrange = std::pair{0.0, 1.0};
        p.yrange = std::pair{1e-5, 1.0};
        p.key = "off";
        p.series.push_back(histogram("", models[m].t->ae.encode(Xh), 25, colours[m]));
        panels.push_back(p);
      }
      plot::Panel units;
      units.title = "mean activation rho-hat_j of each unit (sorted)";
      units.xlabel = "hidden unit (sorted by mean activation)";
      units.ylabel = "mean activation on test images";
      units.logy = true;
      units.key = "bottom right";
      for (std::size_t m = 0; m < models.size(); ++m) {
        std::vector<double> x, y(models[m].rho_hat->data(), models[m].rho_hat->data() + models[m].rho_hat->size());
        std::sort(y.begin(), y.end());
        for (std::size_t j = 0; j < y.size(); ++j) x.push_back(double(j + 1));
        units.series.push_back(plot::lines(models[m].name, x, y, std::string(colours[m]) + " lw 2"));
      }
      units.series.push_back(plot::hline("target rho", rho, 1, double(hidden), "dt 2 lw 2 lc rgb '#444444'"));
      panels.push_back(units);
      figs.draw("activations", plot::Figure{"Hidden activations on " + std::to_string(Xh.cols()) + " test images", panels, 2, 1100, 850});

      plot::Montage rec;
      rec.title = "test images and their reconstructions (" + std::to_string(hidden) + " hidden units)";
      rec.image_rows = train.rows;
      rec.image_cols = train.cols;
      const MatF Xs = Xt.leftCols(12);
      rec.rows = {columns(Xs, 12), columns(plain.ae.reconstruct(Xs).cwiseMax(0.0f).cwiseMin(1.0f), 12),
                  columns(dropped.ae.reconstruct(Xs).cwiseMax(0.0f).cwiseMin(1.0f), 12),
                  columns(sparse.ae.reconstruct(Xs).cwiseMax(0.0f).cwiseMin(1.0f), 12)};
      rec.row_labels = {"test image", "no penalty", models[2].name, "KL sparse"};
      figs.draw("reconstructions", rec);

      plot::Panel curves;
      curves.title = "training objective L per epoch";
      curves.xlabel = "epoch";
      curves.ylabel = "mean objective (reconstruction + penalty)";
      curves.logy = true;
      for (std::size_t m = 0; m < models.size(); ++m) {
        std::vector<double> e;
        for (std::size_t i = 0; i < models[m].t->epoch_loss.size(); ++i) e.push_back(double(i + 1));
        curves.series.push_back(plot::lines(models[m].name, e, models[m].t->epoch_loss, std::string(colours[m]) + " lw 2"));
      }
      figs.draw("training", plot::Figure{"Training of the three autoencoders", {curves}, 1, 800, 500});
    }
    return finish_chapter(figs, {&table, &real});
  });
}
