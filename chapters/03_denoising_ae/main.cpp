// Chapter 3: denoising autoencoders.
//
// Follows docs/03-denoising-autoencoders.md:
//   1. the derivation checks (eqs. 3.1-3.8): corruption, the DAE loss, training with noise is
//      Tikhonov regularisation, the closed-form linear DAE, the optimal DAE of a Gaussian, Tweedie's
//      formula, the small-noise limit, and a nonlinear DAE that estimates the score of a mixture;
//   2. the linear DAE on Fashion-MNIST: the closed form W* = S (S + sigma^2 I)^-1, a Wiener filter;
//   3. nonlinear DAEs on Fashion-MNIST for Gaussian and for masking noise;
//   4. the lecture figures.
#include <iomanip>
#include <iostream>

#include "03_denoising_ae/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using course::plot::columns;
using namespace course::ch03;
namespace po = boost::program_options;

namespace {

// An arrow field over a grid: each arrow has the direction of the field and length
// min(|field| * scale, cap), so that the large scores far from the data do not cover the picture.
plot::Series arrows(const std::string& title, const MatD& at, const MatD& field, double scale, double cap,
                    const std::string& style) {
  plot::Series s{plot::Series::Kind::Vectors, title, {{}, {}, {}, {}}, style};
  for (Index j = 0; j < at.cols(); ++j) {
    const double norm = field.col(j).norm();
    const double length = std::min(norm * scale, cap);
    const Eigen::Vector2d v = norm > 0 ? Eigen::Vector2d(field.col(j) * (length / norm)) : Eigen::Vector2d::Zero();
    s.columns[0].push_back(at(0, j));
    s.columns[1].push_back(at(1, j));
    s.columns[2].push_back(v.x());
    s.columns[3].push_back(v.y());
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("03", "denoising autoencoders: training with noise, Tikhonov and the score");
    double sigma = 0.5, nu = 0.5, sigma2d = 0.3;
    int hidden = 256, score_steps = 0;
    Index train_images = 0;
    cli.chapter_options().add_options()
      ("image-sigma", po::value<double>(&sigma)->default_value(0.5), "Gaussian noise standard deviation sigma on the images (pixels in [0, 1])")
      ("nu", po::value<double>(&nu)->default_value(0.5), "masking noise: probability that a pixel is dropped")
      ("hidden", po::value<int>(&hidden)->default_value(256), "hidden units of the image DAE")
      ("sigma", po::value<double>(&sigma2d)->default_value(0.3), "noise standard deviation of the 2-D mixture DAE")
      ("score-steps", po::value<int>(&score_steps), "Adam steps of the 2-D mixture DAE (default 3000, --quick 1500)")
      ("train-images", po::value<Index>(&train_images), "training images for the image DAEs (default all, --quick 1000)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (!(sigma > 0 && sigma <= 2)) throw InputError("--image-sigma must be in (0, 2], not " + format_number(sigma, 6));
    if (!(nu > 0 && nu < 1)) throw InputError("--nu must be in (0, 1), not " + format_number(nu, 6));
    // Below 1e-3, (E[x | x~] - x~) / sigma^2 in check 3.6 loses its digits to rounding (relative
    // error about 1e-16 / sigma^2): the identity is still true, the double arithmetic cannot show it.
    if (!(sigma2d >= 1e-3 && sigma2d <= 1)) throw InputError("--sigma must be in [0.001, 1], not " + format_number(sigma2d, 6));
    if (hidden < 1 || hidden > 4096) throw InputError("--hidden must be between 1 and 4096");
    if (!cli.vm().count("score-steps")) score_steps = opt.quick ? 1500 : 3000;
    if (!cli.vm().count("train-images")) train_images = opt.quick ? 1000 : 60000;  // all of Fashion-MNIST
    if (score_steps < 1 || train_images < 1) throw InputError("--score-steps and --train-images must be positive");
    const int epochs = opt.epochs_or(opt.quick ? 1 : 3);

    // Read the data first, so a bad --data fails at once.
    std::cout << "Chapter 3: denoising autoencoders\n";
    const TrainTest data = load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked on synthetic data ----------------------------------------
    const LinearProblem linear = make_linear_problem(opt.seed);
    const GaussianProblem gaussian = make_gaussian_problem();
    const GaussianMixture2D mixture = chapter_mixture();
    Stopwatch clock;
    const MixtureDaeRun dae2d = train_mixture_dae(mixture, sigma2d, score_steps, opt.seed + 2);
    const double dae2d_seconds = clock.seconds();
    CheckTable table;
    for (auto& r : all_checks(linear, gaussian, mixture, dae2d)) table.add(r);
    const MatD score_points = score_test_points(mixture, sigma2d);
    const MatD linear_field = linear_dae_score(mixture, sigma2d, score_points);
    table.print(std::cout, "Verification on synthetic data (linear: d = 5, sigma = 0.5; Gaussian: d = 3, sigma = 0.7; "
                           "mixture: 8 modes, sigma = " + format_number(sigma2d, 2) + ")");

    // ---- 2. The linear DAE on the images: W* = S (S + sigma^2 I)^-1, a Wiener filter -------------
    const ImageSet train = data.train.head(std::min<Index>(train_images, data.train.size()));
    const ImageSet cov_set = opt.quick ? data.train.head(2000) : data.train;
    const ImageSet test = data.test.head(opt.quick ? 200 : 2000);
    const Index d = train.dim();
    std::cout << "\n" << train.name << ": " << train.rows << "x" << train.cols << " images from " << data.source << "\n";
    clock = Stopwatch();
    MatD Xall = cov_set.all<double>();
    const VecD mean = Xall.rowwise().mean();
    Xall.colwise() -= mean;
    MatD S = MatD::Zero(d, d);
    S.selfadjointView<Eigen::Lower>().rankUpdate(Xall, 1.0 / double(Xall.cols()));
    S.triangularView<Eigen::StrictlyUpper>() = S.transpose();
    Xall.resize(0, 0);
    const MatD W_star = linear_dae_weights(S, sigma);
    const VecD lambda = Eigen::SelfAdjointEigenSolver<MatD>(S, Eigen::EigenvaluesOnly).eigenvalues().reverse();
    std::cout << "  covariance of " << cov_set.size() << " images, W* and the spectrum: " << clock.seconds() << " s\n";

    const MatD X_test = test.all<double>();
    Rng noise_rng(opt.seed + 5);
    const MatD X_gauss = gaussian_corruption(X_test, sigma, noise_rng);
    const MatD X_mask = masking_corruption(X_test, nu, noise_rng);
    const MatD by_linear = (W_star * (X_gauss.colwise() - mean)).colwise() + mean;

    // ---- 3. Nonlinear DAEs on the images, one per corruption ------------------------------------
    std::cout << "\nTraining two DAEs " << d << " -> " << hidden << " (ReLU) -> " << d << " (sigmoid) on "
              << train.size() << " images, Adam, batch 128, fresh noise every batch\n";
    const ImageDaeRun gauss_dae = train_image_dae(
        train, [&](const MatD& X, Rng& rng) { return gaussian_corruption(X, sigma, rng); }, hidden, epochs, 128, 1e-3,
        opt.seed + 3, std::cout, "DAE, Gaussian noise");
    const ImageDaeRun mask_dae = train_image_dae(
        train, [&](const MatD& X, Rng& rng) { return masking_corruption(X, nu, rng); }, hidden, epochs, 128, 1e-3,
        opt.seed + 4, std::cout, "DAE, masking noise");
    const MatD by_gauss_dae = gauss_dae.net.forward(X_gauss.cast<float>()).cast<double>();
    const MatD by_mask_dae = mask_dae.net.forward(X_mask.cast<float>()).cast<double>();

    // ---- Summary --------------------------------------------------------------------------------
    const MatD dae_field = dae_score(dae2d, score_points);
    const MatD true_field = mixture_score(mixture, sigma2d, score_points);
    std::cout << std::setprecision(4) << "\nSummary (squared error per test image, " << test.size() << " test images)\n"
              << "  Gaussian noise, sigma = " << sigma << ":  noisy " << mse_per_image(X_gauss, X_test)
              << " (d sigma^2 = " << double(d) * sigma * sigma << ")  linear DAE W* " << mse_per_image(by_linear, X_test)
              << "  nonlinear DAE " << mse_per_image(by_gauss_dae, X_test) << "\n"
              << "  masking noise, nu = " << nu << ":  masked " << mse_per_image(X_mask, X_test)
              << "  nonlinear DAE " << mse_per_image(by_mask_dae, X_test) << "\n"
              << "  linear DAE shrinks principal direction j by lambda_j/(lambda_j + sigma^2): "
              << lambda(0) / (lambda(0) + sigma * sigma) << " for j = 1, " << lambda(49) / (lambda(49) + sigma * sigma)
              << " for j = 50, " << lambda(299) / (lambda(299) + sigma * sigma) << " for j = 300\n"
              << "  2-D mixture DAE (" << score_steps << " Adam steps, " << dae2d_seconds << " s): mean cosine to the "
              << "smoothed score " << mean_cosine(dae_field, true_field) << " (best linear DAE "
              << mean_cosine(linear_field, true_field) << "), relative squared error "
              << (dae_field - true_field).squaredNorm() / true_field.squaredNorm() << "\n";

    // ---- 4. Figures ---------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    {
      plot::Montage m;
      m.title = "Denoising " + train.name + " test images (sigma = " + format_number(sigma, 2) +
                ", nu = " + format_number(nu, 2) + ")";
      m.image_rows = train.rows;
      m.image_cols = train.cols;
      const Index k = 12;
      m.rows = {columns(X_test, k),      columns(X_gauss, k),      columns(by_linear, k),
                columns(by_gauss_dae, k), columns(X_mask, k),      columns(by_mask_dae, k)};
      m.row_labels = {"clean", "Gaussian noise", "linear DAE W*", "nonlinear DAE", "masking noise", "nonlinear DAE"};
      figs.draw("denoising", m);
    }
    {
      // The vector field of (r(x) - x)/sigma^2 beside the true score, on a grid, data underneath.
      const int n = 19;
      const double lo = -3.0, hi = 3.0, spacing = (hi - lo) / (n - 1);
      MatD grid(2, n * n);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) grid.col(i * n + j) << lo + spacing * i, lo + spacing * j;
      const MatD est = dae_score(dae2d, grid), truth = mixture_score(mixture, sigma2d, grid);
      Rng rng(opt.seed + 6);
      const MatD pts = mixture.sample(1500, rng);
      const double scale = 0.08, cap = 0.9 * spacing;
      auto panel = [&](const std::string& title, const std::string& legend, const MatD& field, const std::string& colour) {
        Panel p;
        p.title = title;
        p.xlabel = "x_1";
        p.ylabel = "x_2";
        p.square = true;
        p.xrange = {lo - spacing, hi + spacing};
        p.yrange = {lo - spacing, hi + spacing};
        p.key = "below";
        p.series.push_back(plot::points("clean data samples", std::vector<double>(pts.row(0).begin(), pts.row(0).end()),
                                        std::vector<double>(pts.row(1).begin(), pts.row(1).end()),
                                        "pt 7 ps 0.3 lc rgb '#b0b0b0'"));
        p.series.push_back(arrows(legend, grid, field, scale, cap, "lw 1.5 lc rgb '" + colour + "'"));
        return p;
      };
      const std::string s = format_number(sigma2d, 2);
      figs.draw("score_field",
                plot::Figure{"A denoising autoencoder estimates the score (arrows: length 0.08 |s|, capped)",
                             {panel("trained DAE, sigma = " + s + " (mean cosine to the true score " +
                                        format_number(mean_cosine(dae_field, true_field), 3) + ")",
                                    "(r(x) - x) / sigma^2", est, "#1f77b4"),
                              panel("analytic score of the smoothed density", "grad log p_sigma(x)", truth, "#d62728")},
                             1, 1300, 700});
    }
    {
      // The small-noise limit (3.7): e(sigma) against sigma^2 c on log axes.
      std::vector<double> sig, err, pred;
      for (double e10 = -3.0; e10 <= 0.001; e10 += 0.125) {
        const double s = std::pow(10.0, e10);
        const LimitPoint e = small_noise_error(gaussian, s);
        sig.push_back(s);
        err.push_back(e.error);
        pred.push_back(e.predicted);
      }
      Panel p;
      p.title = "Gaussian data (d = 3): error of (r*(x) - x)/sigma^2 as an estimate of grad log p(x)";
      p.xlabel = "noise standard deviation sigma";
      p.ylabel = "|| (r*(x) - x)/sigma^2 - grad log p(x) ||";
      p.logx = p.logy = true;
      p.key = "top left";
      p.series.push_back(plot::points("exact optimal DAE r*", sig, err, "pt 7 ps 1.0"));
      p.series.push_back(plot::lines("predicted sigma^2 ||Sigma^-2 (x - mu)||", sig, pred, "lw 2 dt 2"));
      figs.draw("score_limit", plot::Figure{"The DAE's score estimate converges like sigma^2 (eq. 3.7)", {p}, 1, 900, 600});
    }
    {
      // The linear DAE: its shrinkage on the image spectrum, and the conditioning noise brings.
      Panel shrink;
      shrink.title = train.name + ": W* keeps direction j by lambda_j / (lambda_j + sigma^2)";
      shrink.xlabel = "principal direction j";
      shrink.ylabel = "shrinkage factor";
      shrink.logx = true;
      shrink.key = "bottom left";
      for (double e : {0.1, 0.25, 0.5, 1.0}) {
        std::vector<double> js, f;
        for (Index j = 0; j < d; ++j) {
          js.push_back(double(j + 1));
          f.push_back(std::max(lambda(j), 0.0) / (std::max(lambda(j), 0.0) + e * e));
        }
        shrink.series.push_back(plot::lines("sigma = " + format_number(e, 2), js, f, "lw 2"));
      }
      Panel gd;
      gd.title = "synthetic (eigenvalues 4 ... 0.25): gradient descent on the expected loss";
      gd.xlabel = "iteration";
      gd.ylabel = "||W_t - W*||_F / ||W*||_F";
      gd.logy = true;
      gd.yrange = {1e-16, 10.0};
      for (double e : {0.0, 0.25, 0.5, 1.0}) {
        const ExpectedLossDescent run = descend_expected_loss(linear.S, e, linear_dae_weights(linear.S, e));
        std::vector<double> r = run.relative_error;
        for (double& v : r) v = std::max(v, 1e-16);
        gd.series.push_back(plot::lines("sigma = " + format_number(e, 2), run.iteration, r, "lw 2"));
      }
      figs.draw("linear_dae", plot::Figure{"The linear DAE W* = S (S + sigma^2 I)^-1", {shrink, gd}, 1, 1300, 550});
    }
    return finish_chapter(figs, {&table});
  });
}
