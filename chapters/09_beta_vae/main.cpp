// Chapter 9: beta-VAE -- the weight on the KL trades rate for distortion, and may disentangle.
//
// Follows docs/09-beta-vae.md:
//   1. the derivation checks: the beta-weighted loss and its gradient (9.1), beta as sigma^2 ->
//      beta sigma^2 (9.2), the linear VAE's optimum and its collapsed dimensions (9.3, 9.4), the
//      mutual information and the MIG against known answers (9.5, 9.6), a traversal (9.7);
//   2. beta-VAEs (chapter 8's VAE with its KL weight beta) trained on the sprites for a sweep of
//      beta, and the same sweep on Fashion-MNIST (when installed);
//   3. their rate and distortion per beta, and on the sprites the MIG;
//   4. the lecture figures: rate-distortion curves, MIG vs beta, latent traversals.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>

#include "09_beta_vae/checks.hpp"
#include "09_beta_vae/training.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch09;
namespace po = boost::program_options;

namespace {

std::string fixed(double x, int digits = 2) { return format_fixed(x, digits); }

// Latent dimensions in order of decreasing KL (the informative ones first).
std::vector<Index> by_kl(const VecD& kl) {
  std::vector<Index> order(std::size_t(kl.size()));
  std::iota(order.begin(), order.end(), Index(0));
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return kl(a) > kl(b); });
  return order;
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("09", "beta-VAE: rate, distortion and disentanglement");
    int latent = 8, hidden = 0, train_size = 0, fashion_train = 0;
    std::vector<double> betas;
    cli.chapter_options().add_options()
      ("latent", po::value<int>(&latent)->default_value(8), "latent dimensions k")
      ("hidden", po::value<int>(&hidden), "hidden units of encoder and decoder (default 128, --quick 32)")
      ("train-size", po::value<int>(&train_size), "sprites for training (default 3000, --quick 300)")
      ("fashion-train", po::value<int>(&fashion_train),
       "Fashion-MNIST images for the rate-distortion sweep of a 784-400-20 VAE (default 10000, --quick 300; 0 skips it)")
      ("betas", po::value<std::vector<double>>(&betas)->multitoken(), "the beta sweep (default 0.5 1 2 4 8)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (latent < 2 || latent > 64) throw InputError("--latent must be between 2 and 64, not " + std::to_string(latent));
    if (!cli.vm().count("train-size")) train_size = opt.quick ? 300 : 3000;
    if (!cli.vm().count("hidden")) hidden = opt.quick ? 32 : 128;
    if (hidden < 1 || hidden > 2048) throw InputError("--hidden must be between 1 and 2048");
    if (train_size < 10) throw InputError("--train-size must be at least 10");
    if (!cli.vm().count("fashion-train")) fashion_train = opt.quick ? 300 : 10000;
    if (fashion_train < 0) throw InputError("--fashion-train must be at least 0");
    if (betas.empty()) betas = {0.5, 1.0, 2.0, 4.0, 8.0};
    for (double b : betas)
      if (!(b > 0.0)) throw InputError("--betas must all be positive");
    std::sort(betas.begin(), betas.end());
    const int epochs = opt.epochs_or(opt.quick ? 1 : 6);

    // The data: the sprites, whose generative factors are known (needed for the MIG), and real
    // images (Fashion-MNIST, or --data) for a second rate-distortion curve.
    std::cout << "Chapter 9: beta-VAE -- rate, distortion and disentanglement\n";
    // (--quick runs the sweep on 300 images, so the numbers the book quotes come from every run.)
    TrainTest images;
    if (fashion_train > 0 || !opt.data.empty()) images = load_image_data(opt.data, std::cout, 10, 10);  // a bad --data fails at once
    const bool fashion = images.real && fashion_train > 0;
    const ImageSet train = make_sprites(train_size, opt.seed);
    const ImageSet test = make_sprites(opt.quick ? 200 : 2000, opt.seed + 1000);

    // ---- 1. The derivations, checked ---------------------------------------------------------
    const LinearProblem linear = make_linear_problem();
    std::vector<TrainedLinearVae> linear_runs;
    for (double b : {0.5, 1.0, 2.0, 8.0}) linear_runs.push_back(train_linear_vae(linear, b));
    CheckTable table;
    table.add(check_eq_9_1_objective());
    table.add(check_eq_9_1_gradient(ch08::Likelihood::Bernoulli));
    table.add(check_eq_9_1_gradient(ch08::Likelihood::Gaussian));
    table.add(check_eq_9_2_scaling());
    table.add(check_eq_9_3_direction_optimum());
    for (const auto& t : linear_runs) table.add(check_eq_9_4_collapsed(linear, t));
    for (const auto& t : linear_runs) table.add(check_eq_9_4_rate_distortion(linear, t));
    for (auto row : {check_eq_9_5_self_information(), check_eq_9_5_chain_rule(), check_eq_9_5_uniform_entropy(),
                     check_eq_9_5_independent(), check_eq_9_6_codes_equal_factors(), check_eq_9_6_copied_factor(),
                     check_eq_9_6_normalised_by_factor_entropy(), check_eq_9_6_random_codes(), check_eq_9_7_traversal()})
      table.add(row);
    table.print(std::cout, "Verification (linear VAE: eigenvalues 8 4 2 1 0.5 0.25, sigma_x^2 = 0.35)");

    // ---- 2. beta-VAEs on the sprites: chapter 8's VAE, 784-hidden-latent, KL weight beta ---------
    std::cout << "\nsprites: " << train.size() << " training and " << test.size() << " test images of 28x28; "
              << "784-" << hidden << "-" << latent << " VAE, Bernoulli decoder, Adam lr 1e-3, batch 64, "
              << epochs << " epoch(s) per beta\n";
    TrainConfig config;
    config.hidden = hidden;
    config.latent = latent;
    config.epochs = epochs;
    config.seed = opt.seed;
    std::cout << "  (" << betas.size() << " models trained in parallel, one per thread; their progress follows)\n";
    std::vector<BetaRun> runs =
        train_sweep(train, betas, config, std::cout, [&](BetaRun& run) { evaluate(run, test, opt.seed + 7); });

    // ---- 2b. The same sweep on real images: chapter 8's 784-400-20 VAE on Fashion-MNIST ---------
    std::vector<BetaRun> real_runs;
    if (fashion) {
      const ImageSet real_train = images.train.head(std::min<Index>(fashion_train, images.train.size()));
      const ImageSet real_test = images.test.head(std::min<Index>(opt.quick ? 200 : 2000, images.test.size()));
      TrainConfig rc;
      rc.hidden = 400;
      rc.latent = 20;
      rc.batch = 128;
      rc.epochs = epochs;
      rc.seed = opt.seed + 100;
      std::cout << "\n" << images.train.name << ": " << real_train.size() << " training and " << real_test.size()
                << " test images; 784-400-20 VAE (chapter 8's), batch 128, " << epochs << " epoch(s) per beta\n";
      std::cout << "  (" << betas.size() << " models trained in parallel, one per thread; their progress follows)\n";
      real_runs = train_sweep(real_train, betas, rc, std::cout,
                              [&](BetaRun& run) { measure_rate_distortion(run, real_test, opt.seed + 107); });
    } else {
      std::cout << "\n(no Fashion-MNIST found, or --fashion-train 0: the sweep on real images is skipped)\n";
    }

    // ---- 3. Summary ---------------------------------------------------------------------------
    std::cout << "\nSummary (test sprites; nats per image)\n"
              << "   beta   distortion   rate   active dims (KL > 0.05)   MIG    gaps: shape scale rot x y   time\n";
    for (const auto& r : runs) {
      std::cout << "  " << std::setw(5) << r.beta << "   " << std::setw(9) << fixed(r.distortion, 1) << "  "
                << std::setw(6) << fixed(r.rate, 2) << "   " << std::setw(10) << (r.kl_per_dim.array() > 0.05).count()
                << "                 " << fixed(r.mig, 3) << "  ";
      for (double g : r.factor_gap) std::cout << " " << fixed(g, 2);
      std::cout << "   " << fixed(r.seconds, 1) << " s\n";
    }
    std::cout << "  MIG: mean over the 5 factors of the gap between the two largest I(z_j; v_k) / H(v_k)\n";
    if (fashion) {
      std::cout << "\nSummary (" << images.train.name << " test images; nats per image)\n"
                << "   beta   distortion   rate   ELBO = -(D + R)   active dims (KL > 0.05)   time\n";
      for (const auto& r : real_runs)
        std::cout << "  " << std::setw(5) << r.beta << "   " << std::setw(9) << fixed(r.distortion, 1) << "  " << std::setw(6)
                  << fixed(r.rate, 2) << "   " << std::setw(10) << fixed(-(r.distortion + r.rate), 1) << "        "
                  << std::setw(10) << (r.kl_per_dim.array() > 0.05).count() << "        " << fixed(r.seconds, 1) << " s\n";
    }

    // The numbers docs/09-beta-vae.md quotes ({{metric:ch09.NAME}}), from this run.
    auto active = [](const BetaRun& r) { return double((r.kl_per_dim.array() > 0.05).count()); };
    auto record_sweep = [&](const std::string& data, const std::vector<BetaRun>& sweep) {
      if (sweep.empty()) return;
      for (const auto& [end, r] : {std::pair{"first", &sweep.front()}, std::pair{"last", &sweep.back()}}) {
        record_metric(data + "_rate_" + end, r->rate, 1);
        record_metric(data + "_distortion_" + end, r->distortion, 1);
        record_metric(data + "_elbo_" + end, -(r->distortion + r->rate), 1);
        record_metric(data + "_active_" + end, active(*r), 0);
      }
      double lo = active(sweep.front());
      for (const auto& r : sweep) lo = std::min(lo, active(r));
      record_metric(data + "_active_min", lo, 0);
      const auto one = std::min_element(sweep.begin(), sweep.end(), [](const BetaRun& a, const BetaRun& b) {
        return std::abs(std::log(a.beta)) < std::abs(std::log(b.beta));
      });
      record_metric(data + "_elbo_near_1", -(one->distortion + one->rate), 1);
      record_metric(data + "_beta_near_1", one->beta, 1);
    };
    record_metric("beta_first", runs.front().beta, 1);
    record_metric("beta_last", runs.back().beta, 1);
    record_metric("latent", double(latent), 0);
    record_sweep("sprites", runs);
    record_sweep("fashion", real_runs);
    {
      double lo = runs.front().mig, hi = lo;
      for (const auto& r : runs) lo = std::min(lo, r.mig), hi = std::max(hi, r.mig);
      record_metric("mig_min", lo);
      record_metric("mig_max", hi);
    }

    // ---- 4. Figures ----------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    {
      // One rate-distortion panel per sweep, with room around the points for their labels.
      auto sweep_panel = [&](const std::string& title, const std::vector<BetaRun>& sweep) {
        Panel p;
        p.title = title;
        p.xlabel = "rate: KL(q(z|x) || p(z)) (nats per image)";
        p.ylabel = "distortion: -log p(x|z) (nats per image)";
        std::vector<double> R, D;
        for (const auto& r : sweep) {
          R.push_back(r.rate);
          D.push_back(r.distortion);
          p.extra.push_back("set label 'β = " + fixed(r.beta, 1) + "' at " + fixed(r.rate, 3) + "," +
                            fixed(r.distortion, 3) + " offset 1,1 font ',9'");
        }
        const auto [r_lo, r_hi] = std::minmax_element(R.begin(), R.end());
        const auto [d_lo, d_hi] = std::minmax_element(D.begin(), D.end());
        const double dr = std::max(*r_hi - *r_lo, 1.0), dd = std::max(*d_hi - *d_lo, 1.0);
        p.xrange = std::make_pair(std::max(0.0, *r_lo - 0.1 * dr), *r_hi + 0.25 * dr);
        p.yrange = std::make_pair(*d_lo - 0.1 * dd, *d_hi + 0.15 * dd);
        p.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, "beta sweep", {R, D}, ""});
        return p;
      };
      std::vector<Panel> panels = {
          sweep_panel("beta-VAE (784-" + std::to_string(hidden) + "-" + std::to_string(latent) + ") on sprites (test)", runs)};
      if (fashion) panels.push_back(sweep_panel("beta-VAE (784-400-20) on " + images.train.name + " (test)", real_runs));
      Panel lin;
      lin.title = "linear VAE: reverse water-filling (eq. 9.4)";
      lin.xlabel = "rate R (nats)";
      lin.ylabel = "distortion D = E||x - Wz||^2";
      std::vector<double> cr, cd;
      for (double lb = -3.0; lb <= 3.5; lb += 0.02) {
        const double level = std::exp(lb) * linear.noise_var;
        cr.push_back((0.5 * (linear.lambda.array() / level).log().max(0.0)).sum());
        cd.push_back(linear.lambda.array().min(level).sum());
      }
      lin.series.push_back(plot::lines("closed form, beta from 0.05 to 33", cr, cd));
      std::vector<double> nr, nd;
      for (const auto& t : linear_runs) {
        nr.push_back(t.terms.rate);
        nd.push_back(t.terms.distortion);
        lin.extra.push_back("set label 'β = " + fixed(t.beta, 1) + "' at " + fixed(t.terms.rate, 3) + "," +
                            fixed(t.terms.distortion, 3) + " offset 1,0.5 font ',9'");
      }
      lin.series.push_back(plot::points("numerically minimised linear VAE", nr, nd, "pt 7 ps 1.3"));
      panels.push_back(lin);
      figs.draw("rate_distortion", plot::Figure{"Raising beta trades rate for distortion", panels, 1,
                                                 600 * int(panels.size()), 500});
    }
    {
      Panel mig;
      mig.title = "disentanglement on sprites (test)";
      mig.xlabel = "β";
      mig.ylabel = "MIG (0 to 1)";
      mig.logx = true;
      mig.xrange = std::make_pair(betas.front() / 1.5, betas.back() * 1.5);
      mig.yrange = std::make_pair(0.0, 0.4);  // room for the legend above the curves
      std::vector<double> B, M;
      for (const auto& r : runs) {
        B.push_back(r.beta);
        M.push_back(r.mig);
      }
      mig.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, "MIG (mean over factors)", {B, M}, "lw 3 lc rgb '#000000'"});
      const char* names[] = {"shape", "scale", "rotation", "x", "y"};
      for (std::size_t f = 0; f < 5; ++f) {
        std::vector<double> G;
        for (const auto& r : runs) G.push_back(r.factor_gap[f]);
        mig.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, std::string("gap: ") + names[f], {B, G}, "dt 2"});
      }
      Panel active;
      active.title = "active latent dimensions";
      active.xlabel = "β";
      active.ylabel = "latents with test KL > 0.05 nats";
      active.logx = true;
      active.xrange = mig.xrange;
      active.key = "bottom left";
      active.yrange = std::make_pair(0.0, double(latent) + 0.5);
      std::vector<double> A;
      for (const auto& r : runs) A.push_back(double((r.kl_per_dim.array() > 0.05).count()));
      active.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, "sprites (of " + std::to_string(latent) + ")", {B, A}, ""});
      if (fashion) {
        std::vector<double> RA;
        for (const auto& r : real_runs) RA.push_back(double((r.kl_per_dim.array() > 0.05).count()));
        active.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, images.train.name + " (of 20)", {B, RA}, ""});
        active.yrange = std::make_pair(0.0, double(std::max(latent, 20)) + 0.5);
      }
      figs.draw("mig_vs_beta", plot::Figure{"Mutual information gap and active dimensions vs beta", {mig, active}, 1, 1200, 500});
    }
    // Traversals for beta = 1 (or the nearest) and the largest beta.
    auto nearest = [&](double b) {
      return std::min_element(runs.begin(), runs.end(), [&](const BetaRun& a, const BetaRun& c) {
        return std::abs(std::log(a.beta / b)) < std::abs(std::log(c.beta / b));
      });
    };
    std::vector<BetaRun*> shown = {&*nearest(1.0)};
    if (&runs.back() != shown[0]) shown.push_back(&runs.back());
    VecD values(9);
    for (Index i = 0; i < 9; ++i) values(i) = -3.0 + 0.75 * double(i);
    for (BetaRun* r : shown) {
      r->vae.encode(test.range<float>(0, 1));
      const VecD z0 = r->vae.mu().col(0).cast<double>();
      plot::Montage m;
      // The title says what the rows show: the MIG of this model decides whether a row is a factor.
      m.title = "β = " + fixed(r->beta, 1) + ", MIG " + fixed(r->mig, 2) + " (1: each factor in one latent; 0: none)" +
                (r->mig < 0.2 ? ": a low MIG, so a row changes several factors at once" : "") +
                "\nrow j sweeps z_j from -3 to 3, the others at mu(x) of a test sprite; rows by KL";
      for (Index j : by_kl(r->kl_per_dim)) {
        const MatD Z = latent_traversal(z0, j, values);
        require_same_shape(Z, MatD(z0.size(), values.size()), "latent_traversal result", "k x 9");
        const MatD decoded = r->vae.decode_mean(Z.cast<float>()).cast<double>();
        std::vector<VecD> row;
        for (Index i = 0; i < decoded.cols(); ++i) row.push_back(decoded.col(i));
        m.rows.push_back(row);
        m.row_labels.push_back("z_" + std::to_string(j + 1) + ": KL " + fixed(r->kl_per_dim(j), 2));
      }
      figs.draw("traversals_beta_" + fixed(r->beta, 1), m);
    }
    return finish_chapter(figs, {&table});
  });
}
