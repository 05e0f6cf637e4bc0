// Chapter 10: the VQ-VAE -- a discrete code by nearest-neighbour quantisation.
//
// Follows docs/10-vq-vae.md:
//   1. the derivation checks on a small problem in double (eqs. 10.1-10.6), and the backward pass
//      of a small VqVae<double> against central differences (eqs. 10.3-10.4);
//   2. two VQ-VAEs trained on Fashion-MNIST from the same start: the codebook learned by the
//      codebook loss (eq. 10.4) and by exponential moving averages (eq. 10.5), with dead codes
//      restarted from encoder outputs;
//   3. test reconstruction, code usage and perplexity;
//   4. the lecture figures.
#include <algorithm>
#include <functional>
#include <iomanip>
#include <iostream>

#include "10_vq_vae/checks.hpp"
#include "10_vq_vae/vq_vae.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch10;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("10", "the VQ-VAE: nearest-neighbour quantisation, straight-through, EMA codebook");
    VqConfig cfg;
    long train_images = 0;
    cli.chapter_options().add_options()
      ("codes", po::value<Index>(&cfg.codes)->default_value(64), "codebook size K")
      ("positions", po::value<Index>(&cfg.positions)->default_value(8), "code vectors per image M")
      ("dim", po::value<Index>(&cfg.dim)->default_value(8), "dimension D of a code vector")
      ("train-images", po::value<long>(&train_images), "training images used (default all, --quick 2000)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (cfg.codes < 2 || cfg.codes > 4096) throw InputError("--codes must be between 2 and 4096");
    if (cfg.positions < 1 || cfg.positions > 64) throw InputError("--positions must be between 1 and 64");
    if (cfg.dim < 1 || cfg.dim > 64) throw InputError("--dim must be between 1 and 64");
    cfg.epochs = opt.epochs_or(opt.quick ? 1 : 4);
    cfg.seed = opt.seed;
    if (opt.quick) cfg.window = 5;

    // Read the data first, so a bad --data fails at once.
    std::cout << "Chapter 10: the VQ-VAE\n";
    const TrainTest data = load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked in double ---------------------------------------------------
    CheckTable table;
    for (auto& row : all_checks()) table.add(row);
    table.print(std::cout, "Verification (B = 5 images, M = 4, D = 3, K = 6, beta = 0.25; whole model: 8 pixels, H = 6, "
                          "M = 2, D = 3, K = 5, B = 4; Lloyd: 200 points, K = 6)");

    // ---- 2. Training: codebook loss vs EMA --------------------------------------------------------
    Index n_train = data.train.size();
    if (cli.vm().count("train-images")) n_train = std::clamp<Index>(train_images, 1, n_train);
    else if (opt.quick) n_train = std::min<Index>(n_train, 2000);
    const ImageSet train = data.train.head(n_train);
    const ImageSet test = opt.quick ? data.test.head(500) : data.test;
    std::cout << "\n" << train.name << ": " << train.size() << " training and " << test.size()
              << " test images; " << cfg.positions << " code vectors of dimension " << cfg.dim << " per image, K = "
              << cfg.codes << " codes, beta = " << cfg.beta << ", " << cfg.epochs << " epoch(s)\n";
    VqConfig loss_cfg = cfg, ema_cfg = cfg;
    loss_cfg.update = CodebookUpdate::Loss;
    ema_cfg.update = CodebookUpdate::Ema;
    VqRun loss_run, ema_run;
    const VqVae<float> by_loss = train_vq_vae<float>(train, loss_cfg, loss_run, &std::cout, "codebook loss");
    const VqVae<float> by_ema = train_vq_vae<float>(train, ema_cfg, ema_run, &std::cout, "EMA (decay 0.99)");

    // ---- 3. Evaluation --------------------------------------------------------------------------
    const VqEvaluation ev_loss = evaluate(by_loss, test), ev_ema = evaluate(by_ema, test);
    auto report = [&](const std::string& name, const VqRun& run, const VqEvaluation& ev) {
      std::cout << "  " << name << ": test -log p(x|z_q) " << ev.reconstruction << " nats/image, ||z_e - z_q||^2 "
                << ev.quantisation << " per image, test perplexity " << perplexity(ev.usage) << " of K = " << cfg.codes
                << ", codes unused on the test set " << (ev.usage.array() == 0.0).count() << ", restarts "
                << run.restarts << ", " << run.seconds << " s\n";
    };
    std::cout << "\nSummary\n" << std::setprecision(4);
    report("codebook loss", loss_run, ev_loss);
    report("EMA          ", ema_run, ev_ema);
    std::cout << "  (an upper bound on the code's information: M log K = " << double(cfg.positions) * std::log(double(cfg.codes))
              << " nats per image)\n";

    // ---- 4. Figures ------------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    {
      plot::Montage rec;
      rec.title = "test images and their VQ-VAE reconstructions (" + std::to_string(cfg.positions) + " codes of K = " +
                  std::to_string(cfg.codes) + " per image)";
      rec.image_rows = train.rows;
      rec.image_cols = train.cols;
      const Index n = std::min<Index>(12, test.size());
      const MatF X = test.range<float>(0, n);
      const MatD A = X.cast<double>(), B = by_loss.reconstruct(X).cast<double>(), C = by_ema.reconstruct(X).cast<double>();
      std::vector<VecD> ra, rb, rc;
      for (Index j = 0; j < n; ++j) ra.push_back(A.col(j)), rb.push_back(B.col(j)), rc.push_back(C.col(j));
      rec.rows = {ra, rb, rc};
      rec.row_labels = {"test image", "codebook loss", "EMA"};
      figs.draw("reconstructions", rec);
    }
    {
      auto usage_panel = [&](const std::string& title, const VecD& usage) {
        plot::Panel p;
        p.title = title + ": perplexity " + format_number(perplexity(usage), 3);
        p.xlabel = "code k (sorted by use)";
        p.ylabel = "share of test code vectors (%)";
        p.xrange = std::make_pair(-1.0, double(usage.size()));
        std::vector<double> u(usage.data(), usage.data() + usage.size());
        std::sort(u.rbegin(), u.rend());
        std::vector<double> x, y;
        for (std::size_t k = 0; k < u.size(); ++k) x.push_back(double(k)), y.push_back(100.0 * u[k] / usage.sum());
        p.series.push_back(plot::Series{plot::Series::Kind::Boxes, "", {x, y}, ""});
        p.series.push_back(plot::hline("uniform use, 100/K %", 100.0 / double(cfg.codes), -0.5, double(u.size()) - 0.5));
        return p;
      };
      figs.draw("codebook_usage", plot::Figure{"Codebook usage on the " + std::to_string(test.size()) + " test images",
                                               {usage_panel("codebook loss", ev_loss.usage), usage_panel("EMA", ev_ema.usage)},
                                               1, 1200, 450});
    }
    {
      plot::Panel ppl;
      ppl.title = "perplexity of the code usage (per window of " + std::to_string(cfg.window) + " batches)";
      ppl.xlabel = "minibatch";
      ppl.ylabel = "perplexity exp(H)";
      ppl.key = "bottom right";
      ppl.series.push_back(plot::lines("codebook loss", loss_run.batch, loss_run.perplexity));
      ppl.series.push_back(plot::lines("EMA", ema_run.batch, ema_run.perplexity, "dt 2"));
      if (!loss_run.batch.empty())
        ppl.series.push_back(plot::hline("K", double(cfg.codes), 0.0, loss_run.batch.back(), "dt 3 lc rgb '#000000'"));
      plot::Panel dead;
      dead.title = "dead codes (unused in the window; then restarted)";
      dead.xlabel = "minibatch";
      dead.ylabel = "dead codes";
      dead.series.push_back(plot::lines("codebook loss", loss_run.batch, loss_run.dead));
      dead.series.push_back(plot::lines("EMA", ema_run.batch, ema_run.dead, "dt 2"));
      figs.draw("perplexity_dead_codes",
                plot::Figure{"Codebook use during training: loss-based vs EMA update", {ppl, dead}, 1, 1200, 450});
    }
    return finish_chapter(figs, {&table});
  });
}
