// Chapter 13: generative adversarial networks.
//
// Follows docs/13-gan.md:
//   1. the derivation checks: the value function and the discriminator's loss, with the lecture's
//      +1/-1 labels (13.1); the optimal discriminator (13.2); V(D*, G) = -log 4 + 2 JSD (13.3); the
//      two generator losses and their gradients through both networks (13.4); the saturation of the
//      minimax loss (13.5); the mode-coverage measure (13.6);
//   2. the figures of the derivations: D* and V on the 1-D pair, the two gradients over D(x~);
//   3. GANs on 8 Gaussians on a ring, where every density is known: modes covered through training,
//      a collapse and what changes it, chapter 8's VAE beside them;
//   4. a small MLP GAN on Fashion-MNIST (or the sprites).
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "13_gan/checks.hpp"
#include "13_gan/gan.hpp"
#include "13_gan/ring.hpp"
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
plot::Panel scatter(const std::string& title, const MatD& X, const std::string& colour) {
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

// "5 D steps, lr_g 1e-4": what the variant changes from the base run.
std::string variant_name(const GanConfig& v, const GanConfig& base) {
  std::vector<std::string> parts;
  if (v.objective != base.objective) parts.push_back(v.objective == GeneratorObjective::Minimax ? "minimax" : "non-saturating");
  if (v.d_steps != base.d_steps) parts.push_back(std::to_string(v.d_steps) + " D steps");
  if (v.latent != base.latent) parts.push_back(std::to_string(v.latent) + "-D noise");
  if (v.hidden != base.hidden) parts.push_back(std::to_string(v.hidden) + " hidden");
  if (v.lr_d != base.lr_d) parts.push_back("lr_D " + format_number(v.lr_d));
  if (v.lr_g != base.lr_g) parts.push_back("lr_G " + format_number(v.lr_g));
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p;
  if (s.empty()) return "non-saturating (again)";
  return v.lr_d < v.lr_g ? "slow D: " + s : s;
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
    // The generator's gradient dL/da (a the logit) for the two losses over D(x~), and their ratio.
    std::vector<double> ds, mm, ns;
    for (int i = 0; i <= 120; ++i) {
      const double d = std::pow(10.0, -6.0 + 6.0 * i / 120.0) * (i == 120 ? 0.999 : 1.0);
      const VecD s = VecD::Constant(1, std::log(d) - std::log1p(-d));
      ds.push_back(d);
      mm.push_back(std::abs(generator_loss_minimax(s).grad(0)));
      ns.push_back(std::abs(generator_loss_nonsaturating(s).grad(0)));
    }
    Panel p;
    p.title = "|dL_G / da| at a fake x~ with logit a, D(x~) = sigmoid(a)";
    p.xlabel = "D(x~): the discriminator's probability that the fake is real";
    p.ylabel = "|dL_G / da|";
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
    int ring_epochs = 0, image_epochs = 0;
    Index images = 0, image_hidden = 0, image_layers = 2;
    double image_lr = 2e-4;
    GanConfig variant = ring_config(0);  // the third ring GAN: a change to the first one
    std::string variant_loss = "ns";
    variant.lr_d = 1e-4;  // a discriminator 10x slower than the generator: the collapse of the doc
    cli.chapter_options().add_options()
      ("variant-d-steps", po::value<int>(&variant.d_steps), "third ring GAN: discriminator steps per generator step (default 1)")
      ("variant-latent", po::value<Index>(&variant.latent), "third ring GAN: noise dimension (default 2)")
      ("variant-hidden", po::value<Index>(&variant.hidden), "third ring GAN: hidden units per layer (default 128)")
      ("variant-lr-d", po::value<double>(&variant.lr_d), "third ring GAN: discriminator learning rate (default 1e-4)")
      ("variant-lr-g", po::value<double>(&variant.lr_g), "third ring GAN: generator learning rate (default 1e-3)")
      ("variant-loss", po::value<std::string>(&variant_loss), "third ring GAN: generator loss, ns or mm (default ns)")
      ("ring-epochs", po::value<int>(&ring_epochs), "epochs of each GAN on the ring (default 40, --quick 4)")
      ("image-epochs", po::value<int>(&image_epochs), "epochs of the image GAN (default 20, --quick 1)")
      ("images", po::value<Index>(&images), "training images of the image GAN (default 60000, --quick 1000)")
      ("image-hidden", po::value<Index>(&image_hidden), "image GAN: hidden units per layer of both networks (default 256, --quick 64)")
      ("image-layers", po::value<Index>(&image_layers)->default_value(2), "image GAN: hidden layers of each network")
      ("image-lr", po::value<double>(&image_lr)->default_value(2e-4), "image GAN: Adam learning rate of both networks");
    const CommonOptions opt = cli.parse(argc, argv);
    if (!cli.vm().count("ring-epochs")) ring_epochs = opt.quick ? 4 : 40;
    if (!cli.vm().count("image-epochs")) image_epochs = opt.epochs_or(opt.quick ? 1 : 20);
    if (!cli.vm().count("images")) images = opt.quick ? 1000 : 60000;
    if (ring_epochs < 1 || ring_epochs > 10000) throw InputError("--ring-epochs must be between 1 and 10000");
    if (image_epochs < 0 || image_epochs > 1000) throw InputError("--image-epochs (or --epochs) must be between 0 and 1000");
    if (images < 64) throw InputError("--images must be at least 64");
    if (!cli.vm().count("image-hidden")) image_hidden = opt.quick ? 64 : 256;
    if (image_hidden < 1 || image_hidden > 4096 || image_layers < 1 || image_layers > 8)
      throw InputError("--image-hidden must be in 1..4096 and --image-layers in 1..8");
    if (!(image_lr > 0 && image_lr < 1)) throw InputError("--image-lr must be in (0, 1)");
    if (variant_loss != "ns" && variant_loss != "mm") throw InputError("--variant-loss must be ns or mm");
    if (variant.d_steps < 1 || variant.d_steps > 100) throw InputError("--variant-d-steps must be between 1 and 100");
    if (variant.latent < 1 || variant.latent > 1024 || variant.hidden < 1 || variant.hidden > 4096)
      throw InputError("--variant-latent must be in 1..1024 and --variant-hidden in 1..4096");
    if (!(variant.lr_d > 0 && variant.lr_d < 1 && variant.lr_g > 0 && variant.lr_g < 1))
      throw InputError("--variant-lr-d and --variant-lr-g must be in (0, 1)");
    variant.epochs = ring_epochs;
    variant.objective = variant_loss == "ns" ? GeneratorObjective::NonSaturating : GeneratorObjective::Minimax;
    std::cout << "Chapter 13: generative adversarial networks\n";
    // Read the data first, so a bad --data fails at once.
    const TrainTest data = load_image_data(opt.data, std::cout);

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

    // ---- 2. GANs on the ring: mode coverage through training -------------------------------------
    const GaussianMixture2D ring = ring_data();
    Rng data_rng(opt.seed + 200);
    const MatF ring_train = ring.sample(20000, data_rng).cast<float>();
    const Index eval_n = 2000;
    std::cout << "\nGANs on 8 Gaussians on a ring (20,000 training points). Mode coverage on " << eval_n
              << " fresh samples: a mode is covered with >= " << coverage_min_count(ring, eval_n)
              << " samples within 3 sd of it (a perfect sampler covers all 8 except with probability 1e-6)\n";
    const std::vector<int> shots = {0, 1, ring_epochs / 8, ring_epochs / 4, ring_epochs / 2, ring_epochs};
    std::vector<RingRun> runs;
    {
      GanConfig ns = ring_config(ring_epochs);
      GanConfig mm = ns;
      mm.objective = GeneratorObjective::Minimax;
      runs.push_back(train_ring_gan("non-saturating", ns, ring_train, opt.seed + 13, eval_n, shots, &std::cout));
      runs.push_back(train_ring_gan("minimax", mm, ring_train, opt.seed + 13, eval_n, shots, &std::cout));
      runs.push_back(train_ring_gan(variant_name(variant, ns), variant, ring_train, opt.seed + 13, eval_n, shots, &std::cout));
    }
    const RingVae vae = train_ring_vae(ring_train, opt.quick ? 5 : 40, opt.seed + 80, eval_n);
    const ModeCoverage vae_cov = mode_coverage(ring, vae.samples);
    std::cout << "\nRing summary (" << eval_n << " samples each):\n";
    for (const RingRun& r : runs)
      std::cout << "  GAN " << std::left << std::setw(28) << r.name << std::right << " modes covered " << r.final.covered
                << "/8, on some mode " << std::setprecision(3) << 100 * r.final.on_mode << "% (perfect: "
                << 100 * r.final.expected_on_mode << "%), " << r.history.seconds << " s\n";
    std::cout << "  VAE (chapter 8, Gaussian decoder)  modes covered " << vae_cov.covered << "/8, on some mode "
              << 100 * vae_cov.on_mode << "%, decoder sd " << vae.noise_sd << ", " << vae.seconds << " s\n";
    record_metric("ns_modes", runs[0].final.covered, 0);
    record_metric("ns_on_mode", 100 * runs[0].final.on_mode, 1);
    record_metric("mm_modes", runs[1].final.covered, 0);
    record_metric("mm_on_mode", 100 * runs[1].final.on_mode, 1);
    record_metric("var_modes", runs[2].final.covered, 0);
    record_metric("var_on_mode", 100 * runs[2].final.on_mode, 1);
    const auto first_all = [](const RingRun& r) {
      for (std::size_t e = 0; e < r.covered.size(); ++e)
        if (r.covered[e] == 8) return double(e + 1);
      return -1.0;
    };
    record_metric("ns_first_all", first_all(runs[0]), 0);
    record_metric("mm_first_all", first_all(runs[1]), 0);
    record_metric("var_max_modes", *std::max_element(runs[2].covered.begin(), runs[2].covered.end()), 0);
    record_metric("ring_epochs", ring_epochs, 0);
    record_metric("mm_min_d_fake", *std::min_element(runs[1].history.d_fake.begin(), runs[1].history.d_fake.end()), 3);
    record_metric("ns_min_d_fake", *std::min_element(runs[0].history.d_fake.begin(), runs[0].history.d_fake.end()), 3);
    record_metric("vae_modes", vae_cov.covered, 0);
    record_metric("vae_on_mode", 100 * vae_cov.on_mode, 1);
    record_metric("vae_sd", vae.noise_sd, 3);

    // ---- 3. A small MLP GAN on images ------------------------------------------------------------
    const ImageSet train_images = data.train.head(std::min(images, data.train.size()));
    GanConfig ic;
    ic.data_dim = train_images.dim();
    ic.latent = opt.quick ? 16 : 64;
    ic.hidden = image_hidden;
    ic.layers = image_layers;
    ic.generator_out = nn::Activation::Sigmoid;
    ic.lr_d = ic.lr_g = image_lr;
    ic.batch = 64;
    ic.epochs = image_epochs;
    std::vector<int> image_shots = {0};
    for (int e : {1, image_epochs / 10, image_epochs / 4, image_epochs / 2, image_epochs})
      if (e > image_shots.back()) image_shots.push_back(e);
    Rng image_init(opt.seed + 300);
    Gan image_gan = make_gan(ic, image_init);
    std::cout << "\nImage GAN on " << train_images.size() << " " << data.source << " images: Gen " << image_gan.gen.describe()
              << "; Disc " << image_gan.disc.describe() << "; Adam lr " << format_number(image_lr) << ", beta1 0.5, batches of 64, " << image_epochs
              << " epochs\n";
    const GanHistory image_history =
        image_epochs > 0 ? train_gan(image_gan, images_of(train_images), opt.seed + 301, image_shots, 12, {}, &std::cout) : GanHistory{};
    if (image_epochs > 0) {
      std::cout << "  " << image_history.seconds << " s; last epoch: mean D(real) " << image_history.d_real.back()
                << ", mean D(fake) " << image_history.d_fake.back() << ", L_D " << image_history.d_loss.back() << ", L_G "
                << image_history.g_loss.back() << "\n";
      record_metric("image_seconds", image_history.seconds, 1);
      record_metric("image_d_real", image_history.d_real.back(), 3);
      record_metric("image_d_fake", image_history.d_fake.back(), 3);
    }

    // ---- 4. Figures ------------------------------------------------------------------------------
    using plot::Panel;
    {
      std::vector<Panel> panels;
      const std::vector<std::string> colours = {"#1f77b4", "#d62728", "#2ca02c"};
      for (std::size_t k = 0; k < runs.size(); ++k)
        for (std::size_t s = 0; s < runs[k].history.snapshots.size(); ++s)
          panels.push_back(scatter(runs[k].name + ", epoch " + std::to_string(shots[s]), runs[k].history.snapshots[s], colours[k]));
      figs.draw("ring_training", plot::Figure{"Samples of Gen through training (" + std::to_string(eval_n) +
                                                  " fixed z; circles: 3 sd around each mode)",
                                              panels, int(runs.size()), 1800, 320 * int(runs.size()) + 40});
    }
    {
      std::vector<Panel> panels;
      Rng r(opt.seed + 400);
      panels.push_back(scatter("data (8 modes)", ring.sample(eval_n, r), "#000000"));
      const std::vector<std::string> colours = {"#1f77b4", "#d62728", "#2ca02c"};
      for (std::size_t k = 0; k < runs.size(); ++k)
        panels.push_back(scatter("GAN " + runs[k].name + ": " + std::to_string(runs[k].final.covered) + "/8 modes",
                                 runs[k].samples, colours[k]));
      panels.push_back(scatter("VAE: " + std::to_string(vae_cov.covered) + "/8 modes, " +
                                   std::to_string(int(std::lround(100 * vae_cov.on_mode))) + "% on a mode",
                               vae.samples, "#9467bd"));
      figs.draw("ring_final", plot::Figure{"After training: GANs beside a VAE on the same data", panels, 1, 1800, 400});
    }
    {
      Panel a, b;
      a.title = "modes covered (of 8)";
      a.xlabel = "epoch";
      a.yrange = std::make_pair(0.0, 8.5);
      a.key = "bottom right";
      b.title = "share of samples on some mode";
      b.xlabel = "epoch";
      b.yrange = std::make_pair(0.0, 1.05);
      b.key = "bottom right";
      for (const RingRun& r : runs) {
        a.series.push_back(plot::lines(r.name, r.history.epoch, r.covered, "lw 2"));
        b.series.push_back(plot::lines(r.name, r.history.epoch, r.on_mode, "lw 2"));
      }
      b.series.push_back(plot::hline("perfect sampler", runs[0].final.expected_on_mode, 1.0, double(ring_epochs), "dt 2 lc rgb '#000000'"));
      figs.draw("ring_coverage", plot::Figure{"Mode coverage through training (eq. 13.6)", {a, b}, 1, 1300, 480});
    }
    if (image_epochs > 0) {
      plot::Montage m;
      m.title = "Image GAN: Gen(z) for 12 fixed z through training (top: before training)";
      m.image_rows = train_images.rows;
      m.image_cols = train_images.cols;
      for (std::size_t s = 0; s < image_history.snapshots.size(); ++s) {
        m.rows.push_back(plot::columns(image_history.snapshots[s], 12));
        m.row_labels.push_back("epoch " + std::to_string(image_shots[s]));
      }
      figs.draw("image_samples", m);
      Panel a;
      a.title = "the discriminator through training (mean over each epoch)";
      a.xlabel = "epoch";
      a.ylabel = "mean D(x)";
      a.yrange = std::make_pair(0.0, 1.0);
      a.series.push_back(plot::lines("D(real)", image_history.epoch, image_history.d_real, "lw 2"));
      a.series.push_back(plot::lines("D(fake)", image_history.epoch, image_history.d_fake, "lw 2"));
      a.series.push_back(plot::hline("1/2 (D* when p = q)", 0.5, 1.0, double(image_epochs), "dt 3 lc rgb '#888888'"));
      figs.draw("image_training", plot::Figure{"Image GAN: the discriminator's view", {a}, 1, 800, 480});
    }
    return finish_chapter(figs, {&table});
  });
}
