// Chapter 12: conditional and discrete VAEs.
//
// Follows docs/12-cvae-discrete.md:
//   1. the derivation checks: the conditional ELBO on a linear-Gaussian CVAE (12.1); the Gumbel-max
//      trick (12.3); the Concrete density and the Gumbel-softmax sample (12.4) and its temperature
//      limits (12.5); the categorical KL (12.6); REINFORCE, the relaxed gradient and
//      straight-through on a toy objective (12.7-12.9);
//      and the gradients of the two networks' losses (12.2, 12.10);
//   2. bias and variance of the three gradient estimators against the temperature;
//   3. the conditional VAE on Fashion-MNIST with its labels: conditional samples, judged by a
//      classifier trained here, beside its accuracy on real test images;
//   4. the Gumbel-softmax VAE (30 categorical variables of 10 classes, temperature annealed),
//      its discrete test ELBO beside chapter 8's Gaussian VAE of the same width;
//   5. the lecture figures.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "08_vae/checks.hpp"
#include "12_cvae_discrete/checks.hpp"
#include "12_cvae_discrete/network_checks.hpp"
#include "12_cvae_discrete/training.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::ch12;
namespace po = boost::program_options;

namespace {

// A point of the 2-simplex in the plane: the corners e_1, e_2, e_3 at (0, 0), (1, 0), (1/2, sqrt 3 / 2).
std::pair<double, double> ternary(const VecD& y) { return {y(1) + 0.5 * y(2), 0.5 * std::sqrt(3.0) * y(2)}; }

std::vector<VecD> columns(const MatF& M) {
  std::vector<VecD> out;
  for (Index j = 0; j < M.cols(); ++j) out.push_back(M.col(j).cast<double>());
  return out;
}

std::string fixed(double x, int digits = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << x;
  return s.str();
}

plot::Series simplex_outline() {
  return plot::lines("", {0.0, 1.0, 0.5, 0.0}, {0.0, 0.0, 0.5 * std::sqrt(3.0), 0.0}, "lw 1 lc rgb '#444444'");
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("12", "conditional and discrete VAEs: the CVAE and the Gumbel-softmax relaxation");
    int latent = 20, groups = 30, classifier_epochs = 0, train_size = 0;
    cli.chapter_options().add_options()
      ("latent", po::value<int>(&latent)->default_value(20), "latent size of the CVAE and of chapter 8's Gaussian VAE")
      ("groups", po::value<int>(&groups)->default_value(30), "categorical variables (of 10 classes) of the discrete VAE")
      ("classifier-epochs", po::value<int>(&classifier_epochs), "epochs of the classifier (default 3, --quick 1)")
      ("train-size", po::value<int>(&train_size), "training images used (default all, --quick 2000)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (latent < 1 || latent > 200) throw InputError("--latent must be between 1 and 200, not " + std::to_string(latent));
    if (groups < 1 || groups > 100) throw InputError("--groups must be between 1 and 100, not " + std::to_string(groups));
    if (!cli.vm().count("classifier-epochs")) classifier_epochs = opt.quick ? 1 : 3;
    if (classifier_epochs < 1) throw InputError("--classifier-epochs must be at least 1");
    if (cli.vm().count("train-size") && train_size < 10) throw InputError("--train-size must be at least 10");
    const int epochs = opt.epochs_or(opt.quick ? 1 : 10);
    if (epochs < 1) throw InputError("--epochs must be at least 1");
    std::cout << "Chapter 12: conditional and discrete VAEs (CVAE, Gumbel-softmax)\n";
    // Read the data first, so a bad --data fails at once.
    const TrainTest data = load_image_data(opt.data, std::cout);
    const Index n_train = cli.vm().count("train-size") ? Index(train_size) : (opt.quick ? 2000 : data.train.size());
    const ImageSet train_set = data.train.head(std::min(n_train, data.train.size()));
    const ImageSet test_set = opt.quick ? data.test.head(500) : data.test;
    const Index classes = class_count(data.train);

    // ---- 1. The derivations, checked on small problems -----------------------------------------
    CheckTable table;
    for (CheckRow& r : toy_checks(opt.quick)) table.add(std::move(r));
    {
      SmallCvae c = small_cvae();
      table.add(check_eq_12_2_cvae_gradient(c, cvae_gradient(c)));
      SmallDvae d = small_dvae();
      table.add(check_eq_12_10_dvae_gradient(d, dvae_gradient(d)));
      table.add(check_eq_12_6_network_kl(d));
      table.add(check_eq_12_3_discrete_elbo_unbiased(d));
    }
    table.print(std::cout, "Verification on small problems (double)");

    // ---- 2. Bias and variance of the gradient estimators against the temperature ---------------
    const std::vector<double> taus = {0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0};
    const Index n_stats = opt.quick ? Index(1) << 14 : Index(1) << 17;
    const EstimatorStats relaxed = estimator_stats("relaxed (Gumbel-softmax)", relaxed_estimate, taus, n_stats, opt.seed + 1);
    const EstimatorStats st = estimator_stats("straight-through", straight_through_estimate, taus, n_stats, opt.seed + 2);
    const EstimatorStats reinforce = estimator_stats(
        "REINFORCE", [](const ToyObjective& o, const VecD& g, double) { return reinforce_estimate(o, g); }, {1.0}, n_stats,
        opt.seed + 3);
    std::cout << "\nGradient estimators on the toy objective E ||z - t||^2 (K = 3), " << n_stats << " draws each\n"
              << "  exact gradient (" << toy_exact_gradient(toy_objective()).transpose() << ")\n"
              << std::setw(8) << "tau" << std::setw(22) << "relaxed |bias|" << std::setw(16) << "relaxed var"
              << std::setw(18) << "ST |bias|" << std::setw(16) << "ST var\n";
    for (std::size_t i = 0; i < taus.size(); ++i)
      std::cout << std::setw(8) << taus[i] << std::setw(14) << std::setprecision(4) << relaxed.bias[i] << " +- "
                << std::setw(5) << std::setprecision(1) << relaxed.bias_se[i] << std::setw(16) << std::setprecision(4)
                << relaxed.variance[i] << std::setw(10) << st.bias[i] << " +- " << std::setw(5) << std::setprecision(1)
                << st.bias_se[i] << std::setw(15) << std::setprecision(4) << st.variance[i] << "\n";
    for (std::size_t i = 0; i < taus.size(); ++i)
      if (taus[i] == 0.5) {
        record_metric("relaxed_variance_tau_0_5", relaxed.variance[i], 3);
        record_metric("relaxed_bias_tau_0_5", relaxed.bias[i], 3);
        record_metric("st_variance_tau_0_5", st.variance[i], 3);
      }
    record_metric("reinforce_variance", reinforce.variance[0], 3);
    std::cout << "  REINFORCE: |bias| " << reinforce.bias[0] << " +- " << reinforce.bias_se[0] << " (unbiased), variance "
              << reinforce.variance[0] << "\n";

    // ---- 3. The conditional VAE on images with labels ---------------------------------------------
    std::cout << "\n" << train_set.name << ": " << train_set.size() << " training and " << test_set.size()
              << " test images from " << data.source << ", " << classes << " classes\n";
    Rng init_classifier(opt.seed + 100);
    Classifier classifier(train_set.dim(), classes, init_classifier);
    train_classifier(classifier, train_set, classifier_epochs, opt.seed + 100, &std::cout);
    const Accuracy real_accuracy = test_accuracy(classifier, test_set);

    CvaeConfig ccfg;
    ccfg.input = train_set.dim();
    ccfg.classes = classes;
    ccfg.latent = latent;
    Rng init_cvae(opt.seed + 200);
    Cvae<float> cvae(ccfg, init_cvae);
    const Curve cvae_curve = train_cvae(cvae, train_set, test_set, epochs, opt.seed + 200, &std::cout);
    std::vector<int> wanted;
    const Index per_class = opt.quick ? 30 : 300;
    const MatF samples = cvae_samples(cvae, per_class, opt.seed + 201, &wanted);
    const Accuracy sample_accuracy = accuracy(classifier.predict(samples), wanted);

    // ---- 4. The Gumbel-softmax VAE, and chapter 8's Gaussian VAE of the same width -----------------
    DvaeConfig dcfg;
    dcfg.input = train_set.dim();
    dcfg.groups = groups;
    dcfg.classes = 10;
    Rng init_dvae(opt.seed + 300);
    Dvae<float> dvae(dcfg, init_dvae);
    const Curve dvae_curve = train_dvae(dvae, train_set, test_set, epochs, 1.0, 0.5, opt.seed + 300, &std::cout);
    ch08::VaeConfig gcfg;
    gcfg.input = train_set.dim();
    gcfg.hidden = 400;
    gcfg.latent = latent;
    Rng init_gauss(opt.seed + 400);
    ch08::Vae<float> gauss(gcfg, init_gauss);
    const Curve gauss_curve = train_gaussian_vae(gauss, train_set, test_set, epochs, opt.seed + 400, &std::cout);

    // The test ELBOs of the last epoch again, per image (the same seed, so their means are the
    // curves' last points), for standard errors over images and paired differences.
    VecD cvae_kl, dvae_kl, gauss_kl;
    const VecD cvae_elbo = cvae_test_elbo(cvae, test_set, opt.seed + 200 + 77, &cvae_kl);
    const VecD dvae_elbo = dvae_test_elbo(dvae, test_set, opt.seed + 300 + 77, &dvae_kl);
    const VecD gauss_elbo = gaussian_test_elbo(gauss, test_set, opt.seed + 400 + 77, &gauss_kl);
    // log p(x) >= log p(x | y) + log p(y) for the true label, so ELBO(x | y) + log p(y) bounds the
    // CVAE's log p(x) with p(y) = 1/C (Fashion-MNIST's classes are balanced).
    const VecD cvae_joint = cvae_elbo.array() - std::log(double(classes));
    const McEstimate e_cvae = ch08::over_images(cvae_elbo), e_joint = ch08::over_images(cvae_joint),
                     e_dvae = ch08::over_images(dvae_elbo), e_gauss = ch08::over_images(gauss_elbo),
                     d_dvae = ch08::over_images(dvae_elbo - gauss_elbo), d_joint = ch08::over_images(cvae_joint - gauss_elbo);
    const auto pct = [](double p) { return fixed(100 * p, 1) + "%"; };
    const auto interval = [&](const Accuracy& a) { return pct(a.rate) + " [" + pct(a.lower) + ", " + pct(a.upper) + "]"; };
    const auto nats = [](const McEstimate& e) { return fixed(e.mean, 2) + " +- " + fixed(e.se, 2); };
    std::cout << "\nSummary (" << test_set.size() << " test images; intervals: Wilson 95%; +- one standard error over images)\n"
              << "  classifier 784-256-" << classes << " (" << classifier_epochs << " epochs): accuracy on real test images "
              << interval(real_accuracy) << "\n"
              << "  CVAE 784+" << classes << "-400-" << latent << ", " << epochs << " epochs in " << fixed(cvae_curve.seconds, 1)
              << " s: test ELBO(x|y) " << nats(e_cvae) << " nats per image (KL " << fixed(cvae_kl.mean(), 1) << ")\n"
              << "    its samples (z ~ N(0, I), " << per_class << " per class) classified as the requested class: "
              << interval(sample_accuracy) << " (chance " << pct(1.0 / double(classes)) << ")\n"
              << "    as a model of x: ELBO(x|y) - log " << classes << " = " << nats(e_joint)
              << " <= log p(x); minus the Gaussian VAE's ELBO, paired: " << nats(d_joint) << "\n"
              << "  Gumbel-softmax VAE 784-400-" << groups << "x10, " << epochs << " epochs in " << fixed(dvae_curve.seconds, 1)
              << " s, tau annealed 1 -> " << fixed(dvae_curve.tau.back(), 2) << ": test ELBO (discrete z) " << nats(e_dvae)
              << " nats per image (KL " << fixed(dvae_kl.mean(), 1) << " of at most " << fixed(double(groups) * std::log(10.0), 1)
              << ")\n"
              << "    minus the Gaussian VAE's ELBO, paired: " << nats(d_dvae) << "\n"
              << "  Gaussian VAE 784-400-" << latent << " (chapter 8), " << epochs << " epochs in " << fixed(gauss_curve.seconds, 1)
              << " s: test ELBO " << nats(e_gauss) << " nats per image (KL " << fixed(gauss_kl.mean(), 1) << ")\n";
    record_metric("classifier_accuracy", 100 * real_accuracy.rate, 1);
    record_metric("classifier_accuracy_lower", 100 * real_accuracy.lower, 1);
    record_metric("classifier_accuracy_upper", 100 * real_accuracy.upper, 1);
    record_metric("sample_accuracy", 100 * sample_accuracy.rate, 1);
    record_metric("sample_accuracy_lower", 100 * sample_accuracy.lower, 1);
    record_metric("sample_accuracy_upper", 100 * sample_accuracy.upper, 1);
    record_metric("samples_per_class", double(per_class), 0);
    record_metric("cvae_test_elbo", e_cvae.mean);
    record_metric("cvae_joint_bound", e_joint.mean);
    record_metric("cvae_minus_gaussian", d_joint.mean);
    record_metric("cvae_minus_gaussian_se", d_joint.se);
    record_metric("dvae_test_elbo", e_dvae.mean);
    record_metric("dvae_minus_gaussian", d_dvae.mean);
    record_metric("dvae_minus_gaussian_se", d_dvae.se);
    record_metric("gaussian_test_elbo", e_gauss.mean);
    record_metric("cvae_kl", cvae_kl.mean(), 1);
    record_metric("dvae_kl", dvae_kl.mean(), 1);
    record_metric("gaussian_kl", gauss_kl.mean(), 1);
    record_metric("test_elbo_se", std::max({e_cvae.se, e_dvae.se, e_gauss.se}));
    record_metric("epochs", double(epochs), 0);
    record_metric("test_images", double(test_set.size()), 0);
    record_metric("train_images", double(train_set.size()), 0);

    // ---- 5. Figures -------------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    const Index R = train_set.rows, C = train_set.cols;
    auto montage = [&](std::string title) {
      plot::Montage m;
      m.title = std::move(title);
      m.image_rows = R;
      m.image_cols = C;
      return m;
    };
    const auto class_name = [&](Index c) {
      return c < Index(train_set.class_names.size()) ? train_set.class_names[std::size_t(c)] : "class " + std::to_string(c);
    };
    {
      // One row per class: decoder means of z ~ N(0, I) under y = e_c.
      const Index cols = 10;
      const MatF grid = cvae_samples(cvae, cols, opt.seed + 202);
      plot::Montage m = montage("CVAE samples: one row per requested class y, decoder mean at z ~ N(0, I)");
      for (Index c = 0; c < classes; ++c) {
        m.rows.push_back(columns(MatF(grid.middleCols(c * cols, cols))));
        m.row_labels.push_back(class_name(c));
      }
      figs.draw("cvae_samples", m);
    }
    {
      // The style of a test image kept, the class changed: z = mu(x, y_true), decoded under every y.
      const Index n = 10;
      const MatF X = test_set.range<float>(0, n);
      cvae.encode(X, labels_one_hot_range(test_set, 0, n, classes));
      const MatF Z = cvae.mu();
      plot::Montage m = montage("The same z decoded under every y: z = mu(x, y) of the test image in the top row");
      m.rows.push_back(columns(X));
      m.row_labels.push_back("test image");
      for (Index c = 0; c < classes; ++c) {
        MatF Y = MatF::Zero(classes, n);
        Y.row(c).setOnes();
        m.rows.push_back(columns(cvae.decode_mean(Z, Y)));
        m.row_labels.push_back(class_name(c));
      }
      figs.draw("cvae_style", m);
    }
    {
      // Samples of the discrete VAE: z from its uniform prior (one class per group), decoded.
      Rng rng(opt.seed + 301);
      plot::Montage m = montage("Gumbel-softmax VAE samples: z uniform over 10^" + std::to_string(groups) +
                                " codes (one class per group), decoder mean");
      for (int r = 0; r < 6; ++r) {
        MatF Z = MatF::Zero(dvae.code_size(), 12);
        for (Index j = 0; j < 12; ++j)
          for (Index g = 0; g < groups; ++g) Z(g * 10 + Index(rng.below(10)), j) = 1.0f;
        m.rows.push_back(columns(dvae.decode_mean(Z)));
      }
      figs.draw("dvae_samples", m);
    }
    {
      // The effect of the temperature: one Gumbel draw per image, the relaxed code at several tau
      // and the one-hot code, decoded.
      const Index n = 8;
      const MatF X = test_set.range<float>(0, n);
      Rng rng(opt.seed + 302);
      const MatF G = gumbel_matrix(dvae.code_size(), n, rng);
      dvae.encode(X);
      const MatF Theta = dvae.Theta;
      plot::Montage m = montage("Relaxed codes softmax((a + g) / tau) of test images, decoded (one g per column)");
      m.rows.push_back(columns(X));
      m.row_labels.push_back("test image");
      for (double tau : {0.1, 0.5, 1.0, 2.0, 5.0}) {
        m.rows.push_back(columns(dvae.decode_mean(dvae.group_softmax(Theta + G, float(tau)))));
        m.row_labels.push_back("tau = " + fixed(tau, 1));
      }
      m.rows.push_back(columns(dvae.decode_mean(dvae.group_one_hot(Theta + G))));
      m.row_labels.push_back("one-hot z");
      figs.draw("dvae_temperature", m);
    }
    {
      // The codes of a few images: q(z_n | x) for the 30 groups, as a K x N picture (a column per
      // group, a row per class; black = probability 1), beside the image.
      const Index n = 6;
      const MatF X = test_set.range<float>(0, n);
      dvae.encode(X);
      const MatF Q = dvae.posterior();
      std::vector<Panel> panels;
      for (Index j = 0; j < n; ++j) {
        Panel a;
        a.title = class_name(Index(test_set.labels[std::size_t(j)]));
        a.xlabel = "variable n";
        a.ylabel = "class k";
        a.key = "off";
        a.extra = {"set palette grey negative", "unset colorbox", "set cbrange [0:1]"};
        a.xrange = std::make_pair(-0.5, double(groups) - 0.5);
        a.yrange = std::make_pair(-0.5, 9.5);
        std::vector<double> xs, ys, v;
        for (Index g = 0; g < groups; ++g)
          for (Index k = 0; k < 10; ++k) {
            xs.push_back(double(g));
            ys.push_back(double(k));
            v.push_back(double(Q(g * 10 + k, j)));
          }
        a.series.push_back({plot::Series::Kind::Image, "", {xs, ys, v}, ""});
        panels.push_back(a);
      }
      figs.draw("dvae_codes", plot::Figure{"Gumbel-softmax VAE: q(z_n = k | x) of six test images (" + std::to_string(groups) +
                                               " variables of 10 classes)",
                                           panels, 2, 1500, 700});
      plot::Montage m = montage("the six test images of dvae_codes");
      m.rows.push_back(columns(X));
      figs.draw("dvae_codes_images", m);
    }
    {
      Panel a;
      a.title = "test ELBO per epoch";
      a.xlabel = "epoch";
      a.ylabel = "nats per image";
      a.key = "bottom right";
      a.series.push_back(plot::lines("CVAE, ELBO(x|y)", cvae_curve.epoch, cvae_curve.test_elbo, "lw 2 lc rgb '#1f77b4'"));
      a.series.push_back(plot::lines("Gumbel-softmax VAE, discrete z", dvae_curve.epoch, dvae_curve.test_elbo,
                                     "lw 2 lc rgb '#d62728'"));
      a.series.push_back(plot::lines("Gaussian VAE (chapter 8)", gauss_curve.epoch, gauss_curve.test_elbo,
                                     "lw 2 dt 2 lc rgb '#2ca02c'"));
      Panel b;
      b.title = "Gumbel-softmax VAE: temperature at the end of each epoch";
      b.xlabel = "epoch";
      b.ylabel = "tau";
      b.key = "off";
      b.yrange = std::make_pair(0.0, 1.1);
      b.series.push_back(plot::lines("", dvae_curve.epoch, dvae_curve.tau, "lw 2 lc rgb '#d62728'"));
      figs.draw("elbo_curves", plot::Figure{train_set.name + ": test ELBO of the three models, and the annealed temperature",
                                            {a, b}, 1, 1300, 500});
    }
    {
      // The Concrete density for K = 2 (of y_1) at several temperatures, with a histogram of
      // samples at tau = 0.5, and K = 3 samples on the simplex.
      Panel a;
      a.title = "K = 2, pi = (0.7, 0.3): density of y_1";
      a.xlabel = "y_1";
      a.ylabel = "p(y_1)";
      a.yrange = std::make_pair(0.0, 6.5);
      a.key = "top center";
      const VecD la = concrete_location(2);
      const std::vector<std::string> colours = {"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd"};
      const std::vector<double> curve_taus = {0.1, 0.5, 1.0, 2.0, 5.0};
      {
        Rng rng(opt.seed + 4);
        const int bins = 40;
        std::vector<double> x(bins), h(bins, 0.0);
        const int n = 100000;
        for (int i = 0; i < n; ++i) {
          const VecD y = gumbel_softmax(la, gumbel_noise(2, rng), 0.5);
          h[std::size_t(std::min(bins - 1, int(y(0) * bins)))] += double(bins) / n;
        }
        for (int b = 0; b < bins; ++b) x[std::size_t(b)] = (b + 0.5) / bins;
        a.series.push_back({plot::Series::Kind::Boxes, "histogram of samples, tau = 0.5", {x, h},
                            "fs solid 0.25 noborder lc rgb '#1f77b4'"});
      }
      for (std::size_t c = 0; c < curve_taus.size(); ++c) {
        std::vector<double> x, p;
        for (int i = 1; i < 400; ++i) {
          const double y1 = i / 400.0;
          x.push_back(y1);
          p.push_back(std::exp(concrete_log_density((VecD(2) << y1, 1.0 - y1).finished(), la, curve_taus[c])));
        }
        a.series.push_back(plot::lines("tau = " + std::to_string(curve_taus[c]).substr(0, 3), x, p,
                                       "lw 2 lc rgb '" + colours[c] + "'"));
      }
      figs.draw("concrete_density", plot::Figure{"The Concrete (Gumbel-softmax) density for K = 2: mass moves to the corners "
                                                 "as tau -> 0, to the centre as tau grows",
                                                 {a}, 1, 900, 600});
      std::vector<Panel> panels;
      const VecD la3 = concrete_location(3);
      for (double tau : {0.1, 0.5, 1.0, 5.0}) {
        Panel p;
        p.title = "K = 3, pi = (0.5, 0.3, 0.2), tau = " + std::to_string(tau).substr(0, 3);
        p.square = true;
        p.key = "off";
        p.xrange = std::make_pair(-0.05, 1.05);
        p.yrange = std::make_pair(-0.05, 0.95);
        p.extra = {"unset xtics", "unset ytics", "set label 'e_1' at -0.04,-0.03 right", "set label 'e_2' at 1.04,-0.03",
                   "set label 'e_3' at 0.5,0.9 center"};
        Rng rng(opt.seed + 5);
        std::vector<double> xs, ys;
        for (int i = 0; i < 1500; ++i) {
          const auto [u, v] = ternary(gumbel_softmax(la3, gumbel_noise(3, rng), tau));
          xs.push_back(u);
          ys.push_back(v);
        }
        p.series.push_back(simplex_outline());
        p.series.push_back(plot::points("", xs, ys, "pt 7 ps 0.3 lc rgb '#1f77b4'"));
        panels.push_back(p);
      }
      figs.draw("concrete_simplex", plot::Figure{"1500 Gumbel-softmax samples on the simplex: one-hot corners as tau -> 0, "
                                                 "the centre as tau grows",
                                                 panels, 1, 1800, 500});
    }
    {
      const auto b_xrange = std::make_pair(0.08, 6.0);
      Panel a;
      a.title = "bias ||E[g] - grad F|| (+- 1 SE)";
      a.xlabel = "temperature tau";
      a.ylabel = "bias";
      a.logx = a.logy = true;
      a.key = "top left";
      a.xrange = b_xrange;
      a.series.push_back(plot::lines("relaxed (Gumbel-softmax)", relaxed.tau, relaxed.bias, "lw 2 lc rgb '#1f77b4'"));
      a.series.push_back({plot::Series::Kind::ErrorBars, "", {relaxed.tau, relaxed.bias, relaxed.bias_se}, "lc rgb '#1f77b4'"});
      a.series.push_back(plot::lines("straight-through", st.tau, st.bias, "lw 2 lc rgb '#d62728'"));
      a.series.push_back({plot::Series::Kind::ErrorBars, "", {st.tau, st.bias, st.bias_se}, "lc rgb '#d62728'"});
      a.series.push_back(plot::hline("REINFORCE (unbiased): Monte Carlo noise level", reinforce.bias_se[0], taus.front(),
                                     taus.back(), "dt 2 lw 2 lc rgb '#2ca02c'"));
      Panel b;
      b.title = "variance E||g - E g||^2 of one draw";
      b.xlabel = "temperature tau";
      b.ylabel = "variance";
      b.logx = b.logy = true;
      b.key = "top right";
      b.xrange = b_xrange;
      b.series.push_back(plot::lines("relaxed (Gumbel-softmax)", relaxed.tau, relaxed.variance, "lw 2 lc rgb '#1f77b4'"));
      b.series.push_back(plot::points("", relaxed.tau, relaxed.variance, "pt 7 lc rgb '#1f77b4'"));
      b.series.push_back(plot::lines("straight-through", st.tau, st.variance, "lw 2 lc rgb '#d62728'"));
      b.series.push_back(plot::points("", st.tau, st.variance, "pt 5 lc rgb '#d62728'"));
      b.series.push_back(plot::hline("REINFORCE", reinforce.variance[0], taus.front(), taus.back(), "dt 2 lw 2 lc rgb '#2ca02c'"));
      figs.draw("estimators", plot::Figure{"Gradient estimators for E_{z ~ Cat(softmax(a))} ||z - t||^2, K = 3: "
                                           "bias against variance",
                                           {a, b}, 1, 1300, 520});
    }
    return finish_chapter(figs, {&table});
  });
}
