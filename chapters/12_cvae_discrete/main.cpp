// Chapter 12: conditional and discrete VAEs.
//
// Follows docs/12-cvae-discrete.md:
//   1. the derivation checks: the conditional ELBO on a linear-Gaussian CVAE (12.1); the Gumbel-max
//      trick (12.3); the Concrete density and the Gumbel-softmax sample (12.4) and its temperature
//      limits (12.5); the categorical KL (12.6); REINFORCE, the relaxed gradient and
//      straight-through on a toy objective (12.7-12.9);
//   2. bias and variance of the three gradient estimators against the temperature;
//   3. the lecture figures.
#include <iomanip>
#include <iostream>

#include "12_cvae_discrete/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::ch12;

namespace {

// A point of the 2-simplex in the plane: the corners e_1, e_2, e_3 at (0, 0), (1, 0), (1/2, sqrt 3 / 2).
std::pair<double, double> ternary(const VecD& y) { return {y(1) + 0.5 * y(2), 0.5 * std::sqrt(3.0) * y(2)}; }

plot::Series simplex_outline() {
  return plot::lines("", {0.0, 1.0, 0.5, 0.0}, {0.0, 0.0, 0.5 * std::sqrt(3.0), 0.0}, "lw 1 lc rgb '#444444'");
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("12", "conditional and discrete VAEs: the CVAE and the Gumbel-softmax relaxation");
    const CommonOptions opt = cli.parse(argc, argv);
    std::cout << "Chapter 12: conditional and discrete VAEs (CVAE, Gumbel-softmax)\n";
    // Read the data first, so a bad --data fails at once (the trained models of this chapter use it).
    const TrainTest data = load_image_data(opt.data, std::cout);
    (void)data;

    // ---- 1. The derivations, checked on small problems -----------------------------------------
    CheckTable table;
    for (CheckRow& r : toy_checks(opt.quick)) table.add(std::move(r));
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

    // ---- 3. Figures -------------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
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
      figs.draw("estimators", plot::Figure{"Gradient estimators for E_{z ~ Cat(softmax(theta))} ||z - t||^2, K = 3: "
                                           "bias against variance",
                                           {a, b}, 1, 1300, 520});
    }
    return finish_chapter(figs, {&table});
  });
}
