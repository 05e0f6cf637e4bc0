// Chapter 6: the KL divergence between Gaussians in closed form.
//
// Follows docs/06-gaussian-kl.md:
//   1. the derivation checks: the log-density (6.1), the three identities (6.2-6.4), the two
//      expectations (6.5), the general closed form (6.6), the VAE's diagonal form (6.7), its
//      gradient (6.8), KL >= 0 (6.9) and its asymmetry (6.10);
//   2. Monte Carlo estimates of the KL converging to the closed form as the sample grows;
//   3. the KL of a 1-D Gaussian from N(0, 1) over (mu, log sigma^2), and gradient descent on it
//      with the gradient of exercise 6.2 (what the VAE's KL term does to one latent unit);
//   4. the asymmetry KL(p||q) vs KL(q||p) along a family of variances;
//   5. the lecture figures.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "06_gaussian_kl/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch06;
namespace po = boost::program_options;

namespace {

// N values 10^2 ... 10^max_log10 on a log grid, `per_decade` per decade.
std::vector<Index> log_grid(double max_log10, int per_decade) {
  std::vector<Index> n;
  for (int i = 0; 2.0 + double(i) / per_decade <= max_log10 + 1e-9; ++i)
    n.push_back(Index(std::llround(std::pow(10.0, 2.0 + double(i) / per_decade))));
  return n;
}

// Monte Carlo estimates of KL(q0 || q1) at each sample size, each from its own seed.
struct Convergence {
  std::vector<double> n, mean, se;
};
Convergence converge(const Gaussian& q0, const Gaussian& q1, const std::vector<Index>& sizes, std::uint64_t seed) {
  Convergence c;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const McEstimate e = mc_kl(q0, q1, sizes[i], seed + 1000 * i);
    c.n.push_back(double(sizes[i]));
    c.mean.push_back(e.mean);
    c.se.push_back(e.se);
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("06", "the KL divergence between Gaussians in closed form");
    double max_log10 = 0.0;
    int descent_steps = 60;
    cli.chapter_options().add_options()
      ("max-samples-log10", po::value<double>(&max_log10), "largest Monte Carlo sample 10^x in the convergence figure (default 6.5, --quick 5)")
      ("descent-steps", po::value<int>(&descent_steps)->default_value(60), "gradient-descent steps on the 1-D KL surface");
    const CommonOptions opt = cli.parse(argc, argv);
    if (!cli.vm().count("max-samples-log10")) max_log10 = opt.quick ? 5.0 : 6.5;
    if (max_log10 < 2.0 || max_log10 > 8.0) throw InputError("--max-samples-log10 must be between 2 and 8");
    if (descent_steps < 1 || descent_steps > 100000) throw InputError("--descent-steps must be between 1 and 100000");

    std::cout << "Chapter 6: the KL divergence between Gaussians in closed form\n";
    // This chapter uses no image data, but a --data that names nothing is still a mistake.
    if (const std::string dir = find_image_data(opt.data); !dir.empty() && !std::filesystem::is_directory(dir))
      throw InputError("--data " + dir + ": no such directory");

    // ---- 1. The derivations, checked -----------------------------------------------------------
    Stopwatch clock;
    const McSizes sizes = opt.quick ? McSizes{1 << 16, 1 << 18} : McSizes{1 << 18, 1 << 21};
    CheckTable table;
    for (auto& row : all_checks(sizes, opt.seed)) table.add(row);
    table.print(std::cout, "Verification (Monte Carlo: " + std::to_string(sizes.moments) + " samples for moments, " +
                               std::to_string(sizes.kl) + " for KL; seed " + std::to_string(opt.seed) + ")");
    std::cout << "  checks: " << clock.seconds() << " s\n";

    // ---- 2. Monte Carlo converging to the closed form ------------------------------------------
    clock = Stopwatch();
    const Pair pair = general_pair();
    const DiagPosterior post = vae_posterior();
    const Gaussian q_post = diagonal_gaussian(post.mu, post.log_var), prior = standard_normal(post.mu.size());
    const std::vector<Index> grid = log_grid(max_log10, 4);
    const Convergence general = converge(pair.q0, pair.q1, grid, opt.seed + 100);
    const Convergence diag = converge(q_post, prior, grid, opt.seed + 200);
    const double kl_general = kl_gaussian(pair.q0.mean(), pair.q0.cov(), pair.q1.mean(), pair.q1.cov());
    const double kl_diag = kl_diag_std_normal(post.mu, post.log_var);
    std::cout << "\nMonte Carlo at " << grid.size() << " sample sizes up to " << grid.back() << ": " << clock.seconds()
              << " s\n";

    // ---- 3. The 1-D KL surface and gradient descent on it --------------------------------------
    // KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (mu^2 + e^v - 1 - v), v = log sigma^2 (eq. 6.7, k = 1).
    const double mu_lo = -3.0, mu_hi = 3.0, v_lo = -5.0, v_hi = 3.0;
    const int grid_mu = opt.quick ? 61 : 241, grid_v = opt.quick ? 81 : 321;
    std::vector<double> sx, sy, sval;
    double surface_min = INFINITY, argmin_mu = NAN, argmin_v = NAN;
    for (int j = 0; j < grid_v; ++j) {
      const double v = v_lo + (v_hi - v_lo) * j / (grid_v - 1);
      for (int i = 0; i < grid_mu; ++i) {
        const double mu = mu_lo + (mu_hi - mu_lo) * i / (grid_mu - 1);
        const double kl = kl_diag_std_normal(vec1(mu), vec1(v));
        sx.push_back(mu);
        sy.push_back(v);
        sval.push_back(kl);
        if (kl < surface_min) surface_min = kl, argmin_mu = mu, argmin_v = v;
      }
    }
    // Gradient descent from a confident, off-centre posterior (mu, v) = (2.5, -4.5), step 0.3.
    std::vector<double> path_mu{2.5}, path_v{-4.5}, path_kl;
    {
      VecD mu = vec1(path_mu[0]), v = vec1(path_v[0]);
      const double step = 0.3;
      Progress progress(std::cout, "gradient descent on KL(N(mu, s^2) || N(0, 1))", 1, descent_steps);
      for (int t = 0; t < descent_steps; ++t) {
        const double kl = kl_diag_std_normal(mu, v);
        require_finite_loss(kl, 0, t, "KL");
        path_kl.push_back(kl);
        const KlDiagGradient g = kl_diag_std_normal_gradient(mu, v);
        mu -= step * g.mu;
        v -= step * g.log_var;
        path_mu.push_back(mu(0));
        path_v.push_back(v(0));
        progress.batch(t, kl);
      }
      path_kl.push_back(kl_diag_std_normal(mu, v));
      progress.epoch(0, "KL " + std::to_string(path_kl.front()) + " -> " + std::to_string(path_kl.back()));
    }

    // ---- 4. Asymmetry: KL(N(0,1) || N(0,s^2)) vs KL(N(0,s^2) || N(0,1)) ------------------------
    std::vector<double> scale, forward, reverse;
    for (int i = 0; i <= 200; ++i) {
      const double s = std::pow(10.0, -1.0 + 2.0 * i / 200.0);
      scale.push_back(s);
      forward.push_back(kl_gaussian(vec1(0), mat1(1), vec1(0), mat1(s * s)));
      reverse.push_back(kl_gaussian(vec1(0), mat1(s * s), vec1(0), mat1(1)));
    }

    // ---- Summary ------------------------------------------------------------------------------
    std::cout << "\nSummary\n"
              << "  general KL(q0 || q1), k = 3: closed form " << kl_general << "; Monte Carlo with " << grid.back()
              << " samples " << general.mean.back() << " +- " << general.se.back() << " (1 SE)\n"
              << "  VAE KL(q || N(0, I)), k = 8: closed form " << kl_diag << "; Monte Carlo " << diag.mean.back()
              << " +- " << diag.se.back() << "\n"
              << "  the standard error falls as 1/sqrt(N): " << general.se.front() << " at N = " << grid.front()
              << ", " << general.se.back() << " at N = " << grid.back() << "\n"
              << "  1-D KL surface: smallest value " << surface_min << " at (mu, log s^2) = (" << argmin_mu << ", "
              << argmin_v << "), the prior itself\n"
              << "  gradient descent, " << descent_steps << " steps of 0.3 from (2.5, -4.5): KL " << path_kl.front()
              << " -> " << path_kl.back() << " at (" << path_mu.back() << ", " << path_v.back() << ")\n"
              << "  asymmetry: KL(N(0,1) || N(0,4)) = " << kl_gaussian(vec1(0), mat1(1), vec1(0), mat1(4))
              << " but KL(N(0,4) || N(0,1)) = " << kl_gaussian(vec1(0), mat1(4), vec1(0), mat1(1)) << "\n";

    // ---- 5. Figures ----------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    auto convergence_panel = [](std::string title, const Convergence& c, double closed_form) {
      Panel p;
      p.title = std::move(title);
      p.xlabel = "Monte Carlo sample size N";
      p.ylabel = "KL estimate (nats)";
      p.logx = true;
      std::vector<double> lo5, hi5, lo2, hi2;
      for (std::size_t i = 0; i < c.n.size(); ++i) {
        lo5.push_back(c.mean[i] - tolerance::z * c.se[i]);
        hi5.push_back(c.mean[i] + tolerance::z * c.se[i]);
        lo2.push_back(c.mean[i] - 1.96 * c.se[i]);
        hi2.push_back(c.mean[i] + 1.96 * c.se[i]);
      }
      p.series.push_back(plot::band("mean +- 5 SE (the check's interval)", c.n, lo5, hi5, "lc rgb '#9ecae1'"));
      p.series.push_back(plot::band("mean +- 1.96 SE (95%)", c.n, lo2, hi2, "lc rgb '#3182bd'"));
      p.series.push_back(plot::Series{plot::Series::Kind::LinesPoints, "Monte Carlo mean", {c.n, c.mean}, "lc rgb '#08306b'"});
      p.series.push_back(plot::lines("closed form", {c.n.front(), c.n.back()}, {closed_form, closed_form},
                                     "dt 2 lw 2 lc rgb '#d62728'"));
      p.xrange = {c.n.front(), c.n.back()};
      p.key = "bottom right";
      return p;
    };
    Panel rate;
    rate.title = "the error shrinks as 1 / sqrt(N)";
    rate.xlabel = "Monte Carlo sample size N";
    rate.ylabel = "|estimate - closed form| and standard error (nats)";
    rate.logx = rate.logy = true;
    rate.xrange = {general.n.front(), general.n.back()};
    rate.key = "top right";
    {
      std::vector<double> err_g, err_d, ref;
      for (std::size_t i = 0; i < general.n.size(); ++i) {
        err_g.push_back(std::max(std::abs(general.mean[i] - kl_general), 1e-12));
        err_d.push_back(std::max(std::abs(diag.mean[i] - kl_diag), 1e-12));
        ref.push_back(general.se.front() * std::sqrt(general.n.front() / general.n[i]));
      }
      rate.series.push_back(plot::lines("SE, general k = 3", general.n, general.se, "lc rgb '#08306b'"));
      rate.series.push_back(plot::points("|error|, general k = 3", general.n, err_g, "pt 7 ps 0.8 lc rgb '#08306b'"));
      rate.series.push_back(plot::lines("SE, VAE k = 8", diag.n, diag.se, "lc rgb '#31a354'"));
      rate.series.push_back(plot::points("|error|, VAE k = 8", diag.n, err_d, "pt 5 ps 0.8 lc rgb '#31a354'"));
      rate.series.push_back(plot::lines("slope -1/2", general.n, ref, "dt 2 lw 1 lc rgb '#666666'"));
    }
    figs.draw("mc_convergence",
              plot::Figure{"Monte Carlo estimates of E_q0[log q0 - log q1] converge to the closed form",
                           {convergence_panel("general form (6.6), k = 3", general, kl_general),
                            convergence_panel("VAE form (6.7), diagonal q vs N(0, I), k = 8", diag, kl_diag), rate},
                           1, 1800, 540});
    {
      Panel heat;
      heat.title = "KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - 1 - log s^2) / 2";
      heat.xlabel = "mean mu";
      heat.ylabel = "log-variance log s^2";
      heat.xrange = {mu_lo, mu_hi};
      heat.yrange = {v_lo, v_hi};
      heat.key = "top right";
      // viridis: dark = small KL, yellow = large; colours saturate at 5 nats.
      heat.extra = {"set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')",
                    "set cbrange [0:5]", "set cblabel 'KL (nats)'", "set colorbox", "set style fill solid 1.0"};
      heat.series.push_back(plot::Series{plot::Series::Kind::Image, "", {sx, sy, sval}, ""});
      // Level sets in closed form: mu = +-sqrt(2c - (e^v - 1 - v)) where the root is real.
      bool first = true;
      for (double c : {0.1, 0.5, 1.0, 2.0, 4.0}) {
        std::vector<double> cx, cy;
        for (int side : {1, -1}) {
          std::vector<double> hx, hy;
          for (int j = 0; j <= 4000; ++j) {
            const double v = v_lo + (v_hi - v_lo) * j / 4000.0;
            const double r = 2.0 * c - (std::exp(v) - 1.0 - v);
            if (r >= 0) hx.push_back(side * std::sqrt(r)), hy.push_back(v);
          }
          if (side < 0) std::reverse(hx.begin(), hx.end()), std::reverse(hy.begin(), hy.end());
          cx.insert(cx.end(), hx.begin(), hx.end());
          cy.insert(cy.end(), hy.begin(), hy.end());
        }
        if (!cx.empty()) cx.push_back(cx.front()), cy.push_back(cy.front());
        heat.series.push_back(plot::lines(first ? "KL = 0.1, 0.5, 1, 2, 4" : "", cx, cy,
                                          "lw 1 lc rgb '#ffffff'"));
        first = false;
      }
      heat.series.push_back(plot::lines("gradient descent (6.8)", path_mu, path_v,
                                        "lw 2 lc rgb '#ff7f0e'"));
      heat.series.push_back(plot::points("minimum: q = N(0, 1)", {0.0}, {0.0}, "pt 3 ps 3 lw 3 lc rgb '#d62728'"));
      Panel slices;
      slices.title = "slices through the minimum";
      slices.xlabel = "mu (solid) or log s^2 (dashed)";
      slices.ylabel = "KL (nats)";
      slices.yrange = {0.0, 5.0};
      slices.key = "top center";
      std::vector<double> t, kl_mu, kl_v;
      for (int i = 0; i <= 400; ++i) {
        const double x = -5.0 + 8.0 * i / 400.0;
        t.push_back(x);
        kl_mu.push_back(kl_diag_std_normal(vec1(x), vec1(0.0)));
        kl_v.push_back(kl_diag_std_normal(vec1(0.0), vec1(x)));
      }
      slices.series.push_back(plot::lines("KL along mu (log s^2 = 0): mu^2 / 2", t, kl_mu));
      slices.series.push_back(plot::lines("KL along log s^2 (mu = 0): (e^v - 1 - v) / 2", t, kl_v, "dt 2"));
      figs.draw("kl_surface", plot::Figure{"The VAE's KL term for one latent unit, and its minimum at the prior",
                                           {heat, slices}, 1, 1300, 560});
    }
    {
      Panel p;
      p.title = "KL is not symmetric: p = N(0, 1), q = N(0, s^2)";
      p.xlabel = "standard deviation s of q";
      p.ylabel = "KL (nats)";
      p.logx = true;
      p.logy = true;
      p.yrange = {1e-3, 1e2};
      p.key = "top center";
      std::vector<double> f, r;
      for (std::size_t i = 0; i < scale.size(); ++i) f.push_back(std::max(forward[i], 1e-12)), r.push_back(std::max(reverse[i], 1e-12));
      p.series.push_back(plot::lines("KL(p || q): q must cover p", scale, f));
      p.series.push_back(plot::lines("KL(q || p): q must stay inside p", scale, r, "dt 2"));
      p.series.push_back(plot::points("s = 2: 0.318 vs 0.807 (6.10)", {2.0, 2.0},
                                      {kl_gaussian(vec1(0), mat1(1), vec1(0), mat1(4)), kl_gaussian(vec1(0), mat1(4), vec1(0), mat1(1))},
                                      "pt 7 ps 1.2 lc rgb '#d62728'"));
      figs.draw("asymmetry", plot::Figure{"", {p}, 1, 800, 560});
    }
    return finish_chapter(figs, {&table});
  });
}
