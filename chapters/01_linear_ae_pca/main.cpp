// Chapter 1: the linear autoencoder finds the PCA subspace.
//
// Follows docs/01-linear-autoencoder-pca.md:
//   1. the derivation checks, on synthetic data with a known spectrum (eqs. 1.1-1.6);
//   2. PCA of Fashion-MNIST, by the covariance and by the SVD, and the Eckart-Young error;
//   3. a linear autoencoder trained by gradient descent on the same images: it finds the PCA
//      subspace, but not the principal directions themselves (Baldi & Hornik);
//   4. the lecture figures.
#include <iostream>

#include "01_linear_ae_pca/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using course::plot::columns;
using namespace course::ch01;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("01", "the linear autoencoder finds the PCA subspace");
    int k = 16, iterations = 0;
    cli.chapter_options().add_options()
      ("k", po::value<int>(&k)->default_value(16), "code size (hidden units) on the image data")
      ("iterations", po::value<int>(&iterations), "gradient-descent iterations on the image data (default 4000, --quick 200)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (k < 1 || k > 256) throw InputError("--k must be between 1 and 256, not " + std::to_string(k));
    if (!cli.vm().count("iterations")) iterations = opt.quick ? 200 : 4000;
    if (iterations < 1) throw InputError("--iterations must be positive");

    // Read the data first, so a bad --data fails at once.
    std::cout << "Chapter 1: the linear autoencoder finds the PCA subspace\n";
    const TrainTest data = load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked on synthetic data (d = 10, k = 3, known spectrum) --------
    const Problem problem = make_problem(opt.seed);
    const TrainedAe synthetic = train_on_problem(problem);
    CheckTable table;
    for (auto& row : all_checks(problem, synthetic, train_with_weight_decay(problem))) table.add(row);
    table.print(std::cout, "Verification on synthetic data (d = 10, n = 2000, k = 3, eigenvalues 9 6 4 1 ...)");

    // ---- 2. PCA of the images ---------------------------------------------------------------
    const ImageSet train = opt.quick ? data.train.head(2000) : data.train;
    const ImageSet test = opt.quick ? data.test.head(500) : data.test;
    const Index n = train.size(), d = train.dim();
    std::cout << "\n" << train.name << ": " << n << " training and " << test.size() << " test images of "
              << train.rows << "x" << train.cols << " from " << data.source << "\n";
    Stopwatch clock;
    MatD X = train.all<double>();
    const VecD mean = X.rowwise().mean();
    X.colwise() -= mean;  // Xc
    MatD S = MatD::Zero(d, d);
    S.selfadjointView<Eigen::Lower>().rankUpdate(X, 1.0 / double(n));
    S.triangularView<Eigen::StrictlyUpper>() = S.transpose();
    const Eigen::SelfAdjointEigenSolver<MatD> eig(S);
    const VecD lambda = eigenvalues_decreasing(eig);
    const MatD U = top_eigenvectors(eig, std::min<Index>(d, 128));
    std::cout << "  covariance and its eigendecomposition: " << clock.seconds() << " s\n";

    CheckTable real;
    {
      // (1.1) on real data: the SVD of a subset against the eigenvectors of its covariance.
      const Index m = std::min<Index>(n, 5000);
      const MatD Xs = train.range<double>(0, m);
      const MatD Xsc = Xs.colwise() - Xs.rowwise().mean();
      const Eigen::SelfAdjointEigenSolver<MatD> es(Xsc * Xsc.transpose() / double(m));
      const Pca pca = pca_via_svd(Xs, k);
      real.add(check_identity("1.1", "SVD vs covariance eigvecs, " + std::to_string(m) + " images (rad)", 0.0,
                              principal_angles(pca.components, top_eigenvectors(es, k)).maxCoeff(), 1e-8));
      real.add(check_identity("1.1", "eigenvalues = s_j^2 / n, " + std::to_string(m) + " images",
                              MatD(eigenvalues_decreasing(es).head(k)), MatD(pca.eigenvalues.head(k))));
      // (1.2) Eckart-Young on all the training images.
      const MatD Uk = U.leftCols(k);
      const double err = (X - Uk * (Uk.transpose() * X)).squaredNorm() / double(n);
      real.add(check_identity("1.2", "Eckart-Young at k = " + std::to_string(k), lambda.tail(d - k).sum(), err));
    }

    // ---- 3. A linear autoencoder trained by gradient descent on the same images ------------
    // Gradient descent on the d x d covariance root Y: the same loss and gradient as the n images.
    const MatD Y = covariance_root(eig);
    const MatD Uk = U.leftCols(k);
    const double eckart_young = lambda.tail(d - k).sum();
    {
      Rng rng(opt.seed + 1);
      const MatD We = rng.normal_matrix<double>(k, d) / std::sqrt(double(d)), Wd = rng.normal_matrix<double>(d, k);
      real.add(check_identity("1.3", "L depends on the data only through S: L(Xc) = L(Y)",
                              linear_ae_loss(X, We, Wd), linear_ae_loss(Y, We, Wd)));
    }
    clock = Stopwatch();
    const LinearAeRun ae = train_linear_ae(Y, k, iterations, 0.8 / lambda(0), opt.seed, Uk, 20);
    std::cout << "  linear AE, k = " << k << ", " << iterations << " iterations of gradient descent: "
              << clock.seconds() << " s\n";
    real.add(check_bound("1.5", "AE error >= Eckart-Young (no rank-k map does better)", eckart_young,
                         2.0 * ae.loss.back(), 1e-10 * eckart_young));
    real.print(std::cout, "Verification on " + train.name);

    const double off = off_direction_energy(ae.W_dec, Uk);
    // Aligning the AE basis onto PCA's: A = argmin ||W_dec A - U_k||_F, i.e. the least-squares fit.
    const MatD aligned = ae.W_dec * ae.W_dec.colPivHouseholderQr().solve(Uk);

    // Test reconstruction error vs k, with the training mean and components.
    MatD Xt = test.all<double>();
    Xt.colwise() -= mean;
    const MatD P = U.transpose() * Xt;
    const double total = Xt.squaredNorm() / double(Xt.cols());
    std::vector<double> ks, train_err, test_err;
    double captured = 0.0;
    for (Index j = 0; j < U.cols(); ++j) {
      captured += P.row(j).squaredNorm() / double(Xt.cols());
      ks.push_back(double(j + 1));
      train_err.push_back(lambda.tail(d - j - 1).sum());
      test_err.push_back(total - captured);
    }

    std::cout << "\nSummary\n"
              << "  largest principal angle, AE vs PCA subspace: " << ae.largest_angle.back() << " rad after "
              << iterations << " iterations (synthetic: " << synthetic.run.largest_angle.back() << ")\n"
              << "  AE mean squared error " << 2.0 * ae.loss.back() << " vs Eckart-Young " << eckart_young
              << " (relative gap " << (2.0 * ae.loss.back() - eckart_young) / eckart_young << ")\n"
              << "  share of a decoder column's energy off its own principal direction: " << off
              << " (0 if the columns were the principal directions)\n"
              << "  eigenvalues l_" << k << " = " << lambda(k - 1) << ", l_" << k + 1 << " = " << lambda(k)
              << ": the closer they are, the slower the last direction of the subspace is found\n"
              << "  variance explained by " << k << " components: "
              << 100.0 * lambda.head(k).sum() / lambda.sum() << " %\n";

    // ---- 4. Figures ----------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    auto angle_panel = [](std::string title, const LinearAeRun& run) {
      Panel p;
      p.title = std::move(title);
      p.xlabel = "gradient-descent iteration";
      p.ylabel = "principal angle to the PCA subspace (rad)";
      p.logy = true;
      std::vector<double> a = run.largest_angle;
      for (double& v : a) v = std::max(v, 1e-16);
      std::vector<double> m = run.median_angle;
      for (double& v : m) v = std::max(v, 1e-16);
      p.series.push_back(plot::lines("largest angle", run.iteration, a));
      p.series.push_back(plot::lines("median angle", run.iteration, m, "dt 2"));
      return p;
    };
    figs.draw("principal_angles", plot::Figure{"A linear autoencoder converges to the PCA subspace",
                                               {angle_panel("synthetic, k = 3 (eigengap 4 -> 1)", synthetic.run),
                                                angle_panel(train.name + ", k = " + std::to_string(k), ae)},
                                               1, 1200, 500});
    auto error_panel = [](std::string title, const LinearAeRun& run, double ey) {
      Panel p;
      p.title = std::move(title);
      p.xlabel = "gradient-descent iteration";
      p.ylabel = "mean squared reconstruction error 2L";
      p.yrange = std::make_pair(0.9 * ey, 1.6 * ey);  // zoomed on the approach to the bound
      std::vector<double> e;
      for (double l : run.loss) e.push_back(2.0 * l);
      p.series.push_back(plot::lines("linear AE", run.iteration, e));
      p.series.push_back(plot::hline("Eckart-Young: sum of discarded eigenvalues", ey, 0, run.iteration.back(), "dt 2 lw 2 lc rgb '#000000'"));
      return p;
    };
    figs.draw("reconstruction_error", plot::Figure{"Reconstruction error falls to the Eckart-Young bound",
                                                   {error_panel("synthetic, k = 3", synthetic.run, synthetic.eckart_young),
                                                    error_panel(train.name + ", k = " + std::to_string(k), ae, eckart_young)},
                                                   1, 1200, 500});
    plot::Montage comps;
    comps.title = "PCA components vs linear-AE decoder columns (k = " + std::to_string(k) + ")";
    comps.image_rows = train.rows;
    comps.image_cols = train.cols;
    comps.rows = {columns(Uk, 16), columns(ae.W_dec, 16), columns(aligned, 16)};
    comps.row_labels = {"PCA u_j", "AE decoder w_j", "AE aligned to PCA"};
    comps.normalise_each = true;
    comps.symmetric = true;
    figs.draw("components", comps);
    {
      Panel spec;
      spec.title = "eigenvalue spectrum of S";
      spec.xlabel = "j";
      spec.ylabel = "eigenvalue lambda_j";
      spec.logy = true;
      std::vector<double> js, ls;
      for (Index j = 0; j < std::min<Index>(d, 300); ++j) {
        js.push_back(double(j + 1));
        ls.push_back(std::max(lambda(j), 1e-12));
      }
      spec.series.push_back(plot::lines("lambda_j", js, ls));
      Panel err;
      err.title = "reconstruction error vs code size k";
      err.xlabel = "k";
      err.ylabel = "mean squared error per image";
      err.logy = true;
      err.series.push_back(plot::lines("training: Sigma_{j>k} lambda_j (Eckart-Young)", ks, train_err));
      err.series.push_back(plot::lines("test images", ks, test_err, "dt 2"));
      figs.draw("spectrum", plot::Figure{train.name + ": spectrum and the error of the best rank-k code", {spec, err}, 1, 1200, 500});
    }
    {
      plot::Montage rec;
      rec.title = "test images and their rank-" + std::to_string(k) + " reconstructions";
      rec.image_rows = train.rows;
      rec.image_cols = train.cols;
      const MatD Xs = Xt.leftCols(12);
      const MatD by_pca = (Uk * (Uk.transpose() * Xs)).colwise() + mean;
      const MatD by_ae = (ae.W_dec * (ae.W_enc * Xs)).colwise() + mean;
      rec.rows = {columns(MatD(Xs.colwise() + mean), 12), columns(by_pca, 12), columns(by_ae, 12)};
      rec.row_labels = {"test image", "PCA", "linear AE"};
      figs.draw("reconstructions", rec);
    }
    return finish_chapter(figs, {&table, &real});
  });
}
