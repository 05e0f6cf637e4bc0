// Chapter 13: generative adversarial networks.
//
// Follows docs/13-gan.md:
//   1. the derivation checks: the value function and the discriminator's loss, with the lecture's
//      +1/-1 labels (13.1); the optimal discriminator (13.2); V(D*, G) = -log 4 + 2 JSD (13.3); the
//      two generator losses and their gradients through both networks (13.4); the saturation of the
//      minimax loss (13.5); the mode-coverage measure (13.6);
//   2. the figures of the derivations: D* and V on the 1-D pair, the two gradients over D(x~);
//   3. GANs on 8 Gaussians on a ring, where every density is known: modes covered through training;
//   4. a small MLP GAN on Fashion-MNIST (or the sprites).
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "13_gan/checks.hpp"
#include "13_gan/gan.hpp"
#include "course/chapter.hpp"
#include "course/error.hpp"
#include "course/nn.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::ch13;
namespace po = boost::program_options;

namespace {

std::vector<double> row(const MatD& M, Index r) { return std::vector<double>(M.row(r).begin(), M.row(r).end()); }

// A square scatter panel of the columns of X, with the ring's modes and their 3-sd circles.
[[maybe_unused]] plot::Panel scatter(const std::string& title, const MatD& X, const std::string& colour) {
  plot::Panel p;
  p.title = title;
  p.square = true;
  p.xrange = std::make_pair(-2.5, 2.5);
  p.yrange = std::make_pair(-2.5, 2.5);
  p.key = "off";
  p.series.push_back(plot::points("", row(X, 0), row(X, 1), "pt 7 ps 0.3 lc rgb '" + colour + "'"));
  const GaussianMixture2D g = ring_data();
  const double r = mode_radius(g);
  for (const auto& m : g.means) {
    std::vector<double> cx, cy;
    for (int a = 0; a <= 40; ++a) {
      cx.push_back(m(0) + r * std::cos(2.0 * M_PI * a / 40.0));
      cy.push_back(m(1) + r * std::sin(2.0 * M_PI * a / 40.0));
    }
    p.series.push_back(plot::lines("", cx, cy, "lw 1 lc rgb '#888888'"));
  }
  return p;
}

void figures_of_the_derivations(plot::Figures& figs) {
  using plot::Panel;
  {
    // D* and the two densities on the 1-D pair; V(D_eps) along a perturbation.
    std::vector<double> xs, q, p, d;
    const auto D = optimal_1d();
    for (int i = 0; i <= 400; ++i) {
      const double x = -4.0 + 8.0 * i / 400.0;
      xs.push_back(x);
      q.push_back(kData1D.pdf(x));
      p.push_back(kGen1D.pdf(x));
      d.push_back(D(x));
    }
    Panel a;
    a.title = "data q = N(0, 1), generator p = N(1, 0.8^2)";
    a.xlabel = "x";
    a.yrange = std::make_pair(0.0, 1.05);
    a.series.push_back(plot::lines("q(x)", xs, q, "lw 2 lc rgb '#1f77b4'"));
    a.series.push_back(plot::lines("p(x)", xs, p, "lw 2 lc rgb '#d62728'"));
    a.series.push_back(plot::lines("D*(x) = q / (q + p)", xs, d, "lw 3 lc rgb '#000000'"));
    a.series.push_back(plot::hline("1/2", 0.5, -4.0, 4.0, "dt 3 lc rgb '#888888'"));
    Panel b;
    b.title = "V(D, G) along D = sigmoid(logit D* + eps)";
    b.xlabel = "eps";
    b.ylabel = "V (nats)";
    std::vector<double> es, vs;
    for (int i = 0; i <= 40; ++i) {
      const double eps = -2.0 + 4.0 * i / 40.0;
      es.push_back(eps);
      vs.push_back(value_by_quadrature([&](double x) {
        const double dx = D(x);
        return nn::sigmoid(std::log(dx) - std::log1p(-dx) + eps);
      }));
    }
    const double v_star = value_by_quadrature(D);
    b.series.push_back(plot::lines("V(D_eps, G)", es, vs, "lw 2"));
    b.series.push_back(plot::hline("V(D*, G) = -log 4 + 2 JSD", v_star, -2.0, 2.0, "dt 2 lw 2 lc rgb '#000000'"));
    b.series.push_back(plot::hline("-log 4 (p = q)", -std::log(4.0), -2.0, 2.0, "dt 3 lw 2 lc rgb '#888888'"));
    b.key = "bottom center";
    figs.draw("optimal_discriminator",
              plot::Figure{"The optimal discriminator (eq. 13.2) and the value at it (eq. 13.3)", {a, b}, 1, 1300, 520});
  }
  {
    // The generator's gradient dL/ds for the two losses over D(x~), and their ratio.
    std::vector<double> ds, mm, ns;
    for (int i = 0; i <= 120; ++i) {
      const double d = std::pow(10.0, -6.0 + 6.0 * i / 120.0) * (i == 120 ? 0.999 : 1.0);
      const VecD s = VecD::Constant(1, std::log(d) - std::log1p(-d));
      ds.push_back(d);
      mm.push_back(std::abs(generator_loss_minimax(s).grad(0)));
      ns.push_back(std::abs(generator_loss_nonsaturating(s).grad(0)));
    }
    Panel p;
    p.title = "|dL_G / ds| at a fake x~ with D(x~) = sigmoid(s)";
    p.xlabel = "D(x~): the discriminator's probability that the fake is real";
    p.ylabel = "|dL_G / ds|";
    p.logx = true;
    p.logy = true;
    p.yrange = std::make_pair(1e-6, 2.0);
    p.key = "bottom right";
    p.series.push_back(plot::lines("minimax log(1 - D): |grad| = D", ds, mm, "lw 3 lc rgb '#d62728'"));
    p.series.push_back(plot::lines("non-saturating -log D: |grad| = 1 - D", ds, ns, "lw 3 lc rgb '#1f77b4'"));
    p.extra.push_back("set label 1 'D rejects the fakes' at 3e-6,0.003 left");
    p.extra.push_back("set label 2 'D is fooled' at 0.05,0.003 left");
    figs.draw("saturation", plot::Figure{"Vanishing gradients: the minimax generator loss saturates (eq. 13.5)", {p}, 1, 900, 600});
  }
}

}  // namespace

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("13", "generative adversarial networks: the optimal discriminator, JSD, saturation, mode collapse");
    const CommonOptions opt = cli.parse(argc, argv);
    std::cout << "Chapter 13: generative adversarial networks\n";
    if (const std::string dir = find_image_data(opt.data); !dir.empty() && !std::filesystem::is_directory(dir))
      throw InputError("--data " + dir + ": no such directory");

    // ---- 1. The derivations, checked -----------------------------------------------------------
    Stopwatch clock;
    CheckTable table;
    table.add(check_eq_13_1_loss_gradient());
    table.add(check_eq_13_1_pm1_labels());
    table.add(check_eq_13_1_stable());
    table.add(check_eq_13_1_network_gradient());
    table.add(check_eq_13_2_maximises_value());
    table.add(check_eq_13_2_trained_discriminator());
    table.add(check_eq_13_2_half_when_equal());
    table.add(check_eq_13_3_discrete());
    table.add(check_eq_13_3_continuous());
    table.add(check_eq_13_3_limits());
    table.add(check_eq_13_4_loss_gradient(generator_loss_nonsaturating, "non-saturating"));
    table.add(check_eq_13_4_loss_gradient(generator_loss_minimax, "minimax"));
    table.add(check_eq_13_4_generator_gradient(generator_loss_nonsaturating, "non-saturating"));
    table.add(check_eq_13_4_generator_gradient(generator_loss_minimax, "minimax"));
    table.add(check_eq_13_5_closed_forms());
    table.add(check_eq_13_5_ratio());
    table.add(check_eq_13_6_counts_exact());
    table.add(check_eq_13_6_shares(ring_samples(4000, opt.seed + 136), "the ring's own samples"));
    table.print(std::cout, "Verification");
    std::cout << "  checks: " << std::fixed << std::setprecision(1) << clock.seconds() << " s\n"
              << std::defaultfloat << std::setprecision(4);
    const double v_star = value_by_quadrature(optimal_1d());
    std::cout << "  1-D pair q = N(0, 1), p = N(1, 0.8^2): V(D*, G) = " << v_star
              << " nats, JSD(q || p) = (V + log 4) / 2 = " << (v_star + std::log(4.0)) / 2.0 << " nats\n";
    record_metric("v_star", v_star, 4);
    record_metric("jsd_1d", (v_star + std::log(4.0)) / 2.0, 4);

    plot::Figures figs = make_figures(opt);
    figures_of_the_derivations(figs);
    return finish_chapter(figs, {&table});
  });
}
