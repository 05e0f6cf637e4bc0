// Chapter 5: the evidence lower bound.
//
// Follows docs/05-elbo.md:
//   1. the derivation checks on a model where everything is exact (probabilistic PCA: d = 6,
//      k = 2), on a mixture (a discrete latent), and the decoders' log-likelihoods on images;
//   2. the ELBO and its gap as q moves from the prior to the exact posterior;
//   3. importance-weighted bounds L_M, from M = 1 (the ELBO) towards log p(x);
//   4. the lecture figures.
#include <iostream>

#include "05_elbo/checks.hpp"
#include "course/chapter.hpp"
#include "course/data.hpp"
#include "course/error.hpp"
#include "course/plot.hpp"

using namespace course;
using namespace course::ch05;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("05", "the evidence lower bound");
    long samples = 0, budget = 0;
    cli.chapter_options().add_options()
      ("samples", po::value<long>(&samples), "Monte Carlo draws per check (default 200000, --quick 50000)")
      ("iw-budget", po::value<long>(&budget), "log-weights per M for the L_M curve (default 2^19, --quick 2^15)");
    const CommonOptions opt = cli.parse(argc, argv);
    if (!cli.vm().count("samples")) samples = opt.quick ? 50000 : 200000;
    if (!cli.vm().count("iw-budget")) budget = opt.quick ? (1L << 15) : (1L << 19);
    if (samples < 10000) throw InputError("--samples must be at least 10000, not " + std::to_string(samples));
    if (budget < 1024) throw InputError("--iw-budget must be at least 1024, not " + std::to_string(budget));

    // The images serve only the Bernoulli decoder's check; read them first so a bad --data fails at once.
    std::cout << "Chapter 5: the evidence lower bound\n";
    const TrainTest data = load_image_data(opt.data, std::cout);

    // ---- 1. The derivations, checked exactly ------------------------------------------------
    // Probabilistic PCA: p(z) = N(0, I_2), p(x|z) = N(W z + mu, 0.5 I_6), one observation x ~ p(x).
    const Setup s = make_setup(opt.seed);
    const Gaussian poor = poor_proposal(s.posterior);
    const Gaussian prior = standard_normal(s.model.latent_dim());
    CheckTable table;
    table.add(check_eq_5_1_bayes_rule(s.model, s.x, s.posterior, s.log_px));
    for (std::size_t i = 0; i < s.arbitrary.size(); ++i)
      table.add(check_eq_5_2_decomposition(s, s.arbitrary[i], "arbitrary q #" + std::to_string(i + 1)));
    table.add(check_eq_5_2_decomposition(s, prior, "q = p(z)"));
    for (std::size_t i = 0; i < s.arbitrary.size(); ++i)
      table.add(check_eq_5_3_bound(s, s.arbitrary[i], "arbitrary q #" + std::to_string(i + 1)));
    table.add(check_eq_5_3_equality_at_posterior(s));
    table.add(check_eq_5_4_closed_form_vs_monte_carlo(s, s.arbitrary[0], samples, opt.seed + 10));
    table.add(check_eq_5_4_closed_form_vs_monte_carlo(s, prior, samples, opt.seed + 11));
    table.add(check_eq_5_4_reconstruction_term(s, s.arbitrary[1], samples, opt.seed + 12));
    {
      Rng rng(opt.seed, 20);
      const VecD x = rng.normal_matrix<double>(784, 1), x_mean = rng.normal_matrix<double>(784, 1);
      table.add(check_eq_5_5_gaussian_decoder(x, x_mean, 0.3));
      table.add(check_eq_5_5_gaussian_decoder(x, x_mean, 2.0));
    }
    {
      // A binarised test image under a decoder that outputs the mean training image.
      const ImageSet& train = data.train;
      const VecD p = train.range<double>(0, std::min<Index>(train.size(), 5000)).rowwise().mean().cwiseMax(1e-3).cwiseMin(1.0 - 1e-3);
      const VecD x = (data.test.range<double>(0, 1).col(0).array() > 0.5).cast<double>();
      table.add(check_eq_5_6_bernoulli_decoder(x, p, "a binarised " + data.test.name + " test image"));
    }
    table.add(check_eq_5_7_unbiased_for_any_sample_count(s, s.arbitrary[2], samples / 16, opt.seed + 13));
    const IsotropicMixture mix = make_mixture();
    const VecD mix_x = mixture_observation(mix);
    for (std::uint64_t i = 0; i < 2; ++i) {
      const VecD q = random_categorical(mix.components(), opt.seed + i);
      table.add(check_eq_5_8_mixture_decomposition(mix, mix_x, q));
      table.add(check_eq_5_8_mixture_bound(mix, mix_x, q));
    }
    table.add(check_eq_5_8_mixture_equality(mix, mix_x));
    table.add(check_eq_5_8_mixture_evidence_by_direct_sum(mix, mix_x));
    table.add(check_eq_5_9_one_sample_is_the_elbo(s, poor, samples, opt.seed + 14));
    table.add(check_eq_5_9_below_evidence(s, poor, 64, samples / 64, opt.seed + 15));
    const std::vector<Index> doubling = {1, 2, 4, 8, 16, 32};
    table.add(check_eq_5_9_increasing(estimate_increase(s, poor, doubling, samples / 32, opt.seed + 16)));
    table.add(check_eq_5_9_weight_second_moment(s, poor, samples, opt.seed + 17));
    table.add(check_eq_5_9_underflow(s));
    table.add(check_eq_5_10_zero_variance(s, s.posterior, 1, 1000));
    table.add(check_eq_5_10_zero_variance(s, s.posterior, 64, 100));
    table.print(std::cout, "Verification (probabilistic PCA d = 6, k = 2, sigma2 = 0.5; a 3-component mixture in d = 4)");

    // ---- 2. From the prior to the posterior -------------------------------------------------
    // q_t: mean t m_post, Cholesky factor (1 - t) I + t L_post. ELBO(t) + KL_t = log p(x) at every t.
    std::vector<double> ts, elbo, gap, recon, neg_kl, sum;
    double worst_excess = -INFINITY;
    for (int i = 0; i <= 100; ++i) {
      const double t = i / 100.0;
      const Gaussian q = interpolate_from_prior(s.posterior, t);
      ts.push_back(t);
      elbo.push_back(elbo_closed_form(s.model, s.x, q));
      gap.push_back(kl_gaussians(q, s.posterior));
      recon.push_back(expected_log_likelihood(s.model, s.x, q));
      neg_kl.push_back(-kl_to_prior(q));
      sum.push_back(elbo.back() + gap.back());
      worst_excess = std::max(worst_excess, elbo.back() - s.log_px);
    }
    CheckTable path;
    path.add(check_bound("5.3", "ELBO(q_t) <= log p(x) on the whole path t in [0, 1]", s.log_px + worst_excess, s.log_px));
    path.add(check_identity("5.3", "ELBO(q_1) = log p(x) at the end of the path", s.log_px, elbo.back()));
    path.print(std::cout, "Verification along the path q_t, t = 0, 0.01, ..., 1");

    // ---- 3. Importance-weighted bounds L_M -------------------------------------------------
    // E[L_M] from n = budget / M draws of L_M each, for q = the poor proposal and q = the prior.
    Stopwatch clock;
    struct Curve {
      std::vector<double> M, mean, lo, hi;
    };
    const double z95 = 1.959964;  // the figure's band: a 95% interval
    auto curve_for = [&](const Gaussian& q, std::uint64_t seed) {
      Curve c;
      for (Index M = 1; M <= 1024; M *= 2) {
        const McEstimate e = estimate_iw_bound(s, q, M, std::max<Index>(budget / M, 256), seed + std::uint64_t(M));
        c.M.push_back(double(M));
        c.mean.push_back(e.mean);
        c.lo.push_back(e.mean - z95 * e.se);
        c.hi.push_back(e.mean + z95 * e.se);
      }
      return c;
    };
    const Curve poor_curve = curve_for(poor, opt.seed + 100), prior_curve = curve_for(prior, opt.seed + 200);
    std::cout << "\n  L_M for M = 1..1024, two proposals, " << budget << " log-weights per M: " << clock.seconds() << " s\n";

    std::cout << "\nSummary\n"
              << "  log p(x) = " << s.log_px << " (exact: log N(x; mu, W W^T + sigma2 I))\n"
              << "  ELBO at the prior q = p(z): " << elbo.front() << "  (gap KL(p(z)||p(z|x)) = " << gap.front() << ")\n"
              << "  ELBO at the poor proposal: " << elbo_closed_form(s.model, s.x, poor)
              << "  (gap " << kl_gaussians(poor, s.posterior) << ")\n"
              << "  L_1024 with the poor proposal: " << poor_curve.mean.back() << " +- " << (poor_curve.hi.back() - poor_curve.mean.back())
              << " (95%), gap to log p(x) " << s.log_px - poor_curve.mean.back() << "\n"
              << "  L_1024 with the prior as proposal: " << prior_curve.mean.back() << " +- " << (prior_curve.hi.back() - prior_curve.mean.back())
              << " (95%), gap to log p(x) " << s.log_px - prior_curve.mean.back() << "\n"
              << "  Var[w/p(x)] of the poor proposal: " << std::expm1(log_second_moment_of_ratio(s.posterior, poor))
              << ", of the prior: " << std::expm1(log_second_moment_of_ratio(s.posterior, prior)) << "\n";

    // ---- 4. Figures --------------------------------------------------------------------------
    plot::Figures figs = make_figures(opt);
    using plot::Panel;
    {
      Panel a;
      a.title = "the ELBO and the evidence";
      a.xlabel = "t (q_t: prior at t = 0, exact posterior at t = 1)";
      a.ylabel = "nats";
      a.key = "bottom right";
      a.series.push_back(plot::hline("log p(x) (exact)", s.log_px, 0, 1, "lw 3 lc rgb '#222222'"));
      a.series.push_back(plot::lines("ELBO(q_t)", ts, elbo, "lw 2 lc rgb '#1f77b4'"));
      std::vector<double> ts_sparse, sum_sparse;
      for (std::size_t i = 0; i < ts.size(); i += 5) ts_sparse.push_back(ts[i]), sum_sparse.push_back(sum[i]);
      a.series.push_back(plot::points("ELBO + KL(q_t || p(z|x))", ts_sparse, sum_sparse, "pt 6 ps 1.2 lc rgb '#d62728'"));
      Panel b;
      b.title = "the gap log p(x) - ELBO = KL(q_t || p(z|x))";
      b.xlabel = a.xlabel;
      b.ylabel = "KL (nats, log scale)";
      b.logy = true;
      std::vector<double> tg, g;
      for (std::size_t i = 0; i + 1 < ts.size(); ++i) tg.push_back(ts[i]), g.push_back(gap[i]);
      b.series.push_back(plot::lines("KL(q_t || p(z|x))", tg, g, "lw 2 lc rgb '#d62728'"));
      Panel c;
      c.title = "the ELBO's two terms (5.4)";
      c.xlabel = a.xlabel;
      c.ylabel = "nats";
      c.key = "bottom right";
      c.series.push_back(plot::lines("E_q[log p(x|z)] (reconstruction)", ts, recon, "lw 2 lc rgb '#2ca02c'"));
      c.series.push_back(plot::lines("-KL(q_t || p(z)) (prior term)", ts, neg_kl, "lw 2 lc rgb '#9467bd'"));
      c.series.push_back(plot::lines("ELBO (their sum)", ts, elbo, "lw 2 dt 2 lc rgb '#1f77b4'"));
      figs.draw("elbo_path", plot::Figure{"From the prior to the posterior: log p(x) = ELBO(q) + KL(q || p(z|x))", {a, b, c}, 1, 1500, 500});
    }
    {
      Panel a;
      a.title = "E[L_M], q = poor proposal (shifted, twice the covariance)";
      a.xlabel = "M (importance samples, log scale)";
      a.ylabel = "nats";
      a.logx = true;
      a.xrange = std::make_pair(1.0, 1024.0);
      a.key = "bottom right";
      a.series.push_back(plot::band("95% interval of E[L_M]", poor_curve.M, poor_curve.lo, poor_curve.hi, "fc rgb '#9ecae1' fs solid 0.8"));
      a.series.push_back(plot::lines("E[L_M] (Monte Carlo)", poor_curve.M, poor_curve.mean, "lw 2 lc rgb '#1f77b4'"));
      a.series.push_back(plot::points("", poor_curve.M, poor_curve.mean, "pt 7 ps 0.8 lc rgb '#1f77b4'"));
      a.series.push_back(plot::hline("log p(x) (exact)", s.log_px, 1, 1024, "lw 3 lc rgb '#222222'"));
      a.series.push_back(plot::hline("ELBO = L_1 (closed form)", elbo_closed_form(s.model, s.x, poor), 1, 1024, "dt 2 lw 2 lc rgb '#1f77b4'"));
      Panel b;
      b.title = "the gap log p(x) - E[L_M] with 95% intervals (shown where > 0)";
      b.xlabel = a.xlabel;
      b.ylabel = "nats (log scale)";
      b.logx = b.logy = true;
      b.xrange = a.xrange;
      b.key = "bottom left";
      auto gap_of = [&](const Curve& c, const std::string& title, const std::string& colour, const std::string& pt) {
        std::vector<double> k, g, lo, hi;
        for (std::size_t i = 0; i < c.M.size(); ++i)
          if (s.log_px - c.hi[i] > 0)
            k.push_back(c.M[i]), g.push_back(s.log_px - c.mean[i]), lo.push_back(s.log_px - c.hi[i]), hi.push_back(s.log_px - c.lo[i]);
        b.series.push_back(plot::band("", k, lo, hi, "fc rgb '" + colour + "' fs transparent solid 0.3"));
        b.series.push_back(plot::lines(title, k, g, "lw 2 lc rgb '" + colour + "'"));
        b.series.push_back(plot::points("", k, g, pt + " ps 1 lc rgb '" + colour + "'"));
      };
      gap_of(poor_curve, "q = poor proposal", "#1f77b4", "pt 7");
      gap_of(prior_curve, "q = prior p(z)", "#e6550d", "pt 5");
      // The large-M expansion: log p(x) - L_M ~ Var[w / p(x)] / (2M), with the variance in closed form.
      const double var_poor = std::expm1(log_second_moment_of_ratio(s.posterior, poor));
      b.series.push_back(plot::lines("Var[w/p(x)] / (2M), poor proposal (closed form)", {1, 1024}, {var_poor / 2, var_poor / 2048},
                                     "dt 2 lw 2 lc rgb '#1f77b4'"));
      const double var_prior = std::expm1(log_second_moment_of_ratio(s.posterior, prior));
      b.series.push_back(plot::lines("Var[w/p(x)] / (2M), prior (closed form)", {1, 1024}, {var_prior / 2, var_prior / 2048},
                                     "dt 2 lw 2 lc rgb '#e6550d'"));
      figs.draw("iw_bounds", plot::Figure{"Importance-weighted bounds: ELBO = L_1 <= L_M <= L_{2M} <= log p(x), and L_M -> log p(x)", {a, b}, 1, 1300, 520});
    }
    return finish_chapter(figs, {&table, &path});
  });
}
