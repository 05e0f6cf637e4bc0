// Chapter 8: the variational autoencoder.
//
// Follows docs/08-vae.md:
//   1. the derivation checks: reparameterization, closed-form KL, Bernoulli likelihood, the
//      encoder's gradient, the whole minibatch gradient, importance weighting (eqs. 8.1-8.6);
//   2. the linear VAE is probabilistic PCA; posterior collapse and KL annealing (eqs. 8.7-8.8);
//   3. the 784-400-20 VAE of the PyTorch example trained on Fashion-MNIST, its test ELBO and the
//      importance-weighted estimate of log p(x);
//   4. a 2-D latent VAE beside a 2-D autoencoder, and active units against the KL weight;
//   5. the lecture figures.
#include <boost/math/special_functions/erf.hpp>
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "08_vae/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch08;
namespace po = boost::program_options;

namespace {

std::vector<VecD> columns(const MatF& M) {
  std::vector<VecD> out;
  for (Index j = 0; j < M.cols(); ++j) out.push_back(M.col(j).cast<double>());
  return out;
}

// Trains a VAE for `epochs` epochs of Adam (lr 1e-3, batch 128), recording the training loss and
// the test ELBO after each epoch. `beta_of(epoch, batch)` gives the KL weight (annealing).
struct Training {
  std::vector<double> epoch, train_elbo, test_elbo;
};
template <class BetaOf>
Training train(Vae<float>& vae, const ImageSet& train_set, const ImageSet& test_set, int epochs,
               std::uint64_t seed, const std::string& what, BetaOf beta_of, bool verbose = true) {
  Adam<float> adam(vae.parameters(), 1e-3f);
  Training t;
  const Index batches = (train_set.size() + 127) / 128;
  std::ostringstream sink;
  Progress progress(verbose ? std::cout : sink, what, epochs, batches);
  for (int e = 0; e < epochs; ++e) {
    double elbo_sum = 0;
    vae.config.beta = beta_of(e, 0, batches);
    train_epoch(vae, adam, train_set, 128, seed + 1000 * std::uint64_t(e), [&](Index k, double loss) {
      require_finite_loss(loss, e, k);
      vae.config.beta = beta_of(e, k + 1, batches);  // the weight of the next batch
      elbo_sum -= double(vae.reconstruction.sum() + vae.kl.sum()) / double(vae.reconstruction.size());
      progress.batch(k, loss);
    });
    t.epoch.push_back(e + 1);
    t.train_elbo.push_back(elbo_sum / double(batches));
    t.test_elbo.push_back(mean_elbo(vae, test_set, seed + 77));
    progress.epoch(e, "test ELBO " + std::to_string(t.test_elbo.back()) + " nats");
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("08", "the variational autoencoder");
    int latent = 20, iw_images = 0, epochs_2d = 0;
    cli.chapter_options().add_options()
      ("latent", po::value<int>(&latent)->default_value(20), "latent size of the main VAE")
      ("iw-images", po::value<int>(&iw_images), "test images for the importance-weighted bound (default 200, --quick 100)")
      ("epochs-2d", po::value<int>(&epochs_2d), "epochs of the 2-D latent VAE and AE (default 5, --quick 1)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (latent < 1 || latent > 200) throw InputError("--latent must be between 1 and 200, not " + std::to_string(latent));
    if (!cli.vm().count("iw-images")) iw_images = opt.quick ? 100 : 200;
    if (!cli.vm().count("epochs-2d")) epochs_2d = opt.quick ? 1 : 5;
    if (iw_images < 2) throw InputError("--iw-images must be at least 2");
    const int epochs = opt.epochs_or(opt.quick ? 1 : 10);

    // Read the data first, so a bad --data fails at once.
    std::cout << "Chapter 8: the variational autoencoder\n";
    const TrainTest data = load_image_data(opt.data, std::cout);
    const ImageSet train_set = opt.quick ? data.train.head(2000) : data.train;
    const ImageSet test_set = opt.quick ? data.test.head(500) : data.test;

    // ---- 1. The derivations, checked on small problems -------------------------------------
    CheckTable table;
    table.add(check_eq_8_1_reparameterization());
    {
      const SmallGaussian g;
      table.add(check_eq_8_2_kl(kl_closed_form(g), kl_monte_carlo(g)));
      table.add(check_eq_8_2_kl_is_chapter_6s());
    }
    {
      const BernoulliCase c = bernoulli_case();
      const BernoulliNll nll = bernoulli_nll(c.x, c.a);
      table.add(check_eq_8_3_value(c, nll.value));
      table.add(check_eq_8_3_gradient(c, nll.grad));
      table.add(check_eq_8_3_stable(bernoulli_nll(VecD::Constant(1, 0.0), VecD::Constant(1, 1000.0)).value, 1000.0));
    }
    {
      const EncoderCase c = encoder_case();
      table.add(check_eq_8_4_encoder_gradient(c, encoder_gradient(encoder_case_dl_dz(c), c.mu, c.log_var, c.eps)));
    }
    for (Likelihood lik : {Likelihood::Bernoulli, Likelihood::Gaussian}) {
      SmallVae s = small_vae(lik);
      const VaeGradient g = vae_gradient(s);
      table.add(check_eq_8_5_minibatch_gradient(s, g));
    }
    {
      LinearDecoderVae m = linear_decoder_vae();
      const IwEstimates iw = importance_weighted(m.vae, m.X, {1, 10, 100, 1000}, opt.seed);
      const VecD log_px = exact_log_px(m);
      table.add(check_eq_8_6_l1_is_the_elbo(iw));
      for (Index c = 0; c < 4; ++c) table.add(check_eq_8_6_below_log_px(iw, c, log_px));
    }
    // ---- 2. The linear VAE is probabilistic PCA ---------------------------------------------
    const PpcaProblem ppca = ppca_problem();
    const LinearVaeRun ppca_run = train_ppca(ppca);
    {
      const double s2 = std::exp(ppca_run.model.log_noise_var);
      table.add(check_eq_8_7_gradient(ppca));
      table.add(check_eq_8_7_noise(s2, sigma2_ml(ppca)));
      table.add(check_eq_8_7_subspace(ppca_run.model.W, ppca.U.leftCols(ppca.k)));
      const double elbo = -linear_vae_loss(ppca_run.model, ppca.S);
      table.add(check_eq_8_7_tight(elbo, ppca_log_likelihood(ppca_run.model.W, s2, ppca.S), "log p(x) of its own W, sigma_x^2"));
      const MatD W_ml = ppca.U.leftCols(ppca.k) *
                        (ppca.lambda.head(ppca.k).array() - sigma2_ml(ppca)).sqrt().matrix().asDiagonal();
      table.add(check_eq_8_7_tight(elbo, ppca_log_likelihood(W_ml, sigma2_ml(ppca), ppca.S), "the pPCA maximum likelihood"));
    }
    for (double s2 : {0.25, 1.2, 4.0}) table.add(check_eq_8_8_active_units(train_fixed_noise(ppca, s2), ppca, s2));
    table.print(std::cout, "Verification on small problems (double)");

    // Active units of the linear VAE against the KL weight, and KL annealing.
    const double fixed_s2 = 1.2;
    std::vector<double> betas = {0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0};
    std::vector<double> linear_active, linear_predicted;
    for (double b : betas) {
      const LinearVaeRun r = train_linear_vae(ppca.S, 6, 6000, false, std::log(fixed_s2), b, 11);
      linear_active.push_back(r.active_units.back());
      linear_predicted.push_back(expected_active(ppca.lambda, b * fixed_s2, 6));
    }
    const LinearVaeRun no_anneal = train_linear_vae(ppca.S, 6, 6000, false, std::log(fixed_s2), 1.0, 11, 0, 20);
    const LinearVaeRun anneal = train_linear_vae(ppca.S, 6, 6000, false, std::log(fixed_s2), 1.0, 11, 3000, 20);

    // ---- 3. The 784-400-20 VAE on the images -----------------------------------------------
    std::cout << "\n" << train_set.name << ": " << train_set.size() << " training and " << test_set.size()
              << " test images from " << data.source << "\n";
    VaeConfig cfg;
    cfg.input = train_set.dim();
    cfg.hidden = 400;
    cfg.latent = latent;
    Rng init(opt.seed);
    Vae<float> vae(cfg, init);
    Stopwatch clock;
    const Training curves = train(vae, train_set, test_set, epochs, opt.seed, "VAE 784-400-" + std::to_string(latent),
                                  [](int, Index, Index) { return 1.0; });
    const double train_seconds = clock.seconds();

    // Importance-weighted estimates on test images.
    clock = Stopwatch();
    const std::vector<Index> ms = opt.quick ? std::vector<Index>{1, 10, 100} : std::vector<Index>{1, 10, 100, 1000};
    const Index n_iw = std::min<Index>(iw_images, test_set.size());
    const IwEstimates iw = importance_weighted(vae, test_set.range<float>(0, n_iw), ms, opt.seed + 5);
    const double iw_seconds = clock.seconds();
    CheckTable real;
    real.add(check_eq_8_6_l1_is_the_elbo(iw));
    for (Index c = 0; c + 1 < Index(ms.size()); ++c) real.add(check_eq_8_6_grows(iw, c));
    {
      const McEstimate elbo = over_images(iw.elbo), top = over_images(iw.L.col(Index(ms.size()) - 1));
      CheckRow r = check_bound("8.6", "ELBO <= L_" + std::to_string(ms.back()) + " (mean over the same images)",
                               elbo.mean, top.mean, 0.0);
      real.add(r);
    }
    real.print(std::cout, "Verification on " + train_set.name + " test images (" + std::to_string(n_iw) + " images)");

    // ---- 4. A 2-D latent VAE and a 2-D autoencoder; active units vs the KL weight ----------
    VaeConfig cfg2 = cfg;
    cfg2.latent = 2;
    Rng init2(opt.seed + 2);
    Vae<float> vae2(cfg2, init2);
    const Training curves2 = train(vae2, train_set, test_set, epochs_2d, opt.seed + 2, "VAE 784-400-2",
                                   [](int, Index, Index) { return 1.0; });
    // The autoencoder: the same network with beta = 0 and eps = 0, so z = mu and the loss is the
    // reconstruction alone.
    VaeConfig cfg_ae = cfg2;
    cfg_ae.beta = 0.0;
    Rng init3(opt.seed + 3);
    Vae<float> ae(cfg_ae, init3);
    {
      Adam<float> adam(ae.parameters(), 1e-3f);
      TrainOptions t;
      t.epochs = epochs_2d;
      t.seed = opt.seed + 3;
      t.what = "AE 784-400-2";
      t.progress = &std::cout;
      train_minibatches(train_set.size(), adam, t, [&](const Minibatch& b) {
        const MatF X = train_set.batch<float>(b.indices, b.size);
        const float loss = ae.forward(X, MatF::Zero(2, X.cols()));
        ae.backward(X);
        return double(loss);
      }, no_metrics);
    }
    // Active units against the KL weight on the images (short runs), with and without annealing.
    const std::vector<double> image_betas = opt.quick ? std::vector<double>{1.0} : std::vector<double>{0.5, 1.0, 2.0, 4.0, 8.0};
    const int sweep_epochs = opt.quick ? 1 : 2;
    std::vector<double> image_active;
    for (double b : image_betas) {
      VaeConfig c = cfg;
      c.beta = b;
      Rng r(opt.seed + 10);
      Vae<float> v(c, r);
      train(v, train_set, test_set, sweep_epochs, opt.seed + 10, "", [b](int, Index, Index) { return b; }, false);
      image_active.push_back(count_active(activity(v, test_set, 2000)));
      std::cout << "  beta = " << b << ": " << image_active.back() << " of " << latent << " units active\n";
    }
    int annealed_active = 0;
    {
      Rng r(opt.seed + 10);
      Vae<float> v(cfg, r);
      const auto warmup = [&](int e, Index k, Index batches) {
        return std::min(1.0, (double(e) * double(batches) + double(k) + 1) / double(batches));  // 0 -> 1 in epoch 1
      };
      train(v, train_set, test_set, sweep_epochs, opt.seed + 10, "", warmup, false);
      annealed_active = count_active(activity(v, test_set, 2000));
      std::cout << "  beta annealed 0 -> 1 over the first epoch: " << annealed_active << " of " << latent << " units active\n";
    }

    // ---- Summary ------------------------------------------------------------------------------
    const VecD act = activity(vae, test_set, 2000);
    std::cout << std::fixed << std::setprecision(2) << "\nSummary\n"
              << "  VAE 784-400-" << latent << ", " << epochs << " epochs in " << train_seconds << " s: test ELBO "
              << curves.test_elbo.back() << " nats per image (" << test_set.size() << " test images)\n";
    for (std::size_t c = 0; c < ms.size(); ++c) {
      const McEstimate e = over_images(iw.L.col(Index(c)));
      std::cout << "  L_" << ms[c] << " = " << e.mean << " +- " << e.se << " nats per image (mean +- SE over " << n_iw
                << " test images)\n";
    }
    const McEstimate elbo_iw = over_images(iw.elbo);
    std::cout << "  one-sample ELBO on the same images " << elbo_iw.mean << " +- " << elbo_iw.se
              << "; importance weighting took " << iw_seconds << " s\n"
              << "  active units: " << count_active(act) << " of " << latent << "\n"
              << "  2-D VAE test ELBO " << curves2.test_elbo.back() << " nats\n"
              << std::setprecision(8) << "  linear VAE: sigma_x^2 = " << std::exp(ppca_run.model.log_noise_var) << " vs sigma_x^2 (ML) "
              << sigma2_ml(ppca) << "; final gradient norm " << std::scientific << std::setprecision(2) << ppca_run.final_gradient_norm
              << std::defaultfloat << "\n";

    // The numbers docs/08-vae.md quotes ({{metric:ch08.NAME}}), from this run.
    record_metric("epochs", epochs, 0);
    record_metric("train_seconds", train_seconds, 1);
    record_metric("test_images", double(test_set.size()), 0);
    record_metric("test_elbo", curves.test_elbo.back());
    record_metric("iw_images", double(n_iw), 0);
    for (std::size_t c = 0; c < ms.size(); ++c) {
      const McEstimate e = over_images(iw.L.col(Index(c)));
      record_metric("L_" + std::to_string(ms[c]), e.mean);
      record_metric("L_" + std::to_string(ms[c]) + "_se", e.se, 1);
    }
    record_metric("m_top", double(ms.back()), 0);
    record_metric("L_top", over_images(iw.L.col(Index(ms.size()) - 1)).mean);
    record_metric("iw_elbo", elbo_iw.mean);
    record_metric("active_units", count_active(act), 0);
    record_metric("latent", latent, 0);
    record_metric("test_elbo_2d", curves2.test_elbo.back());

    // ---- 5. Figures ----------------------------------------------------------------------------
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
      const MatF X = test_set.range<float>(0, 12);
      vae.encode(X);
      const MatF recon = vae.decode_mean(MatF(vae.mu()));
      Rng rng(opt.seed + 20);
      const MatF one = vae.decode_mean(rng.normal_matrix<float>(latent, 12));
      plot::Montage m = montage("test images and their VAE reconstructions (decoder mean at z = mu)");
      m.rows = {columns(X), columns(recon)};
      m.row_labels = {"test image", "reconstruction"};
      figs.draw("reconstructions", m);
      plot::Montage s = montage("samples from the prior: decoder mean of z ~ N(0, I)");
      for (int r = 0; r < 6; ++r) s.rows.push_back(columns(vae.decode_mean(rng.normal_matrix<float>(latent, 12))));
      (void)one;
      figs.draw("samples", s);
    }
    {
      plot::Montage m = montage("interpolation in latent space between two test images (z = mu)");
      const int steps = 10;
      for (Index p = 0; p < 4; ++p) {
        const MatF pair = test_set.range<float>(2 * p + 20, 2);
        vae.encode(pair);
        const MatF mu = vae.mu();
        MatF Z(latent, steps);
        for (int s = 0; s < steps; ++s) {
          const float t = float(s) / float(steps - 1);
          Z.col(s) = (1 - t) * mu.col(0) + t * mu.col(1);
        }
        std::vector<VecD> row = {pair.col(0).cast<double>()};
        for (auto& v : columns(vae.decode_mean(Z))) row.push_back(v);
        row.push_back(pair.col(1).cast<double>());
        m.rows.push_back(row);
      }
      figs.draw("interpolation", m);
    }
    {
      plot::Montage m = montage("2-D latent manifold: decoder mean on a grid of N(0,I) quantiles");
      m.pixel_scale = 2;
      const int g = 15;
      for (int r = 0; r < g; ++r) {
        MatF Z(2, g);
        for (int c = 0; c < g; ++c) {
          // Quantiles of N(0, 1) at (i + 0.5) / g, so the grid covers the prior's mass evenly.
          auto q = [&](int i) { return float(std::sqrt(2.0) * boost::math::erf_inv(2.0 * (i + 0.5) / g - 1.0)); };
          Z(0, c) = q(c);
          Z(1, c) = q(g - 1 - r);
        }
        m.rows.push_back(columns(vae2.decode_mean(Z)));
      }
      figs.draw("manifold", m);
    }
    {
      const Index n = std::min<Index>(3000, test_set.size());
      const MatF X = test_set.range<float>(0, n);
      std::vector<int> labels(test_set.labels.begin(), test_set.labels.begin() + n);
      ae.encode(X);
      const MatD ae_codes = ae.mu().cast<double>();
      vae2.encode(X);
      const MatD vae_codes = vae2.mu().cast<double>();
      Panel a, b;
      a.title = "autoencoder codes z";
      b.title = "VAE posterior means mu(x)";
      for (Panel* p : {&a, &b}) {
        p->xlabel = "z_1";
        p->ylabel = "z_2";
        p->key = "outside right";
      }
      a.series = plot::scatter_by_label(ae_codes, labels, test_set.class_names);
      b.series = plot::scatter_by_label(vae_codes, labels, test_set.class_names);
      b.key = "off";
      a.key = "off";
      b.key = "outside right";
      figs.draw("codes", plot::Figure{"2-D codes of " + std::to_string(n) + " test images, coloured by class", {a, b}, 1, 1400, 600});
    }
    {
      Panel p;
      p.title = "VAE 784-400-" + std::to_string(latent);
      p.xlabel = "epoch";
      p.ylabel = "ELBO (nats per image)";
      p.key = "bottom right";
      // Lines and points, and x from 0.5: a run of one epoch (--quick) still shows its two values;
      // room below the curves (which rise to the right) for the key.
      if (!curves.test_elbo.empty()) {
        const auto [lo_t, hi_t] = std::minmax_element(curves.train_elbo.begin(), curves.train_elbo.end());
        const auto [lo_e, hi_e] = std::minmax_element(curves.test_elbo.begin(), curves.test_elbo.end());
        const double lo = std::min(*lo_t, *lo_e), hi = std::max(*hi_t, *hi_e), span = std::max(hi - lo, 1.0);
        p.xrange = std::make_pair(0.5, double(epochs) + 0.5);
        p.yrange = std::make_pair(lo - 0.4 * span, hi + 0.1 * span);
      }
      p.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, "training (mean over the epoch's batches)",
                                      {curves.epoch, curves.train_elbo}, "lw 2"});
      p.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, "test (after the epoch)",
                                      {curves.epoch, curves.test_elbo}, "lw 2 dt 2"});
      // What check 8.6 tests is the paired increase of L_M over L_1 on the same images: the spread
      // between images (SE ~ 8 nats) would swamp it, so the panel shows the per-image differences.
      Panel q;
      q.title = "gain of L_M over L_1 on the same " + std::to_string(n_iw) + " test images (paired)";
      q.xlabel = "M (importance samples)";
      q.ylabel = "L_M - L_1 (nats per image)";
      q.logx = true;
      q.xrange = std::make_pair(0.7, 1.4 * double(ms.back()));
      q.key = "top left";
      std::vector<double> mx, gain, se;
      for (std::size_t c = 0; c < ms.size(); ++c) {
        const McEstimate e = over_images(VecD(iw.L.col(Index(c)) - iw.L.col(0)));
        mx.push_back(double(ms[c]));
        gain.push_back(e.mean);
        se.push_back(e.se);
      }
      const McEstimate elbo_gap = over_images(VecD(iw.elbo - iw.L.col(0)));
      q.series.push_back(plot::Series{plot::Series::Kind::ErrorBars, "L_M - L_1, mean ± SE over images", {mx, gain, se}, "lw 2 pt 7 ps 1 lc rgb '#1b9e77'"});
      q.series.push_back(plot::lines("", mx, gain, "lw 1 lc rgb '#1b9e77'"));
      q.series.push_back(plot::Series{plot::Series::Kind::ErrorBars,
                                      "ELBO - L_1 (0 in expectation, 8.6)",
                                      {{1.0}, {elbo_gap.mean}, {elbo_gap.se}}, "lw 2 pt 6 ps 1.5 lc rgb '#444444'"});
      q.series.push_back(plot::hline("", 0.0, 0.7, 1.4 * double(ms.back()), "dt 3 lw 1 lc rgb '#888888'"));
      figs.draw("elbo_curves", plot::Figure{train_set.name + ": the ELBO during training and L_M after it", {p, q}, 1, 1300, 520});
    }
    {
      // The prediction #{lambda_j > beta sigma_x^2} is an integer: a staircase with its steps at
      // beta = lambda_j / sigma_x^2, drawn on a fine grid with both sides of every step.
      std::vector<double> grid;
      const double b_lo = 0.035, b_hi = 12.0;
      for (int i = 0; i <= 200; ++i) grid.push_back(b_lo * std::pow(b_hi / b_lo, i / 200.0));
      for (Index j = 0; j < ppca.lambda.size(); ++j) {
        const double step = ppca.lambda(j) / fixed_s2;
        if (step > b_lo && step < b_hi) grid.insert(grid.end(), {step * (1 - 1e-9), step * (1 + 1e-9)});
      }
      std::sort(grid.begin(), grid.end());
      std::vector<double> staircase;
      for (double b : grid) staircase.push_back(expected_active(ppca.lambda, b * fixed_s2, 6));
      Panel a;
      a.title = "linear VAE, sigma_x^2 = 1.2 fixed: active units vs beta";
      a.xlabel = "KL weight beta";
      a.ylabel = "active units (of 6)";
      a.logx = true;
      a.xrange = std::make_pair(b_lo, b_hi);
      a.yrange = std::make_pair(-0.5, 7.5);
      a.key = "top right";
      a.series.push_back(plot::lines("#{lambda_j > beta sigma_x^2} (8.8)", grid, staircase, "dt 2 lw 2 lc rgb '#444444'"));
      a.series.push_back(plot::points("trained: Cov_x E_q[z_u] > 0.01", betas, linear_active, "pt 7 ps 1.5 lc rgb '#1b9e77'"));
      Panel b;
      b.title = train_set.name + ", " + std::to_string(sweep_epochs) + (sweep_epochs == 1 ? " epoch" : " epochs") +
                ": active units vs beta";
      b.xlabel = "KL weight beta";
      b.ylabel = "active units (of " + std::to_string(latent) + ")";
      b.logx = true;
      b.xrange = std::make_pair(0.3, 14.0);
      b.yrange = std::make_pair(-0.5, latent * 1.3);
      b.key = "top right";
      // The annealed run ends at beta = 1: an open ring around the beta = 1 point, and a label with
      // both counts, so that neither hides the other.
      b.series.push_back(plot::points("beta constant", image_betas, image_active, "pt 7 ps 1.5 lc rgb '#1b9e77'"));
      b.series.push_back(plot::points("beta annealed 0 -> 1 in epoch 1 (ends at beta = 1)", {1.0}, {double(annealed_active)},
                                      "pt 6 ps 3 lw 2 lc rgb '#d95f02'"));
      const auto at_one = std::find(image_betas.begin(), image_betas.end(), 1.0);
      if (at_one != image_betas.end())
        b.extra.push_back("set label 1 \"β = 1: " + format_number(image_active[std::size_t(at_one - image_betas.begin())], 3) +
                          " constant, " + std::to_string(annealed_active) + " annealed\" at 1.15," +
                          format_number(std::max(image_active[std::size_t(at_one - image_betas.begin())], double(annealed_active)) + 0.08 * latent, 4) +
                          " left font ',10'");
      Panel c;
      c.title = "linear VAE, sigma_x^2 = 1.2: KL annealing delays collapse";
      c.xlabel = "iteration";
      c.ylabel = "active units (of 6)";
      c.yrange = std::make_pair(0.0, 7.8);  // room for the key above the curves
      c.series.push_back(plot::lines("beta = 1 from the start", no_anneal.iteration, no_anneal.active_units, "lw 2"));
      c.series.push_back(plot::lines("beta annealed 0 -> 1 over 3000 iterations", anneal.iteration, anneal.active_units, "lw 2 dt 2"));
      figs.draw("active_units", plot::Figure{"Posterior collapse: active units (Burda et al.) against the KL weight", {a, b, c}, 1, 1700, 520});
    }
    return finish_chapter(figs, {&table, &real});
  });
}
