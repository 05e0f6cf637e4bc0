// Chapter 14: diffusion models (DDPM).
//
// Follows docs/14-diffusion.md:
//   1. the derivation checks: the forward step (14.1) and the variance it preserves (14.2), where the
//      lecture's eq. 15 is wrong; q(x_t | x_0) in closed form (14.3); the posterior
//      q(x_{t-1} | x_t, x_0) (14.4); the ELBO as a sum of Gaussian KLs (14.5); the noise
//      parameterisation (14.6); Tweedie's formula on a Gaussian mixture (14.7); the reverse chain
//      with the exact noise predictor (14.8);
//   2. the forward process on 8 Gaussians on a ring;
//   3. a small MLP noise predictor with a time embedding, trained on the simplified loss;
//   4. its score against the exact one, and samples of its reverse chain against the data;
//   5. the lecture figures.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "03_denoising_ae/dae.hpp"
#include "14_diffusion/checks.hpp"
#include "14_diffusion/noise_predictor.hpp"
#include "course/chapter.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::ch14;
namespace po = boost::program_options;

namespace {

std::vector<double> row(const MatD& M, Index r) { return std::vector<double>(M.row(r).begin(), M.row(r).end()); }

// A square scatter panel of the columns of X.
plot::Panel scatter(const std::string& title, const MatD& X, const std::string& colour) {
  plot::Panel p;
  p.title = title;
  p.square = true;
  p.xrange = std::make_pair(-3.0, 3.0);
  p.yrange = std::make_pair(-3.0, 3.0);
  p.key = "off";
  p.series.push_back(plot::points("", row(X, 0), row(X, 1), "pt 7 ps 0.25 lc rgb '" + colour + "'"));
  return p;
}

// L_simple of a predictor: the mean of ||eps - eps_hat(x_t, t)||^2 over (x_0, t, eps), Monte Carlo.
McEstimate simple_loss(const EpsFn& eps_fn, const NoiseSchedule& s, Index n, std::uint64_t seed) {
  Rng rng(seed);
  const MatD X0 = chapter_data().sample(n, rng), E = rng.normal_matrix<double>(2, n);
  const int T = int(s.beta.size());
  std::vector<double> loss(static_cast<std::size_t>(n));
  for (Index j = 0; j < n; ++j) {
    const int t = 1 + int(rng.below(std::uint64_t(T)));
    const MatD xt = q_sample(X0.col(j), s.alpha_bar(t - 1), E.col(j));
    loss[std::size_t(j)] = (E.col(j) - eps_fn(xt, t)).squaredNorm();
  }
  McEstimate e;
  e.n = n;
  e.seed = seed;
  for (double l : loss) e.mean += l / double(n);
  double ss = 0.0;
  for (double l : loss) ss += (l - e.mean) * (l - e.mean);
  e.sd = std::sqrt(ss / double(n - 1));
  e.se = e.sd / std::sqrt(double(n));
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("14", "diffusion models: the forward process, the ELBO, the noise predictor and the score");
    int hidden = 0;
    Index samples = 0;
    cli.chapter_options().add_options()
      ("hidden", po::value<int>(&hidden), "width of its three hidden layers (default 128, --quick 64)")
      ("samples", po::value<Index>(&samples), "reverse-chain samples for the two-sample tests (default 4000, --quick 2000)");
    const CommonOptions opt = cli.parse(argc, argv);
    TrainingConfig config = opt.quick ? quick_training() : default_training();
    if (cli.vm().count("epochs")) config.epochs = opt.epochs;
    if (cli.vm().count("hidden")) config.hidden = hidden;
    if (!cli.vm().count("samples")) samples = opt.quick ? 2000 : 4000;
    if (config.epochs < 1 || config.epochs > 100000) throw InputError("--epochs must be between 1 and 100000");
    if (config.hidden < 1 || config.hidden > 4096) throw InputError("--hidden must be between 1 and 4096");
    if (samples < 100 || samples > 100000) throw InputError("--samples must be between 100 and 100000");

    std::cout << "Chapter 14: diffusion models (DDPM)\n";
    // This chapter uses no image data, but a --data that names nothing is still a mistake.
    if (const std::string dir = find_image_data(opt.data); !dir.empty() && !std::filesystem::is_directory(dir))
      throw InputError("--data " + dir + ": no such directory");
    const NoiseSchedule s = chapter_schedule();
    const GaussianMixture2D data = chapter_data();
    const int T = int(s.beta.size());
    std::cout << "Data: 8 Gaussians (variance 0.02) on a circle of radius 1.4; T = " << T << " steps, beta from "
              << s.beta(0) << " to " << s.beta(T - 1) << ", alpha_bar_T = " << s.alpha_bar(T - 1) << "\n";

    // ---- 1. The derivations, checked -----------------------------------------------------------
    Stopwatch clock;
    CheckTable table;
    table.add(check_eq_14_1_forward_step());
    table.add(check_eq_14_2_variance_preserved());
    table.add(check_eq_14_3_marginal_vs_chain());
    table.add(check_eq_14_3_chapman_kolmogorov());
    table.add(check_eq_14_4_posterior_vs_bayes());
    const TinyChain tiny = tiny_chain();
    const VecD terms = elbo_terms(tiny);
    table.add(check_eq_14_5_elbo_terms(tiny, terms, elbo_terms_monte_carlo(tiny, opt.quick ? 200000 : 1000000, opt.seed + 145)));
    table.add(check_eq_14_5_factorisation(tiny));
    table.add(check_eq_14_6_mean_from_eps());
    table.add(check_eq_14_6_kl_is_weighted_noise_error());
    table.add(check_eq_14_7_tweedie());
    const MatD exact = exact_samples(opt.seed + 148, reverse_step, samples);
    table.add(check_eq_14_8_samples(exact, "exact-predictor chain", opt.seed + 149));
    table.add(check_eq_14_8_radii(exact, "exact-predictor chain"));
    table.print(std::cout, "Verification (the lecture's eq. 15 mean alpha_t x is rejected by 14.1 and 14.2; see the doc)");
    std::cout << "  checks: " << std::fixed << std::setprecision(1) << clock.seconds() << " s\n"
              << std::defaultfloat << std::setprecision(4);
    std::cout << "  tiny ELBO instance (T = 4, x_0 = 0.8): L_0 = " << terms(0) << ", KL terms";
    for (Index k = 1; k < terms.size() - 1; ++k) std::cout << " " << terms(k);
    std::cout << ", L_T = " << terms(terms.size() - 1) << "; -ELBO = " << terms.sum() << " nats\n";

    // ---- 2. The forward process ------------------------------------------------------------------
    Rng rng(opt.seed);
    const MatD X0 = data.sample(2000, rng);
    const std::vector<int> shown = {0, 10, 25, 50, T};
    std::vector<MatD> forward;
    for (int t : shown) forward.push_back(run_forward(X0, s, t, rng));
    const std::vector<double> var16 = chain_variance(forward_step, 20000, opt.seed + 1);
    const std::vector<double> var15 = chain_variance([](const MatD& X, double beta, const MatD& Xi) {
      return MatD((1.0 - beta) * X + std::sqrt(beta) * Xi);  // the lecture's eq. 15 mean alpha_t x
    }, 20000, opt.seed + 1);

    // ---- 3. The noise predictor ------------------------------------------------------------------
    std::cout << "\nNoise predictor: MLP [x; e(t)] (" << 2 + config.embedding << ") -> " << config.hidden << " -> "
              << config.hidden << " -> " << config.hidden << " -> 2 (ReLU), " << config.epochs << " epochs of Adam over "
              << config.train_points << " points in batches of " << config.batch << " (x_0, t, eps), lr " << config.lr
              << " (/10 for the last quarter)\n";
    clock = Stopwatch();
    const TrainedPredictor net = train_noise_predictor(data, s, config, opt.seed + 14, &std::cout);
    const double train_seconds = clock.seconds();
    const EpsFn learned = predictor_fn(net), optimal = exact_eps(data, s);
    const McEstimate loss_net = simple_loss(learned, s, 20000, opt.seed + 20);
    const McEstimate loss_opt = simple_loss(optimal, s, 20000, opt.seed + 20);

    // ---- 4. Its score and its samples -----------------------------------------------------------
    CheckTable trained;
    trained.add(check_eq_14_7_learned_score(learned, kScoreCheckTime, "trained MLP", opt.seed + 147));
    clock = Stopwatch();
    const std::vector<int> kept_times = {T, 100, 50, 25, 10, 0};
    std::vector<MatD> reverse_net, reverse_exact;
    Rng sampler(opt.seed + 30);
    const MatD generated = run_reverse(s, learned, samples, sampler, kept_times, &reverse_net);
    const double sample_seconds = clock.seconds();
    Rng sampler2(opt.seed + 31);
    run_reverse(s, optimal, 2000, sampler2, kept_times, &reverse_exact);
    trained.add(check_eq_14_8_samples(generated, "trained MLP chain", opt.seed + 150));
    trained.print(std::cout, "The trained DDPM (" + std::to_string(samples) + " samples)");
    // The radial test of the trained chain is a measurement of this small network, not a check of
    // a derivation (the exact predictor's chain checks the sampler above): on 4,000 samples it is
    // sharp enough to see what a shorter training has not learned (100 epochs: rejected; 300, the
    // default: not rejected for seeds 1-3; docs/14 section 7), so its verdict is printed, not asserted.
    const CheckRow radii = check_eq_14_8_radii(generated, "trained MLP chain");
    std::cout << "  Measured (not a check): the trained chain's radii against the data's, Kolmogorov-Smirnov D_n = "
              << format_number(radii.analytic, 4) << " against the critical value " << format_number(radii.numeric, 4)
              << " (false-failure rate 1e-6): " << (radii.passed() ? "not rejected" : "REJECTED, the network has not learned the radii to this precision")
              << "\n";
    // The numbers docs/14-diffusion.md quotes ({{metric:ch14.NAME}}), from this run.
    record_metric("train_seconds", train_seconds, 1);
    record_metric("loss", loss_net.mean, 4);
    record_metric("loss_floor", loss_opt.mean, 4);
    record_metric("cosine_t25", trained.rows()[0].numeric, 3);
    record_metric("mmd", trained.rows()[1].analytic, 4);
    record_metric("mmd_bound", trained.rows()[1].numeric, 4);
    record_metric("ks", radii.analytic, 4);
    record_metric("ks_bound", radii.numeric, 4);

    std::vector<double> ts, cos_net, cos_linear;
    for (int t : {1, 2, 5, 10, 25, 50, 100, 150, 200, 250}) {
      Rng r(opt.seed + 40 + std::uint64_t(t));
      const double ab = s.alpha_bar(t - 1);
      const MatD Xt = q_sample(data.sample(2000, r), ab, r.normal_matrix<double>(2, 2000));
      const MatD truth = mixture_score_t(data, ab, Xt);
      ts.push_back(t);
      cos_net.push_back(ch03::mean_cosine(score_from_eps(learned(Xt, t), ab), truth));
      cos_linear.push_back(ch03::mean_cosine(score_from_eps(std::sqrt(1.0 - ab) * Xt, ab), truth));
    }

    std::cout << std::setprecision(4) << "\nSummary\n"
              << "  noise predictor: " << config.epochs << " epochs in " << std::setprecision(3) << train_seconds
              << " s; L_simple = " << std::setprecision(4) << loss_net.mean << " +- " << loss_net.se
              << " (the exact predictor E[eps | x_t]: " << loss_opt.mean << " +- " << loss_opt.se
              << ", the floor no network can beat)\n"
              << "  mean cosine of its score to the true score: ";
    for (std::size_t k = 0; k < ts.size(); ++k) std::cout << "t=" << ts[k] << " " << std::setprecision(3) << cos_net[k] << "  ";
    std::cout << "\n  reverse chain: " << samples << " samples in " << std::setprecision(3) << sample_seconds << " s\n";

    // ---- 5. Figures ------------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    {
      std::vector<Panel> panels;
      for (std::size_t k = 0; k < shown.size(); ++k) {
        const int t = shown[k];
        const double ab = t == 0 ? 1.0 : s.alpha_bar(t - 1);
        panels.push_back(scatter("t = " + std::to_string(t) + ", alpha_bar = " + format_number(ab, 3), forward[k], "#1f77b4"));
      }
      figs.draw("forward", plot::Figure{"The forward process: x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) xi (2000 points)",
                                        panels, 1, 1800, 420});
    }
    {
      Panel p;
      p.title = "Var(x_0) = 1: the variance of x_t along the chain (20,000 chains)";
      p.xlabel = "step t";
      p.ylabel = "E[x_t^2] per coordinate";
      p.yrange = std::make_pair(0.0, 1.2);
      p.key = "bottom left";
      std::vector<double> t_axis, ab;
      for (int t = 0; t <= T; ++t) {
        t_axis.push_back(t);
        ab.push_back(t == 0 ? 1.0 : s.alpha_bar(t - 1));
      }
      p.series.push_back(plot::lines("eq. 16 (corrected): mean sqrt(alpha_t) x", t_axis, var16, "lw 2"));
      p.series.push_back(plot::lines("lecture's eq. 15: mean alpha_t x", t_axis, var15, "lw 2 dt 2"));
      p.series.push_back(plot::lines("alpha_bar_t (the share of x_0's variance left)", t_axis, ab, "lw 1 lc rgb '#888888'"));
      figs.draw("variance", plot::Figure{"The lecture's eq. 15 does not preserve the variance (eq. 14.2)", {p}, 1, 900, 560});
    }
    {
      Panel p;
      p.title = "noise predictor: L_simple during training (mean over each epoch)";
      p.xlabel = "epoch";
      p.ylabel = "||eps - eps_theta(x_t, t)||^2";
      p.series.push_back(plot::lines("trained MLP", net.epoch, net.loss, "lw 2"));
      p.series.push_back(plot::hline("exact predictor E[eps | x_t] (the floor)", loss_opt.mean, 1.0, double(config.epochs)));
      Panel q;
      q.title = "its score vs the exact score of q_t";
      q.xlabel = "step t";
      q.ylabel = "mean cosine over 2000 points of q_t";
      q.logx = true;
      q.xrange = std::make_pair(1.0, double(T));
      q.yrange = std::make_pair(-0.2, 1.05);
      q.key = "bottom right";
      q.series.push_back(plot::lines("-eps_theta / sqrt(1 - alpha_bar)", ts, cos_net, "lw 2"));
      q.series.push_back(plot::lines("best linear predictor (Gaussian fit)", ts, cos_linear, "lw 2 dt 2"));
      q.series.push_back(plot::hline("bound of check 14.7", kCosineBound, 1.0, double(T), "dt 3 lc rgb '#888888'"));
      figs.draw("training", plot::Figure{"Training the noise predictor (eq. 14.6) and Tweedie's formula (eq. 14.7)", {p, q},
                                         1, 1300, 520});
    }
    {
      std::vector<Panel> panels;
      for (std::size_t k = 0; k < kept_times.size(); ++k)
        panels.push_back(scatter("trained MLP, t = " + std::to_string(kept_times[k]), reverse_net[k].leftCols(2000), "#d62728"));
      for (std::size_t k = 0; k < kept_times.size(); ++k)
        panels.push_back(scatter("exact E[eps | x_t], t = " + std::to_string(kept_times[k]), reverse_exact[k], "#2ca02c"));
      figs.draw("reverse", plot::Figure{"The reverse chain x_{t-1} = mu_theta(x_t, t) + sqrt(beta~_t) xi from x_T ~ N(0, I) (2000 points)",
                                        panels, 2, 1800, 700});
    }
    return finish_chapter(figs, {&table, &trained});
  });
}
