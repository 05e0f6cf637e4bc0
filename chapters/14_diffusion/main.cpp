// Chapter 14: diffusion models (DDPM).
#include <iostream>
#include <filesystem>

#include "14_diffusion/checks.hpp"
#include "course/chapter.hpp"
#include "course/error.hpp"
#include "course/two_sample.hpp"

using namespace course;
using namespace course::ch14;

int main(int argc, char** argv) {
  return run_chapter([&] {
    ChapterCli cli("14", "diffusion models");
    const CommonOptions opt = cli.parse(argc, argv);
    if (const std::string dir = find_image_data(opt.data); !dir.empty() && !std::filesystem::is_directory(dir))
      throw InputError("--data " + dir + ": no such directory");
    Stopwatch clock;
    CheckTable table;
    table.add(check_eq_14_1_forward_step());
    table.add(check_eq_14_2_variance_preserved());
    table.add(check_eq_14_3_marginal_vs_chain());
    table.add(check_eq_14_3_chapman_kolmogorov());
    table.add(check_eq_14_4_posterior_vs_bayes());
    const TinyChain c = tiny_chain();
    table.add(check_eq_14_5_elbo_terms(c, elbo_terms(c), elbo_terms_monte_carlo(c, 400000, 145)));
    table.add(check_eq_14_5_factorisation(c));
    table.add(check_eq_14_6_mean_from_eps());
    table.add(check_eq_14_6_kl_is_weighted_noise_error());
    table.add(check_eq_14_7_tweedie());
    table.add(check_eq_14_7_learned_score(exact_eps(chapter_data(), chapter_schedule()), 25, "exact"));
    table.add(check_eq_14_8_samples(exact_samples(1), "exact sampler"));
    table.print(std::cout, "Verification");
    std::cout << clock.seconds() << " s\n";
    Rng rng(5);
    const MatD data = chapter_data().sample(4000, rng), data2 = chapter_data().sample(4000, rng);
    const MatD a = exact_samples(3, [](const MatD& Xt, const MatD& E, const NoiseSchedule& s, int t, const MatD& Z) {
                         const double beta = s.beta(t - 1), alpha = s.alpha(t - 1), ab = s.alpha_bar(t - 1);
                         return MatD((Xt - beta / std::sqrt(1.0 - ab) * E) / alpha +
                                     std::sqrt(posterior_coefficients(s, t).variance) * Z);});
    const MatD b = exact_samples(3, [](const MatD& Xt, const MatD& E, const NoiseSchedule& s, int t, const MatD& Z) {
                         return MatD(mean_from_eps(Xt, E, s, t) + posterior_coefficients(s, t).variance * Z);});
    std::cout << "alpha sampler mean sq norm " << a.colwise().squaredNorm().mean() << " beta~ " << b.colwise().squaredNorm().mean() << "\n";
    for (double h : {0.05, 0.1, 0.25, 0.5, 1.0})
      std::cout << "h " << h << " null " << mmd_biased(data, data2, h) << " vs alpha " << mmd_biased(data, a, h)
                << " vs beta~ " << mmd_biased(data, b, h) << " thr " << mmd_threshold(4000, 1e-6) << "\n";
    std::cout << clock.seconds() << " s\n";
    return 0;
  });
}
