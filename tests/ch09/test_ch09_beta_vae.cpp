// Chapter 9: every tagged equation of docs/09-beta-vae.md, and the wrong formula each check must
// reject.
#include <map>

#include "09_beta_vae/checks.hpp"
#include "09_beta_vae/training.hpp"
#include "check_test.hpp"
#include "thread_test.hpp"

using namespace course;
using namespace course::ch09;

namespace {
const LinearProblem& problem() {
  static const LinearProblem p = make_linear_problem();
  return p;
}
const TrainedLinearVae& trained(double beta) {
  static std::map<double, TrainedLinearVae> cache;
  auto it = cache.find(beta);
  if (it == cache.end()) it = cache.emplace(beta, train_linear_vae(problem(), beta)).first;
  return it->second;
}
// Wrong formulas, planted.
RateDistortion beta_on_reconstruction(const VecD& nll, const MatD& mu, const MatD& log_var, double beta) {
  RateDistortion r = beta_vae_objective(nll, mu, log_var, 1.0);
  r.loss = beta * r.distortion + r.rate;
  return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ch09_beta_vae)

// The per-latent KL is only printed and plotted (the "active latents" count, the traversal
// labels): it must add up to the rate, which the model computes on another code path. Rejects a
// per-latent KL without its 1/2 or summed instead of averaged over the images.
BOOST_AUTO_TEST_CASE(eq_9_1_per_latent_kl_adds_up_to_the_rate) {
  const ImageSet test = make_sprites(600, 91);  // two chunks of the evaluation's 500
  TrainConfig c;
  c.hidden = 16;
  c.latent = 4;
  Rng init(9);
  BetaRun run;
  run.vae = Vae<float>(beta_vae_config(test.dim(), c, 2.0), init);
  measure_rate_distortion(run, test, 5);
  COURSE_CHECK(check_identity("9.1", "sum_j KL_j = rate (nats per image)", run.rate, run.kl_per_dim.sum(), 1e-5));
  BOOST_TEST(run.rate > 1e-3, "the check needs a non-trivial rate, got " << run.rate);
  COURSE_CHECK_REJECTS(check_identity("9.1", "", run.rate, 2.0 * run.kl_per_dim.sum(), 1e-5), "a per-latent KL without the 1/2");
  COURSE_CHECK_REJECTS(check_identity("9.1", "", run.rate, 600.0 * run.kl_per_dim.sum(), 1e-5), "summed, not averaged, over images");
}

BOOST_AUTO_TEST_CASE(eq_9_1_loss_is_distortion_plus_beta_rate) {
  COURSE_CHECK(check_eq_9_1_objective());
  COURSE_CHECK_REJECTS(check_eq_9_1_objective(beta_on_reconstruction), "beta on the reconstruction term");
}

BOOST_AUTO_TEST_CASE(eq_9_1_ch08_vae_gradient_with_beta_matches_central_differences) {
  for (auto likelihood : {ch08::Likelihood::Bernoulli, ch08::Likelihood::Gaussian}) {
    for (double beta : {0.25, 4.0}) {
      COURSE_CHECK(check_eq_9_1_gradient(likelihood, beta));
      COURSE_CHECK_REJECTS(check_eq_9_1_gradient(likelihood, beta, PlantedGradient::beta_missing_on_kl),
                           "beta missing on the KL gradient (the backward pass of beta = 1)");
      COURSE_CHECK_REJECTS(check_eq_9_1_gradient(likelihood, beta, PlantedGradient::beta_on_reconstruction),
                           "beta on the reconstruction term in the backward pass");
    }
  }
}

BOOST_AUTO_TEST_CASE(eq_9_2_beta_acts_as_beta_sigma2) {
  COURSE_CHECK(check_eq_9_2_scaling());
  COURSE_CHECK_REJECTS(check_eq_9_2_scaling(beta_on_reconstruction), "beta on the reconstruction term");
}

BOOST_AUTO_TEST_CASE(eq_9_3_the_minimisers_gradient_and_hessian_match_central_differences) {
  COURSE_CHECK(check_eq_9_3_direction_derivatives());
  COURSE_CHECK_REJECTS(check_eq_9_3_direction_derivatives([](double l, double noise_var, double b, const VecD& x) {
                         Eigen::Matrix3d H = direction_hessian(l, noise_var, b, x);
                         H(2, 2) -= 0.5 * b * std::exp(x(2));
                         return H;
                       }),
                       "H(2, 2) without the KL's beta sigma^2 / 2");
}

BOOST_AUTO_TEST_CASE(eq_9_3_direction_optimum_matches_numeric_minimum) {
  COURSE_CHECK(check_eq_9_3_direction_optimum());
  COURSE_CHECK_REJECTS(check_eq_9_3_direction_optimum([](double l, double s, double) { return linear_vae_optimum(l, s, 1.0); }),
                       "sigma^2 without beta");
  COURSE_CHECK_REJECTS(check_eq_9_3_direction_optimum([](double l, double s, double b) { return linear_vae_optimum(l, s / b, 1.0); }),
                       "sigma^2 / beta");
}

BOOST_AUTO_TEST_CASE(eq_9_4_collapsed_dimensions_are_those_below_beta_sigma2) {
  for (double beta : {0.5, 1.0, 2.0, 8.0}) {
    COURSE_CHECK(check_eq_9_4_collapsed(problem(), trained(beta)));
    COURSE_CHECK_REJECTS(check_eq_9_4_collapsed(problem(), trained(beta),
                                                [](const VecD& l, double s, double b) { return Index((l.array() > b * s).count()); }),
                         "the reversed inequality lambda > beta sigma^2");
  }
}

BOOST_AUTO_TEST_CASE(eq_9_4_rate_and_distortion_are_reverse_water_filling) {
  for (double beta : {0.5, 1.0, 2.0, 8.0}) {
    COURSE_CHECK(check_eq_9_4_rate_distortion(problem(), trained(beta)));
    if (beta == 1.0) continue;  // at beta = 1 the wrong water level coincides with the right one
    COURSE_CHECK_REJECTS(check_eq_9_4_rate_distortion(problem(), trained(beta), 1.0 / beta), "the water level sigma^2 without beta");
  }
}

BOOST_AUTO_TEST_CASE(eq_9_5_mutual_information_and_entropy) {
  COURSE_CHECK(check_eq_9_5_self_information());
  COURSE_CHECK(check_eq_9_5_chain_rule());
  COURSE_CHECK(check_eq_9_5_uniform_entropy());
  COURSE_CHECK(check_eq_9_5_independent());
  // An MI that forgets the marginal of b: sum p_ij log(p_ij / p_i) = -H(b | a).
  auto no_marginal = [](const std::vector<int>& a, const std::vector<int>& b) {
    std::vector<int> ab;
    for (std::size_t i = 0; i < a.size(); ++i) ab.push_back(1000 * a[i] + b[i]);
    return entropy(a) - entropy(ab);
  };
  COURSE_CHECK_REJECTS(check_eq_9_5_chain_rule(no_marginal), "I = -H(b | a) (the marginal p_j forgotten)");
  COURSE_CHECK_REJECTS(check_eq_9_5_independent(no_marginal), "I = -H(b | a) (the marginal p_j forgotten)");
  auto joint = [](const std::vector<int>& a, const std::vector<int>&) { return entropy(a) * 2.0; };
  COURSE_CHECK_REJECTS(check_eq_9_5_self_information(joint), "twice the entropy");
}

namespace {
// MIG with the wrong normaliser H(z_j), or the largest MI without the gap.
double mig_variant(const std::vector<std::vector<int>>& codes, const std::vector<std::vector<int>>& factors, int variant) {
  double sum = 0.0;
  for (const auto& v : factors) {
    std::vector<std::pair<double, double>> mi;  // (I, H(z))
    for (const auto& z : codes) mi.emplace_back(mutual_information(z, v), entropy(z));
    std::sort(mi.begin(), mi.end(), [](auto a, auto b) { return a.first > b.first; });
    if (variant == 0) sum += mi[0].first / mi[0].second - mi[1].first / mi[1].second;
    if (variant == 1) sum += mi[0].first / entropy(v);
    if (variant == 2) sum += (mi[0].first - mi[1].first) / std::log(10.0);
  }
  return sum / double(factors.size());
}
}  // namespace

BOOST_AUTO_TEST_CASE(eq_9_6_mig_known_answers) {
  COURSE_CHECK(check_eq_9_6_codes_equal_factors());
  COURSE_CHECK(check_eq_9_6_copied_factor());
  COURSE_CHECK(check_eq_9_6_normalised_by_factor_entropy());
  COURSE_CHECK(check_eq_9_6_random_codes());
  using Codes = std::vector<std::vector<int>>;
  COURSE_CHECK_REJECTS(check_eq_9_6_normalised_by_factor_entropy([](const Codes& c, const Codes& f) { return mig_variant(c, f, 0); }),
                       "MI normalised by H(z_j) instead of H(v_k)");
  COURSE_CHECK_REJECTS(check_eq_9_6_copied_factor([](const Codes& c, const Codes& f) { return mig_variant(c, f, 1); }),
                       "the largest MI without subtracting the second");
  COURSE_CHECK_REJECTS(check_eq_9_6_codes_equal_factors([](const Codes& c, const Codes& f) { return mig_variant(c, f, 2); }),
                       "normalised by log(number of bins)");
  COURSE_CHECK_REJECTS(check_eq_9_6_random_codes([](const Codes& c, const Codes& f) {
                         double s = 0.0;
                         for (const auto& v : f) s += (entropy(c[0]) + entropy(v)) / entropy(v);  // H(z, v) for independent z, v
                         return s / double(f.size());
                       }),
                       "the joint entropy H(z, v) in place of I(z; v)");
}

BOOST_AUTO_TEST_CASE(eq_9_7_traversal_replaces_one_coordinate) {
  COURSE_CHECK(check_eq_9_7_traversal());
  COURSE_CHECK_REJECTS(check_eq_9_7_traversal([](const VecD& z0, Index j, const VecD& v) {
                         MatD Z = z0.replicate(1, v.size());
                         Z.row(j).array() += v.transpose().array();
                         return Z;
                       }),
                       "adding the value to z0_j instead of replacing it");
}

BOOST_AUTO_TEST_CASE(the_beta_sweep_trains_bitwise_the_same_on_one_and_two_threads) {
  // Not an equation: the sweep trains its models in parallel, one for_blocks block each (two at
  // once on 2 threads), and each model must come out as a sequential run makes it. Two betas on
  // 120 sprites, a 784-32-4 VAE, 2 epochs of batch 20.
  const ImageSet sprites = make_sprites(120, 71);
  TrainConfig c;
  c.hidden = 32;
  c.latent = 4;
  c.batch = 20;
  c.epochs = 2;
  c.seed = 72;
  const std::vector<double> betas = {1.0, 4.0};
  auto values = [](std::vector<BetaRun>& runs) {
    std::vector<std::vector<float>> all;
    for (BetaRun& r : runs)
      for (auto& v : test::values_of(r.vae.parameters())) all.push_back(std::move(v));
    return all;
  };
  std::vector<BetaRun> untrained;
  for (double beta : betas) {
    Rng init(c.seed);
    untrained.push_back(BetaRun{beta, Vae<float>(beta_vae_config(sprites.dim(), c, beta), init)});
  }
  std::ostringstream log;
  test::check_bitwise_equal_for_1_and_2_threads(values(untrained), [&] {
    std::vector<BetaRun> runs = train_sweep(sprites, betas, c, log, [](BetaRun&) {});
    return values(runs);
  });
}

BOOST_AUTO_TEST_SUITE_END()
