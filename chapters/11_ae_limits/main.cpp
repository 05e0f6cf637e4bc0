// Chapter 11: what an autoencoder cannot do, and what it is good for.
//
// Follows docs/11-ae-limits.md:
//   1. the derivation checks on small problems: the Frechet distance between Gaussians and its
//      optimal coupling, nearest-neighbour hole p-values, AUC = Mann-Whitney, DeLong's variance,
//      the squared error of a shift, the Gaussian log-likelihood, decoder sample moments (11.1-11.8);
//   2. an autoencoder and a VAE of the same architecture and code size (2-D and 20-D), trained on
//      Fashion-MNIST: decoded prior draws measured by the Frechet distance of PCA-50 features and
//      by the fraction of draws that land in holes of the code cloud;
//   3. anomaly detection: train on nine classes, score the tenth, ROC and AUC with DeLong intervals;
//   4. what a pixel loss measures: a one-pixel shift against a blur;
//   5. mean vs sample: the decoder's mean, its noise and a sample;
//   6. the lecture figures.
#include <boost/math/special_functions/erf.hpp>
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "08_vae/checks.hpp"
#include "11_ae_limits/checks.hpp"
#include "11_ae_limits/models.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::ch11;
namespace po = boost::program_options;

namespace {

std::string fixed(double v, int digits = 3) { return format_fixed(v, digits); }

// Quantiles of N(0, 1) at (i + 0.5) / g: a grid that covers the prior's mass evenly.
double normal_quantile(int i, int g) { return std::sqrt(2.0) * boost::math::erf_inv(2.0 * (i + 0.5) / g - 1.0); }

// The first `count` columns of M as a montage row.
std::vector<VecD> row_of(const MatD& M, Index count) { return plot::columns(M, count); }

struct AucResult {
  double auc = 0, se = 0;
};
AucResult auc_with_interval(const VecD& normal, const VecD& anomaly) {
  return {auc_mann_whitney(normal, anomaly), std::sqrt(delong_variance(normal, anomaly))};
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("11", "what an autoencoder cannot do, and what it is good for");
    int held_out = 8, anomaly_epochs = 0, short_epochs = 0;
    cli.chapter_options().add_options()
      ("held-out", po::value<int>(&held_out)->default_value(8), "the class whose ROC curves are drawn first, with -L_M (0-9)")
      ("short-epochs", po::value<int>(&short_epochs), "epochs of the 2-D models and the Gaussian-decoder VAE (default 3, --quick 1)")
      ("anomaly-epochs", po::value<int>(&anomaly_epochs), "epochs of each anomaly model (default 3, --quick 1)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (!cli.vm().count("anomaly-epochs")) anomaly_epochs = opt.quick ? 1 : 3;
    if (!cli.vm().count("short-epochs")) short_epochs = opt.quick ? 1 : 3;
    if (anomaly_epochs < 1) throw InputError("--anomaly-epochs must be at least 1");
    if (short_epochs < 0) throw InputError("--short-epochs must be >= 0");
    const int epochs = opt.epochs_or(opt.quick ? 1 : 5);

    std::cout << "Chapter 11: what an autoencoder cannot do, and what it is good for\n";
    const TrainTest data = load_image_data(opt.data, std::cout);
    const ImageSet train_set = opt.quick ? data.train.head(2000) : data.train;
    const ImageSet test_set = opt.quick ? data.test.head(600) : data.test;
    const int classes = int(test_set.class_names.size());
    if (held_out < 0 || held_out >= classes)
      throw InputError("--held-out must be a class between 0 and " + std::to_string(classes - 1));

    // ---- 1. The derivations, checked on small problems -------------------------------------
    CheckTable table;
    const FrechetCase fc = frechet_case();
    const MatD T = optimal_map(fc.S1, fc.S2);
    table.add(check_eq_11_1_frechet_vs_coupling(fc));
    table.add(check_eq_11_1_one_dimensional());
    table.add(check_eq_11_2_map_pushes_forward(fc, T));
    table.add(check_eq_11_2_independent_coupling_costs_more(fc));
    table.add(check_eq_11_2_cholesky_coupling_costs_more(fc));
    table.add(check_eq_11_3_null_rate(0.12));
    table.add(check_eq_11_3_far_queries());
    table.add(check_eq_11_3_tied_queries());
    const Scores tied = tied_scores();
    table.add(check_eq_11_4_auc_is_mann_whitney(tied));
    table.add(check_eq_11_4_roc_area_is_mann_whitney(tied));
    const ExponentialScores expo;
    table.add(check_eq_11_5_auc_variance(expo));
    table.add(check_eq_11_5_delong_expectation(expo));
    {
      Rng rng(1160);
      const VecD x = rng.uniform_matrix<double>(28 * 28, 1, 0.0, 1.0);
      table.add(check_eq_11_6_shift_error(x, 28, 28));
      const VecD blurred = gaussian_blur(x, 28, 28, 1.5);
      table.add(check_eq_11_7_loglik_difference(x, shift_left(x, 28, 28), blurred, 0.3));
      table.add(check_eq_11_7_profile(x, blurred, profile_log_likelihood((x - blurred).squaredNorm(), x.size())));
    }
    table.add(check_eq_11_8_decoder_moments(Decoder::Bernoulli, 0.0));
    table.add(check_eq_11_8_decoder_moments(Decoder::Gaussian, 0.3));
    table.print(std::cout, "Verification on small problems (double)");

    // ---- 2. An autoencoder and a VAE, the same network, 20-D and 2-D codes ------------------
    std::cout << "\n" << train_set.name << ": " << train_set.size() << " training and " << test_set.size()
              << " test images from " << data.source << "\n";
    Stopwatch clock;
    TrainSpec spec;
    spec.epochs = epochs;
    spec.latent = 20;
    spec.seed = opt.seed;
    Vae<float> ae = train_model(ModelKind::Autoencoder, train_set, spec, "AE  784-400-20", &std::cout);
    Vae<float> vae = train_model(ModelKind::Vae, train_set, spec, "VAE 784-400-20", &std::cout);
    TrainSpec spec2 = spec;
    spec2.latent = 2;
    spec2.epochs = short_epochs;
    spec2.seed = opt.seed + 2;
    Vae<float> ae2 = train_model(ModelKind::Autoencoder, train_set, spec2, "AE  784-400-2", &std::cout);
    Vae<float> vae2 = train_model(ModelKind::Vae, train_set, spec2, "VAE 784-400-2", &std::cout);
    const double train_seconds = clock.seconds();

    clock = Stopwatch();
    // Codes of training images: the AE's mu(x); the VAE's draws from q(z|x) (its aggregate posterior).
    const Index n_ref = opt.quick ? 1000 : 5000, n_cal = opt.quick ? 199 : 999, n_query = opt.quick ? 500 : 2000;
    const double alpha = 0.01;
    Rng code_rng(opt.seed + 30);
    struct CodeCloud {
      MatD reference, calibration;
    };
    auto cloud = [&](Vae<float>& m, bool draws) {
      CodeCloud c;
      c.reference = draws ? encode_draws(m, train_set, 0, n_ref, code_rng) : encode_means(m, train_set, 0, n_ref);
      c.calibration = draws ? encode_draws(m, train_set, n_ref, n_cal, code_rng) : encode_means(m, train_set, n_ref, n_cal);
      return c;
    };
    const CodeCloud ae_codes = cloud(ae, false), vae_codes = cloud(vae, true);
    const CodeCloud ae2_codes = cloud(ae2, false), vae2_codes = cloud(vae2, true);

    // Query distributions: the prior N(0, I), and for the AE a Gaussian fitted to its codes.
    auto fitted_draws = [](const MatD& codes, Index n, Rng& rng) {
      const GaussianFit g = fit_gaussian(codes);
      const MatD L = g.cov.llt().matrixL();
      return MatD((L * rng.normal_matrix<double>(codes.rows(), n)).colwise() + g.mean);
    };
    struct HoleRow {
      std::string model, queries;
      double fraction = 0, se = 0;
    };
    std::vector<HoleRow> holes;
    auto hole_row = [&](const std::string& model, const std::string& queries, const CodeCloud& c, const MatD& Q) {
      HoleRow h{model, queries, hole_fraction(c.reference, c.calibration, Q, alpha), 0.0};
      h.se = std::sqrt(std::max(h.fraction * (1 - h.fraction), 1.0 / double(Q.cols())) / double(Q.cols()));
      holes.push_back(h);
      return h;
    };
    Rng query_rng(opt.seed + 31);
    const HoleRow h_ae_prior = hole_row("AE 20-D", "prior N(0,I)", ae_codes, query_rng.normal_matrix<double>(20, n_query));
    const HoleRow h_ae_fit = hole_row("AE 20-D", "Gaussian fitted to its codes", ae_codes,
                                      fitted_draws(ae_codes.reference, n_query, query_rng));
    const HoleRow h_vae_prior = hole_row("VAE 20-D", "prior N(0,I)", vae_codes, query_rng.normal_matrix<double>(20, n_query));
    hole_row("AE 20-D", "codes of test images", ae_codes, encode_means(ae, test_set, 0, std::min<Index>(n_query, test_set.size())));
    hole_row("VAE 20-D", "q(z|x) of test images", vae_codes,
             encode_draws(vae, test_set, 0, std::min<Index>(n_query, test_set.size()), query_rng));
    const HoleRow h_ae2_prior = hole_row("AE 2-D", "prior N(0,I)", ae2_codes, query_rng.normal_matrix<double>(2, n_query));
    hole_row("AE 2-D", "Gaussian fitted to its codes", ae2_codes, fitted_draws(ae2_codes.reference, n_query, query_rng));
    const HoleRow h_vae2_prior = hole_row("VAE 2-D", "prior N(0,I)", vae2_codes, query_rng.normal_matrix<double>(2, n_query));

    const double hole_seconds = clock.seconds();
    clock = Stopwatch();
    // Frechet distance of PCA-50 features: R replicate sets of generated images against the test set.
    const Index n_pca = opt.quick ? 1000 : 10000, n_real = opt.quick ? 500 : 2000, n_gen = opt.quick ? 300 : 1000;
    const int reps = opt.quick ? 3 : 10;
    const Pca pca = fit_pca(train_set.range<double>(0, std::min(n_pca, train_set.size())), 50);
    const GaussianFit real_fit = fit_gaussian(pca_features(pca, test_set.range<double>(0, std::min(n_real, test_set.size()))));
    auto fd_of = [&](const MatD& images) {
      const GaussianFit g = fit_gaussian(pca_features(pca, images));
      return frechet_distance(g.mean, g.cov, real_fit.mean, real_fit.cov);
    };
    const GaussianFit ae_fit = fit_gaussian(ae_codes.reference);
    const MatD ae_fit_L = ae_fit.cov.llt().matrixL();
    struct FdRow {
      std::string what;
      std::vector<double> values;
      McEstimate e;
    };
    std::vector<FdRow> fd(5);
    fd[0].what = "real training images";
    fd[1].what = "VAE, prior N(0,I)";
    fd[2].what = "AE, prior N(0,I)";
    fd[3].what = "AE, Gaussian fitted to codes";
    fd[4].what = "AE reconstructions";
    Rng gen_rng(opt.seed + 40);
    for (int r = 0; r < reps; ++r) {
      const Index first = (n_pca + Index(r) * n_gen) % std::max<Index>(1, train_set.size() - n_gen);
      fd[0].values.push_back(fd_of(train_set.range<double>(first, n_gen)));
      fd[1].values.push_back(fd_of(decode_means(vae, gen_rng.normal_matrix<double>(20, n_gen))));
      fd[2].values.push_back(fd_of(decode_means(ae, gen_rng.normal_matrix<double>(20, n_gen))));
      fd[3].values.push_back(fd_of(decode_means(ae, MatD((ae_fit_L * gen_rng.normal_matrix<double>(20, n_gen)).colwise() + ae_fit.mean))));
      fd[4].values.push_back(fd_of(decode_means(ae, encode_means(ae, train_set, first, n_gen))));
    }
    for (auto& row : fd) row.e = ch08::over_images(Eigen::Map<const VecD>(row.values.data(), Index(row.values.size())));
    const double fd_seconds = clock.seconds();
    std::cout << "  hole fractions: " << fixed(hole_seconds, 1) << " s; Frechet distances: " << fixed(fd_seconds, 1) << " s\n";

    CheckTable findings;
    auto diff = [&](int a, int b) {
      const double d = fd[std::size_t(a)].e.mean - fd[std::size_t(b)].e.mean;
      return std::pair{d, std::hypot(fd[std::size_t(a)].e.se, fd[std::size_t(b)].e.se)};
    };
    {
      auto [d, se] = diff(2, 1);
      findings.add(finding("11.1", "FD: AE prior samples farther from the test images than VAE prior samples", d, se));
      std::tie(d, se) = diff(3, 1);
      findings.add(finding("11.1", "FD: AE samples from its fitted Gaussian farther than VAE prior samples", d, se));
      std::tie(d, se) = diff(1, 0);
      findings.add(finding("11.1", "FD: VAE prior samples farther than real training images", d, se));
    }
    findings.add(finding("11.3", "holes: more AE prior draws in holes than VAE prior draws (20-D)",
                         h_ae_prior.fraction - h_vae_prior.fraction, std::hypot(h_ae_prior.se, h_vae_prior.se)));
    findings.add(finding("11.3", "holes: more AE fitted-Gaussian draws in holes than VAE prior draws (20-D)",
                         h_ae_fit.fraction - h_vae_prior.fraction, std::hypot(h_ae_fit.se, h_vae_prior.se)));
    findings.add(finding("11.3", "holes: more AE prior draws in holes than VAE prior draws (2-D)",
                         h_ae2_prior.fraction - h_vae2_prior.fraction, std::hypot(h_ae2_prior.se, h_vae2_prior.se)));

    // ---- 3. Anomaly detection: train on all classes but one, score the held-out one ----------
    clock = Stopwatch();
    struct AnomalyRow {
      int held = 0;
      AucResult ae, vae;
      Roc roc_ae, roc_vae;
    };
    std::vector<AnomalyRow> anomaly;
    // Every class is held out once, also with --quick (then on fewer images): the doc quotes all ten AUCs.
    std::vector<int> held_list;
    for (int c = 0; c < classes; ++c) held_list.push_back(c);
    const Index per_model = opt.quick ? 800 : 12000;
    Roc roc_iw;
    AucResult iw_auc;
    CheckTable real;
    for (int c : held_list) {
      const ImageSet normal_train = select_classes(train_set, [c](int l) { return l != c; }, per_model);
      const ImageSet normal_test = select_classes(test_set, [c](int l) { return l != c; });
      const ImageSet anomaly_test = select_classes(test_set, [c](int l) { return l == c; });
      TrainSpec s = spec;
      s.epochs = anomaly_epochs;
      s.seed = opt.seed + 100 + std::uint64_t(c);
      Vae<float> m_ae = train_model(ModelKind::Autoencoder, normal_train, s, "anomaly AE", nullptr);
      Vae<float> m_vae = train_model(ModelKind::Vae, normal_train, s, "anomaly VAE", nullptr);
      const VecD ae_n = reconstruction_scores(m_ae, normal_test), ae_a = reconstruction_scores(m_ae, anomaly_test);
      const VecD elbo_n = negative_elbo_scores(m_vae, normal_test, 4, opt.seed + 7),
                 elbo_a = negative_elbo_scores(m_vae, anomaly_test, 4, opt.seed + 8);
      AnomalyRow row{c, auc_with_interval(ae_n, ae_a), auc_with_interval(elbo_n, elbo_a), roc_curve(ae_n, ae_a),
                     roc_curve(elbo_n, elbo_a)};
      std::cout << "  held out " << std::setw(12) << std::left << test_set.class_names[std::size_t(c)] << std::right
                << " AUC: AE reconstruction " << fixed(row.ae.auc) << " +- " << fixed(row.ae.se)
                << ", VAE -ELBO " << fixed(row.vae.auc) << " +- " << fixed(row.vae.se) << "\n";
      anomaly.push_back(row);
      if (c == held_out) {
        const Index m_iw = opt.quick ? 5 : 20;  // M, the importance samples of L_M
        const VecD iw_n = negative_iw_scores(m_vae, normal_test, m_iw, opt.seed + 9),
                   iw_a = negative_iw_scores(m_vae, anomaly_test, m_iw, opt.seed + 10);
        iw_auc = auc_with_interval(iw_n, iw_a);
        roc_iw = roc_curve(iw_n, iw_a);
        const Scores sc{ae_n, ae_a};
        real.add(check_eq_11_4_auc_is_mann_whitney(sc));
        real.add(check_eq_11_4_roc_area_is_mann_whitney(sc));
      }
    }
    const double anomaly_seconds = clock.seconds();

    // ---- 4. What a pixel loss measures: a one-pixel shift against a blur ---------------------
    const Index n_pix = std::min<Index>(opt.quick ? 200 : 1000, test_set.size());
    const double blur_sigma = 1.0;
    const MatD X_pix = test_set.range<double>(0, n_pix);
    VecD se_shift(n_pix), se_blur(n_pix);
    for (Index j = 0; j < n_pix; ++j) {
      se_shift(j) = (X_pix.col(j) - shift_left(X_pix.col(j), test_set.rows, test_set.cols)).squaredNorm();
      se_blur(j) = (X_pix.col(j) - gaussian_blur(X_pix.col(j), test_set.rows, test_set.cols, blur_sigma)).squaredNorm();
    }
    const double shift_worse = double((se_shift.array() > se_blur.array()).count()) / double(n_pix);
    findings.add(finding("11.6", "pixel loss: a 1-pixel shift costs more than a blur (sigma 1 px) for most images",
                         shift_worse - 0.5, std::sqrt(0.25 / double(n_pix))));
    real.add(check_eq_11_6_shift_error(X_pix.col(0), test_set.rows, test_set.cols));

    // ---- 5. Mean vs sample: a Gaussian decoder with a learned noise variance ---------------
    TrainSpec spec_g = spec;
    spec_g.likelihood = Likelihood::Gaussian;
    spec_g.epochs = short_epochs;
    spec_g.seed = opt.seed + 5;
    Vae<float> vae_g = train_model(ModelKind::Vae, train_set, spec_g, "VAE 784-400-20, Gaussian decoder", &std::cout);
    const double sigma2 = std::exp(double(vae_g.log_noise_var));
    real.add(check_eq_11_7_loglik_difference(X_pix.col(0), shift_left(X_pix.col(0), test_set.rows, test_set.cols),
                                             gaussian_blur(X_pix.col(0), test_set.rows, test_set.cols, blur_sigma), sigma2));
    Rng sample_rng(opt.seed + 50);
    const MatD z_show = sample_rng.normal_matrix<double>(20, 10);
    const MatD mean_g = decode_means(vae_g, z_show), mean_b = decode_means(vae, z_show);
    {
      // The per-pixel check on a trained decoder's output: its pixels with p in [0.01, 0.99].
      std::vector<Index> keep;
      for (Index i = 0; i < mean_b.rows(); ++i)
        if (mean_b(i, 0) > 0.01 && mean_b(i, 0) < 0.99) keep.push_back(i);
      VecD p(Index(keep.size()));
      for (std::size_t i = 0; i < keep.size(); ++i) p(Index(i)) = mean_b(keep[i], 0);
      const Index draws = opt.quick ? 4000 : 20000;
      real.add(check_eq_11_8_decoder_moments(Decoder::Bernoulli, 0.0, sample_decoder, true, draws, opt.seed + 51, p));
      real.add(check_eq_11_8_decoder_moments(Decoder::Gaussian, sigma2, sample_decoder, true, draws, opt.seed + 52,
                                             mean_g.col(0)));
    }
    const MatD sample_g = sample_decoder(mean_g, Decoder::Gaussian, sigma2, sample_rng);
    const MatD sample_b = sample_decoder(mean_b, Decoder::Bernoulli, 0.0, sample_rng);

    real.print(std::cout, "Verification on " + train_set.name + " (trained models and test images)");
    findings.print(std::cout, "Findings on " + train_set.name +
                                  " (measured claims of the lectures: FAIL here is a result, not a bug)");

    // ---- Summary ------------------------------------------------------------------------------
    std::cout << "\nSummary (" << train_set.name << "; 20-D models " << epochs << " epochs, 2-D models " << short_epochs
              << "; the four trained in " << fixed(train_seconds, 1) << " s)\n"
              << "  Frechet distance of PCA-50 features to " << real_fit.mean.size() << "-D features of " << n_real
              << " test images (mean +- SE over " << reps << " sets of " << n_gen << " images):\n";
    for (const auto& row : fd)
      std::cout << "    " << std::setw(46) << std::left << row.what << std::right << fixed(row.e.mean, 2) << " +- "
                << fixed(row.e.se, 2) << "\n";
    std::cout << "  Queries in holes at alpha = " << alpha << " (" << n_ref << " reference and " << n_cal
              << " calibration training codes; the rate for queries like the codes is "
              << fixed(null_hole_rate(n_cal, alpha), 4) << "):\n";
    for (const auto& h : holes)
      std::cout << "    " << std::setw(9) << std::left << h.model << std::setw(36) << h.queries << std::right
                << fixed(h.fraction, 3) << " +- " << fixed(h.se, 3) << "\n";
    std::cout << "  Anomaly detection (" << anomaly_epochs << " epochs on " << per_model
              << " images of the other classes, " << fixed(anomaly_seconds, 1) << " s): AUC +- DeLong SE\n";
    for (const auto& row : anomaly)
      std::cout << "    held out " << std::setw(12) << std::left << test_set.class_names[std::size_t(row.held)] << std::right
                << " AE reconstruction " << fixed(row.ae.auc) << " +- " << fixed(row.ae.se) << "   VAE -ELBO "
                << fixed(row.vae.auc) << " +- " << fixed(row.vae.se) << "\n";
    std::cout << "    held out " << test_set.class_names[std::size_t(held_out)] << ": VAE -L_M " << fixed(iw_auc.auc)
              << " +- " << fixed(iw_auc.se) << "\n"
              << "  Pixel loss: a one-pixel left shift has a larger squared error than a Gaussian blur (sigma "
              << blur_sigma << " px) for " << fixed(100 * shift_worse, 1) << "% of " << n_pix
              << " test images (mean squared error " << fixed(se_shift.mean(), 2) << " vs " << fixed(se_blur.mean(), 2) << ")\n"
              << "  Gaussian decoder: learned sigma^2 = " << fixed(sigma2, 4) << " (sigma " << fixed(std::sqrt(sigma2), 3)
              << " per pixel)\n";

    // The numbers docs/11-ae-limits.md quotes ({{metric:ch11.NAME}}), from this run.
    record_metric("epochs", epochs, 0);
    record_metric("short_epochs", short_epochs, 0);
    record_metric("train_seconds", train_seconds, 1);
    const char* fd_names[] = {"fd_real", "fd_vae_prior", "fd_ae_prior", "fd_ae_fitted", "fd_ae_reconstructions"};
    for (std::size_t i = 0; i < fd.size(); ++i) {
      record_metric(fd_names[i], fd[i].e.mean, 1);
      record_metric(std::string(fd_names[i]) + "_se", fd[i].e.se, 2);
    }
    const char* hole_names[] = {"holes_ae_prior", "holes_ae_fitted", "holes_vae_prior", "holes_ae_test", "holes_vae_test",
                                "holes_ae2_prior", "holes_ae2_fitted", "holes_vae2_prior"};
    for (std::size_t i = 0; i < holes.size(); ++i) {
      record_metric(hole_names[i], holes[i].fraction, 3);
      record_metric(std::string(hole_names[i]) + "_se", holes[i].se, 3);
    }
    record_metric("holes_null_rate", null_hole_rate(n_cal, alpha), 4);
    record_metric("anomaly_epochs", anomaly_epochs, 0);
    record_metric("anomaly_images", double(per_model), 0);
    record_metric("anomaly_seconds", anomaly_seconds, 1);
    for (const auto& row : anomaly) {
      record_metric("auc_ae_" + std::to_string(row.held), row.ae.auc, 3);
      record_metric("auc_vae_" + std::to_string(row.held), row.vae.auc, 3);
      record_metric("auc_ae_" + std::to_string(row.held) + "_se", row.ae.se, 3);
      record_metric("auc_vae_" + std::to_string(row.held) + "_se", row.vae.se, 3);
    }
    record_metric("auc_iw_held_out", iw_auc.auc, 3);
    record_metric("auc_iw_held_out_se", iw_auc.se, 3);
    record_metric("shift_worse_percent", 100 * shift_worse, 1);
    record_metric("se_shift_mean", se_shift.mean(), 1);
    record_metric("se_blur_mean", se_blur.mean(), 1);
    record_metric("pixel_images", double(n_pix), 0);
    record_metric("sigma2", sigma2, 4);

    // ---- 6. Figures ----------------------------------------------------------------------------
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
    {
      // Samples side by side.
      Rng rng(opt.seed + 60);
      plot::Montage m = montage("20-D codes: real images and decoder means of sampled codes");
      m.rows = {row_of(test_set.range<double>(0, 12), 12), row_of(decode_means(vae, rng.normal_matrix<double>(20, 12)), 12),
                row_of(decode_means(ae, rng.normal_matrix<double>(20, 12)), 12),
                row_of(decode_means(ae, MatD((ae_fit_L * rng.normal_matrix<double>(20, 12)).colwise() + ae_fit.mean)), 12)};
      m.row_labels = {"test images", "VAE, z ~ N(0,I)", "AE, z ~ N(0,I)", "AE, z ~ fitted"};
      figs.draw("samples", m);
    }
    {
      // Straight lines between the codes of two test images.
      plot::Montage m = montage("straight lines between the 20-D codes of two test images (decoder means)");
      const int steps = 10;
      for (Index p = 0; p < 3; ++p) {
        for (Vae<float>* model : {&ae, &vae}) {
          const MatD ends = encode_means(*model, test_set, 2 * p + 30, 2);
          MatD Z(20, steps);
          for (int s = 0; s < steps; ++s) {
            const double t = double(s) / double(steps - 1);
            Z.col(s) = (1 - t) * ends.col(0) + t * ends.col(1);
          }
          m.rows.push_back(row_of(decode_means(*model, Z), steps));
          m.row_labels.push_back(model == &ae ? "AE" : "VAE");
        }
      }
      figs.draw("interpolation", m);
    }
    {
      // The 2-D code planes: codes of test images by class, with the prior's 2-sigma circle.
      const Index n = std::min<Index>(3000, test_set.size());
      std::vector<int> labels(test_set.labels.begin(), test_set.labels.begin() + n);
      Panel a, b;
      a.title = "autoencoder codes z = e(x)";
      b.title = "VAE posterior means mu(x)";
      a.series = plot::scatter_by_label(encode_means(ae2, test_set, 0, n), labels, test_set.class_names);
      b.series = plot::scatter_by_label(encode_means(vae2, test_set, 0, n), labels, test_set.class_names);
      std::vector<double> cx, cy;
      for (int t = 0; t <= 100; ++t) {
        cx.push_back(2 * std::cos(2 * std::numbers::pi * t / 100));
        cy.push_back(2 * std::sin(2 * std::numbers::pi * t / 100));
      }
      for (Panel* p : {&a, &b}) {
        p->xlabel = "z_1";
        p->ylabel = "z_2";
        p->key = "off";
        p->square = true;
        p->series.push_back(plot::lines("|z| = 2 (95% of N(0, I))", cx, cy, "lw 2 lc rgb 'black'"));
      }
      b.key = "outside right";
      figs.draw("code_planes", plot::Figure{"2-D codes of " + std::to_string(n) + " test images, coloured by class", {a, b}, 1, 1500, 620});
    }
    for (Vae<float>* model : {&ae2, &vae2}) {
      // The decoded grid over each plane: quantiles of N(0, 1) for the VAE; for the AE the same
      // grid over the box holding 98% of its codes (its codes have no prior to take quantiles of).
      const bool is_ae = model == &ae2;
      const MatD codes = is_ae ? ae2_codes.reference : vae2_codes.reference;
      const int g = 15;
      plot::Montage m = montage(is_ae ? "AE, 2-D: decoder on a grid over its codes' 1-99% box"
                                      : "VAE, 2-D: decoder on a grid of N(0, I) quantiles");
      m.pixel_scale = 2;
      std::vector<double> lo(2), hi(2);
      for (int d = 0; d < 2; ++d) {
        std::vector<double> v;
        for (Index j = 0; j < codes.cols(); ++j) v.push_back(codes(d, j));
        std::sort(v.begin(), v.end());
        lo[std::size_t(d)] = v[v.size() / 100];
        hi[std::size_t(d)] = v[v.size() - 1 - v.size() / 100];
      }
      for (int r = 0; r < g; ++r) {
        MatD Z(2, g);
        for (int c = 0; c < g; ++c) {
          if (is_ae) {
            Z(0, c) = lo[0] + (hi[0] - lo[0]) * (c + 0.5) / g;
            Z(1, c) = hi[1] - (hi[1] - lo[1]) * (r + 0.5) / g;
          } else {
            Z(0, c) = normal_quantile(c, g);
            Z(1, c) = normal_quantile(g - 1 - r, g);
          }
        }
        m.rows.push_back(row_of(decode_means(*model, Z), g));
      }
      figs.draw(is_ae ? "ae_grid" : "vae_grid", m);
    }
    {
      // Frechet distances and hole fractions, as bars with +- 1 SE.
      auto bars = [](std::string title, std::string ylabel, const std::vector<std::string>& labels,
                     const std::vector<double>& y, const std::vector<double>& se, std::string colour) {
        Panel p;
        p.title = std::move(title);
        p.ylabel = std::move(ylabel);
        p.key = "top right";
        p.xrange = std::make_pair(-0.5, double(y.size()) - 0.5);
        std::vector<double> x;
        std::string tics = "set xtics rotate by -35 left font ',9' (";
        for (std::size_t i = 0; i < y.size(); ++i) {
          x.push_back(double(i));
          tics += (i ? ", \"" : "\"") + labels[i] + "\" " + std::to_string(i);
        }
        p.extra = {tics + ")", "set boxwidth 0.6", "set bmargin 9"};
        p.series.push_back(plot::Series{plot::Series::Kind::Boxes, "", {x, y}, "fs solid 0.5 lc rgb '" + colour + "'"});
        p.series.push_back(plot::Series{plot::Series::Kind::ErrorBars, "", {x, y, se}, "lw 2 lc rgb 'black'"});
        return p;
      };
      std::vector<std::string> fl, hl;
      std::vector<double> fy, fe, hy, he;
      for (const auto& row : fd) {
        fl.push_back(row.what);
        fy.push_back(row.e.mean);
        fe.push_back(row.e.se);
      }
      for (const auto& h : holes) {
        hl.push_back(h.model + ": " + h.queries);
        hy.push_back(h.fraction);
        he.push_back(h.se);
      }
      Panel a = bars("squared Frechet distance to test images (PCA-50 features), mean +- SE", "d^2", fl, fy, fe, "#4477aa");
      Panel b = bars("fraction of queries in holes (alpha = 0.01), +- SE", "fraction", hl, hy, he, "#cc6677");
      b.yrange = std::make_pair(0.0, 1.05);
      b.series.push_back(plot::hline("rate for queries like the codes", null_hole_rate(n_cal, alpha), -0.5,
                                     double(holes.size()) - 0.5, "dt 2 lw 2 lc rgb 'black'"));
      figs.draw("generation_measures", plot::Figure{"Are decoded random codes like the data?", {a, b}, 1, 1500, 700});
    }
    {
      // ROC curves of the held-out class and of the class the models detect worst, and the AUC of every class.
      const auto held_row = std::find_if(anomaly.begin(), anomaly.end(), [&](const AnomalyRow& r) { return r.held == held_out; });
      const auto worst_row = std::min_element(anomaly.begin(), anomaly.end(),
                                              [](const AnomalyRow& x, const AnomalyRow& y) { return x.ae.auc < y.ae.auc; });
      std::vector<Panel> panels;
      for (auto row : {held_row, worst_row}) {
        if (row == worst_row && worst_row == held_row) break;
        Panel a;
        a.title = "held out: " + test_set.class_names[std::size_t(row->held)];
        a.xlabel = "false-positive rate (normal images flagged)";
        a.ylabel = "true-positive rate (anomalies flagged)";
        a.square = true;
        a.key = "bottom right";
        a.series.push_back(plot::lines("AE reconstruction error, AUC " + fixed(row->ae.auc), row->roc_ae.fpr, row->roc_ae.tpr, "lw 2"));
        a.series.push_back(plot::lines("VAE -ELBO, AUC " + fixed(row->vae.auc), row->roc_vae.fpr, row->roc_vae.tpr, "lw 2 dt 2"));
        if (row == held_row) a.series.push_back(plot::lines("VAE -L_M, AUC " + fixed(iw_auc.auc), roc_iw.fpr, roc_iw.tpr, "lw 2 dt 3"));
        a.series.push_back(plot::lines("chance", {0, 1}, {0, 1}, "lw 1 lc rgb 'grey'"));
        panels.push_back(a);
      }
      Panel b;
      b.title = "AUC per held-out class, +- 1.96 DeLong SE";
      b.ylabel = "AUC";
      b.yrange = std::make_pair(0.0, 1.05);
      std::vector<double> x1, x2, y1, y2, e1, e2;
      for (std::size_t i = 0; i < anomaly.size(); ++i) {
        x1.push_back(double(anomaly[i].held) - 0.15);
        x2.push_back(double(anomaly[i].held) + 0.15);
        y1.push_back(anomaly[i].ae.auc);
        y2.push_back(anomaly[i].vae.auc);
        e1.push_back(1.96 * anomaly[i].ae.se);
        e2.push_back(1.96 * anomaly[i].vae.se);
      }
      std::string tics = "set xtics rotate by -30 (";
      for (int c = 0; c < classes; ++c)
        tics += (c ? ", \"" : "\"") + test_set.class_names[std::size_t(c)] + "\" " + std::to_string(c);
      b.extra.push_back(tics + ")");
      b.xrange = std::make_pair(-0.5, double(classes) - 0.5);
      b.series.push_back(plot::Series{plot::Series::Kind::ErrorBars, "AE reconstruction error", {x1, y1, e1}, "lw 2 lc rgb '#4477aa'"});
      b.series.push_back(plot::Series{plot::Series::Kind::ErrorBars, "VAE -ELBO", {x2, y2, e2}, "lw 2 lc rgb '#cc6677'"});
      b.series.push_back(plot::hline("chance", 0.5, -0.5, double(classes) - 0.5, "dt 2 lw 1 lc rgb 'grey'"));
      b.key = "bottom left";
      panels.push_back(b);
      figs.draw("anomaly_roc", plot::Figure{"Anomaly detection: train on the other classes, score the held-out one", panels, 1,
                                            int(500 * panels.size()) + 200, 560});
    }
    {
      // The shift and the blur.
      plot::Montage m = montage("");
      std::vector<VecD> orig, shifted, blurred;
      std::ostringstream title;
      title << "squared error, shift | blur:";
      for (Index j = 0; j < 7; ++j) {
        orig.push_back(X_pix.col(j));
        shifted.push_back(shift_left(X_pix.col(j), R, C));
        blurred.push_back(gaussian_blur(X_pix.col(j), R, C, blur_sigma));
        title << "  " << fixed(se_shift(j), 0) << " | " << fixed(se_blur(j), 0);
      }
      m.rows = {orig, shifted, blurred};
      m.row_labels = {"image", "shifted 1 px left", "blurred, sigma 1 px"};
      m.title = title.str();
      figs.draw("shift_vs_blur", m);
      Panel p;
      p.title = std::to_string(n_pix) + " test images";
      p.xlabel = "squared error of the blur";
      p.ylabel = "squared error of the 1-pixel shift";
      p.square = true;
      std::vector<double> xs(se_blur.data(), se_blur.data() + n_pix), ys(se_shift.data(), se_shift.data() + n_pix);
      p.series.push_back(plot::points("one image", xs, ys, "pt 7 ps 0.4"));
      const double top = std::max(se_blur.maxCoeff(), se_shift.maxCoeff());
      p.series.push_back(plot::lines("equal error", {0, top}, {0, top}, "lw 2 dt 2 lc rgb 'black'"));
      p.key = "top left";
      figs.draw("shift_vs_blur_errors", plot::Figure{"What a pixel loss measures: shift vs blur", {p}, 1, 700, 650});
    }
    {
      // Mean vs sample (the lecture's three rows), for the Gaussian and the Bernoulli decoder.
      plot::Montage m = montage("decoder mean is not a sample: z ~ N(0, I), then x ~ p(x|z)");
      const MatD noise = sample_g - mean_g;
      m.rows = {row_of(mean_g, 10), row_of(MatD(noise.array() + 0.5), 10), row_of(sample_g, 10), row_of(mean_b, 10),
                row_of(sample_b, 10)};
      m.row_labels = {"Gaussian: mean", "noise (+0.5)", "sample", "Bernoulli: p", "sample"};
      figs.draw("mean_vs_sample", m);
    }
    return finish_chapter(figs, {&table, &real});
  });
}
