// Chapter 7: the reparameterization trick and the pathwise derivative.
//
// Follows docs/07-reparameterization.md:
//   1. the derivation checks: reparameterised sampling (7.1), the toy loss and its gradient
//      (7.2-7.3), the pathwise and score-function estimators (7.4-7.5), their variances (7.6-7.8),
//      and SGD with pathwise gradients (7.9);
//   2. the lecture's toy problem: learn mu in R^2 to reach c = (5, 5), by SGD with each estimator
//      from the same start and the same noise;
//   3. estimator variance against the number of samples, measured beside derived;
//   4. the lecture figures.
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "07_reparameterization/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch07;
namespace po = boost::program_options;

namespace {

// The measured per-coordinate variance of a mean of N draws at mu, for N = 1, 2, 4, ..., max_batch.
struct VarianceCurve {
  std::vector<double> batch, measured, se, derived;
};
VarianceCurve variance_curve(const Estimator& g, const VecD& variance_of_one, Index max_batch, Index reps,
                             std::uint64_t seed) {
  const ToyPoint p = lecture_point(0.0, 0.0);
  VarianceCurve v;
  for (Index n = 1; n <= max_batch; n *= 2) {
    const McVecEstimate m = estimator_moments(g, p.mu, p.sigma, p.c, reps, seed + std::uint64_t(n), n);
    v.batch.push_back(double(n));
    v.measured.push_back(m.mean(2));  // coordinate 0's variance (both coordinates are alike at mu = (0, 0))
    v.se.push_back(m.se(2));
    v.derived.push_back(variance_of_one(0) / double(n));
  }
  return v;
}

// A dashed circle ||mu - c|| = r: a contour of L.
plot::Series contour(const VecD& c, double r) {
  std::vector<double> x, y;
  for (int k = 0; k <= 120; ++k) {
    x.push_back(c(0) + r * std::cos(2.0 * M_PI * k / 120.0));
    y.push_back(c(1) + r * std::sin(2.0 * M_PI * k / 120.0));
  }
  return plot::lines("", x, y, "dt 3 lw 1 lc rgb '#ffffff'");
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("07", "the reparameterization trick and the pathwise derivative");
    int steps = 0;
    double lr = 0.0;
    cli.chapter_options().add_options()
      ("steps", po::value<int>(&steps)->default_value(400), "SGD steps of the toy problem's trajectories")
      ("lr", po::value<double>(&lr)->default_value(0.01), "SGD step size of the trajectories (0 < lr < 1)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (steps < 1 || steps > 100000) throw InputError("--steps must be between 1 and 100000, not " + std::to_string(steps));
    if (!(lr > 0.0 && lr < 1.0)) throw InputError("--lr must lie in (0, 1), not " + std::to_string(lr));

    std::cout << "Chapter 7: the reparameterization trick and the pathwise derivative\n";
    // The toy problem needs no images; a --data flag (or $COURSE_DATA) is still checked at once.
    if (!opt.data.empty() || std::getenv("COURSE_DATA")) load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked (fixed seeds, false-failure rate <= 1e-6 per row) ----------
    Stopwatch clock;
    CheckTable table;
    for (auto& row : all_checks(opt.quick)) table.add(row);
    table.print(std::cout, std::string("Verification (toy problem c = (5, 5); Monte Carlo rows at false-failure rate 1e-6") +
                               (opt.quick ? ", --quick: 8x fewer samples)" : ")"));
    std::cout << "  (" << clock.seconds() << " s)\n";

    // ---- 2. The toy problem: SGD from mu = (0, 0) with each estimator, the same noise -------------
    const VecD c = lecture_target(), mu0 = VecD::Zero(2);
    const SgdSetting setting{lr, 1, steps};
    Progress progress(std::cout, "SGD, pathwise gradients", 1, steps);
    const SgdPath path = run_sgd(pathwise_estimator(), mu0, c, setting, opt.seed, [&](int t, double loss) {
      require_finite_loss(loss, 0, t);
      progress.batch(t, loss);
    });
    progress.epoch(0, "||mu_T - c|| = " + std::to_string(path.distance.back()));
    Progress progress_sf(std::cout, "SGD, score-function gradients", 1, steps);
    const SgdPath score = run_sgd(score_function_estimator(), mu0, c, setting, opt.seed, [&](int t, double loss) {
      require_finite_loss(loss, 0, t);
      progress_sf.batch(t, loss);
    });
    progress_sf.epoch(0, "||mu_T - c|| = " + std::to_string(score.distance.back()));

    // ---- 3. Estimator variance vs the number of samples N ------------------------------------------
    const ToyPoint start = lecture_point(0.0, 0.0);
    const VecD var_path = pathwise_variance(start.sigma), var_score = score_function_variance(start.mu - c);
    const Index max_batch = opt.quick ? 64 : 1024, reps = opt.quick ? 512 : 4096;
    const VarianceCurve curve_path = variance_curve(pathwise_estimator(), var_path, max_batch, reps, opt.seed * 1000 + 1);
    const VarianceCurve curve_score = variance_curve(score_function_estimator(), var_score, max_batch, reps, opt.seed * 1000 + 2);

    const double v_inf = lr / (1.0 - lr);  // (7.9) with N = 1, T -> infinity
    std::cout << std::defaultfloat << std::setprecision(4) << "\nSummary\n"
              << "  pathwise SGD:       mu_T = (" << path.final_mu(0) << ", " << path.final_mu(1) << "), ||mu_T - c|| = "
              << path.distance.back() << " (stationary RMS distance sqrt(2 lr / (1 - lr)) = " << std::sqrt(2.0 * v_inf) << ")\n"
              << "  score-function SGD: mu_T = (" << score.final_mu(0) << ", " << score.final_mu(1)
              << "), ||mu_T - c|| = " << score.distance.back()
              << (score.distance.back() > 100.0 ? "  (diverged: its noise grows like ||mu - c||^2)" : "") << "\n"
              << "  per-coordinate variance of one draw at mu = (0, 0): pathwise " << var_path(0)
              << ", score function " << var_score(0) << " (" << var_score(0) / var_path(0) << " times larger)\n"
              << "  the score function needs " << var_score(0) / var_path(0)
              << " times more samples for the same accuracy; at the target its variance is still "
              << score_function_variance(VecD::Zero(2))(0) << " (pathwise: 4)\n";

    // ---- 4. Figures ----------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    {
      // Range: the square around both trajectories and the target.
      double lo = -1.0, hi = 7.0;
      for (const SgdPath* p : {&path, &score})
        for (std::size_t k = 0; k < p->x.size(); ++k)
          if (p->distance[k] < 20.0)  // a diverging run leaves the picture
            lo = std::min({lo, p->x[k], p->y[k]}), hi = std::max({hi, p->x[k], p->y[k]});
      lo = std::floor(lo - 0.5), hi = std::ceil(hi + 0.5);
      plot::Series heat;
      heat.kind = plot::Series::Kind::Image;
      heat.columns.assign(3, {});
      const int cells = 120;
      for (int iy = 0; iy < cells; ++iy)
        for (int ix = 0; ix < cells; ++ix) {
          const double x = lo + (hi - lo) * (ix + 0.5) / cells, y = lo + (hi - lo) * (iy + 0.5) / cells;
          heat.columns[0].push_back(x);
          heat.columns[1].push_back(y);
          heat.columns[2].push_back(toy_loss((VecD(2) << x, y).finished(), VecD::Ones(2), c));
        }
      Panel traj;
      traj.title = "trajectories of mu over L(mu) = ||mu - c||^2 + 2";
      traj.xlabel = "mu_1";
      traj.ylabel = "mu_2";
      traj.square = true;
      traj.xrange = {lo, hi};
      traj.yrange = {lo, hi};
      traj.key = "bottom right opaque";
      traj.extra = {"set palette defined (0 '#1a1a4e', 1 '#3b6ea8', 2 '#9cc3e4', 3 '#f2f2f2')",
                    "set cblabel 'L(μ)'", "set style fill solid 1.0 noborder"};  // an opaque colour bar
      traj.series.push_back(heat);
      for (double r : {1.0, 2.0, 4.0, 6.0, 8.0, 12.0}) traj.series.push_back(contour(c, r));
      traj.series.push_back(plot::lines("score function (REINFORCE)", score.x, score.y, "lw 1.5 lc rgb '#d95f02'"));
      traj.series.push_back(plot::lines("pathwise (reparameterised)", path.x, path.y, "lw 2.5 lc rgb '#1b9e77'"));
      traj.series.push_back(plot::points("start (0, 0)", {0.0}, {0.0}, "pt 7 ps 1.5 lc rgb '#000000'"));
      traj.series.push_back(plot::points("target c = (5, 5)", {c(0)}, {c(1)}, "pt 3 ps 2.5 lw 3 lc rgb '#e7298a'"));

      Panel dist;
      dist.title = "distance to the target";
      dist.xlabel = "SGD step t";
      dist.ylabel = "||mu_t - c||";
      dist.logy = true;
      dist.key = "bottom left";  // below the curves, which stay above 10^-2
      std::vector<double> t(path.distance.size());
      for (std::size_t k = 0; k < t.size(); ++k) t[k] = double(k);
      dist.series.push_back(plot::lines("score function", t, score.distance, "lw 1.5 lc rgb '#d95f02'"));
      dist.series.push_back(plot::lines("pathwise", t, path.distance, "lw 2 lc rgb '#1b9e77'"));
      dist.series.push_back(plot::hline("pathwise, stationary RMS: √(2 lr/(1 - lr)) (7.9)", std::sqrt(2.0 * v_inf), 0.0,
                                        t.back(), "dt 2 lw 2 lc rgb '#444444'"));
      figs.draw("trajectories", plot::Figure{"SGD on the toy problem from the same start with the same noise (lr = " +
                                                 format_number(lr, 3) + ", one draw per step)",
                                             {traj, dist}, 1, 1300, 600});
    }
    {
      Panel var;
      var.title = "per-coordinate variance of the mean of N draws at mu = (0, 0): measured (" + std::to_string(reps) +
                  " repetitions per N) beside derived";
      var.xlabel = "number of samples N";
      var.ylabel = "variance of the gradient estimate";
      var.logx = var.logy = true;
      auto measured = [](std::string title, const VarianceCurve& v, std::string style) {
        plot::Series s;
        s.kind = plot::Series::Kind::ErrorBars;
        s.title = std::move(title);
        s.columns = {v.batch, v.measured, v.se};
        s.style = std::move(style);
        return s;
      };
      var.series.push_back(plot::lines("score function, derived (7.7)/N", curve_score.batch, curve_score.derived,
                                       "lw 2 lc rgb '#d95f02'"));
      var.series.push_back(measured("score function, measured (+- 1 SE)", curve_score, "lw 1.5 lc rgb '#7a3500'"));
      var.series.push_back(plot::lines("pathwise, derived 4/N (7.6)", curve_path.batch, curve_path.derived,
                                       "lw 2 lc rgb '#1b9e77'"));
      var.series.push_back(measured("pathwise, measured (+- 1 SE)", curve_path, "lw 1.5 lc rgb '#0b4e3a'"));
      // Open circles on the measured points, so they stay visible on the derived lines.
      var.series.push_back(plot::points("", curve_score.batch, curve_score.measured, "pt 6 ps 1.6 lc rgb '#7a3500'"));
      var.series.push_back(plot::points("", curve_path.batch, curve_path.measured, "pt 6 ps 1.6 lc rgb '#0b4e3a'"));
      var.key = "top right";
      var.xrange = {0.7, 1.5 * double(max_batch)};
      figs.draw("estimator_variance",
                plot::Figure{"Gradient-estimator variance vs samples: measured (" + std::to_string(reps) +
                                 " repetitions) beside derived",
                             {var}, 1, 900, 600});
    }
    {
      // Histograms of reparameterised samples against the densities they should follow (7.1).
      const SamplingCase s = sampling_case();
      const Index n = opt.quick ? 20000 : 200000;
      Rng rng(opt.seed, 7);
      MatD z(3, n);
      for (Index k = 0; k < n; ++k) {
        const VecD eps = (VecD(3) << rng.normal(), rng.normal(), rng.normal()).finished();
        z.col(k) = reparameterize(s.mu, s.log_var, eps);
      }
      std::vector<Panel> panels;
      for (Index i = 0; i < 3; ++i) {
        const double m = s.mu(i), sd = s.sigma(i), a = m - 4.0 * sd, b = m + 4.0 * sd;
        const int bins = 60;
        const double w = (b - a) / bins;
        std::vector<double> centre(bins), height(bins, 0.0), x, dens;
        for (int k = 0; k < bins; ++k) centre[std::size_t(k)] = a + (k + 0.5) * w;
        for (Index k = 0; k < n; ++k) {
          const int bin = int(std::floor((z(i, k) - a) / w));
          if (bin >= 0 && bin < bins) height[std::size_t(bin)] += 1.0 / (double(n) * w);
        }
        for (int k = 0; k <= 200; ++k) {
          const double xv = a + (b - a) * k / 200.0, r = (xv - m) / sd;
          x.push_back(xv);
          dens.push_back(std::exp(-0.5 * r * r) / (sd * std::sqrt(2.0 * M_PI)));
        }
        Panel p;
        std::ostringstream title;
        title << "z_" << i + 1 << ": mu = " << m << ", sigma = " << sd;
        p.title = title.str();
        p.xlabel = "z_" + std::to_string(i + 1);
        p.ylabel = "density";
        p.yrange = {0.0, 1.45 / (sd * std::sqrt(2.0 * M_PI))};
        p.key = "top left";
        p.series.push_back(plot::Series{plot::Series::Kind::Boxes, "samples mu + exp(log_var/2) eps",
                                        {centre, height}, "lc rgb '#9cc3e4'"});
        p.series.push_back(plot::lines("N(mu, sigma^2)", x, dens, "lw 2 lc rgb '#d95f02'"));
        panels.push_back(p);
      }
      figs.draw("sampling", plot::Figure{"Reparameterised samples z = mu + sigma eps follow N(mu, sigma^2) (n = " +
                                             std::to_string(n) + ")",
                                         panels, 1, 1400, 450});
    }
    return finish_chapter(figs, {&table});
  });
}
