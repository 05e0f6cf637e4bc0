// Chapter 9's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch09 asserts each one (and that each rejects the
// likely wrong formula named beside it). Functions that test an exercise take it as a parameter
// (defaulting to the exercise) so a test can plant a wrong formula in its place.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "08_vae/checks.hpp"
#include "08_vae/vae.hpp"
#include "09_beta_vae/linear_vae.hpp"
#include "course/check.hpp"
#include "course/error.hpp"
#include "course/exercises/ch09_beta_vae.hpp"

namespace course::ch09 {

using ObjectiveFn = std::function<RateDistortion(const VecD&, const MatD&, const MatD&, double)>;
using OptimumFn = std::function<LinearVaeDirection(double, double, double)>;
using CountFn = std::function<Index(const VecD&, double, double)>;
using MigFn = std::function<double(const std::vector<std::vector<int>>&, const std::vector<std::vector<int>>&)>;

// A row that reports an exception (e.g. a wrong shape) as a failed check.
CheckRow failed_row(const std::string& id, const std::string& claim, const std::string& why);

// (9.1) The beta-weighted loss against an independent elementwise sum.
// Wrong formula it rejects: beta on the reconstruction term (beta D + R).
CheckRow check_eq_9_1_objective(const ObjectiveFn& objective = beta_vae_objective);

// How a test plants a wrong backward pass into the gradient check of (9.1).
enum class PlantedGradient {
  none,
  beta_missing_on_kl,      // the KL's gradient left unweighted (the backward pass of beta = 1)
  beta_on_reconstruction,  // the gradient of beta D + R instead of D + beta R
};

// (9.1) Chapter 8's VAE with a KL weight beta != 1: the backward pass of the whole minibatch loss
// D + beta R, for every parameter, against central differences with eps held fixed (double; the
// loss side in long double). Reuses chapter 8's small test VAE (D = 12, H = 7, L = 3, B = 5, drawn
// away from the ReLU kinks) and its gradient check (8.5), with beta set in the model's config.
// Wrong formulas it rejects: beta missing on the KL gradient; beta on the reconstruction term.
CheckRow check_eq_9_1_gradient(ch08::Likelihood likelihood, double beta = 4.0,
                                      PlantedGradient planted = PlantedGradient::none);

// (9.2) beta acts on a Gaussian decoder as sigma_x^2 -> beta sigma_x^2: with -log p(x|z) taken as
// ||x - W z||^2 / (2 sigma_x^2) (its constant dropped), L_beta(sigma_x^2) / beta = L_1(beta sigma_x^2).
// Wrong formula it rejects: beta on the reconstruction term.
CheckRow check_eq_9_2_scaling(const ObjectiveFn& objective = beta_vae_objective);

// (9.3) The closed-form optimum along one direction against a numeric minimisation of the
// beta-weighted 1-D objective F(w, v, log post_var) itself, for 3 x 3 cases (lambda, beta) with
// sigma_x^2 = 0.5, active and collapsed. The minimiser uses only F's derivatives: gradient descent
// from (1, 0.5, 0) to ||grad|| <= 1e-6, then Newton steps with F's analytic Hessian until the
// step is below 1e-14 (gradient descent alone stalls where the curvature is small, e.g. at
// lambda = 0.3, beta sigma_x^2 = 0.25, where w^2 = 0.05). The end point must be a minimum (Hessian
// positive definite), else the row fails. Compared: |w|, v sign(w), post_var.
// Wrong formulas it rejects: sigma_x^2 without beta; sigma_x^2 / beta.
CheckRow check_eq_9_3_direction_optimum(const OptimumFn& optimum = linear_vae_optimum);

// (9.3) The derivatives that minimiser uses, checked themselves (the optimum check above cannot see
// a wrong Hessian: Newton with a wrong one still converges, only slower). At a point with w, v,
// log post_var all non-zero: F's gradient against central differences of F, and the Hessian H against
// central differences of the gradient along two random directions c (d(c^T g)/dx = H c).
// `hessian` defaults to direction_hessian. Rejects H(2, 2) without its beta term.
CheckRow check_eq_9_3_direction_derivatives(
    const std::function<Eigen::Matrix3d(double, double, double, const VecD&)>& hessian = direction_hessian);

// The synthetic problem of (9.4): S = Q diag(8, 4, 2, 1, 0.5, 0.25) Q^T, sigma^2 = 0.35.
struct LinearProblem {
  VecD lambda;
  MatD S;
  double noise_var = 0.35;
};
LinearProblem make_linear_problem(std::uint64_t seed = 94);

// A full linear VAE (k = d = 6) minimised numerically at one beta.
struct TrainedLinearVae {
  double beta = 1.0;
  LinearVaeTerms terms;
  long iterations = 0;
  Index collapsed = 0;  // #{j : KL_j < 1e-3 nats}
};
TrainedLinearVae train_linear_vae(const LinearProblem& p, double beta, std::uint64_t seed = 7);

// (9.4) The number of collapsed dimensions of the trained linear VAE equals #{lambda_j < beta sigma^2}.
// Wrong formula it rejects: the reversed inequality #{lambda_j > beta sigma^2}.
CheckRow check_eq_9_4_collapsed(const LinearProblem& p, const TrainedLinearVae& t,
                                       const CountFn& count = count_collapsed);

// (9.4) Its rate and distortion equal the reverse water-filling values
//   R = sum_j 1/2 log+(lambda_j / (beta sigma^2)),  D = sum_j min(lambda_j, beta sigma^2).
// Wrong formula it rejects: the water level sigma^2 without beta.
CheckRow check_eq_9_4_rate_distortion(const LinearProblem& p, const TrainedLinearVae& t, double level_factor = 1.0);

// ---- (9.5) entropy and mutual information of discrete labels ---------------------------------

// A full grid of three independent factors with 3, 4 and 5 values, repeated `copies` times.
std::vector<std::vector<int>> grid_factors(int copies = 2);

// I(a; a) = H(a) on random labels. Wrong formula it rejects: an MI that forgets a marginal.
CheckRow check_eq_9_5_self_information(
    const std::function<double(const std::vector<int>&, const std::vector<int>&)>& mi = mutual_information);

// I(a; b) = H(a) + H(b) - H(a, b) on dependent labels (b = a + noise); (a, b) coded as 100 a + b.
CheckRow check_eq_9_5_chain_rule(
    const std::function<double(const std::vector<int>&, const std::vector<int>&)>& mi = mutual_information);

// H of m equally used labels = log m, and a full grid of independent factors has I = 0.
CheckRow check_eq_9_5_uniform_entropy();
CheckRow check_eq_9_5_independent(
    const std::function<double(const std::vector<int>&, const std::vector<int>&)>& mi = mutual_information);

// ---- (9.6) the mutual information gap -----------------------------------------------------------

// Codes equal to the factors: MIG = 1. Wrong formula it rejects: normalising by log(bins) of the code.
CheckRow check_eq_9_6_codes_equal_factors(const MigFn& mig = mutual_information_gap);

// Codes (v1, v1, v2, v3): factor 1 sits in two codes (gap 0), so MIG = (0 + 1 + 1) / 3.
// Wrong formula it rejects: the largest MI alone instead of the gap (gives 1).
CheckRow check_eq_9_6_copied_factor(const MigFn& mig = mutual_information_gap);

// Codes (10 v1 + v2, v2, v3): code 1 holds v1 and v2, so I(z1; v1) = H(v1) but
// H(z1) = H(v1) + H(v2). Per factor: gaps 1, 0, 1, so MIG = 2/3.
// Wrong formula it rejects: normalising by H(z_j) instead of H(v_k).
CheckRow check_eq_9_6_normalised_by_factor_entropy(const MigFn& mig = mutual_information_gap);

// Independent random codes: MIG near 0. With n = 6000 samples and 10 bins, the plug-in bias of each
// MI is about (10 - 1)(5 - 1) / (2n) = 0.003 nats, so the bound is MIG <= 0.02.
// Wrong formula it rejects: the joint entropy H(z, v) in place of I(z; v).
CheckRow check_eq_9_6_random_codes(const MigFn& mig = mutual_information_gap);

// (9.7) A traversal replaces one coordinate. Wrong formula it rejects: adding the value to it.
CheckRow check_eq_9_7_traversal(const std::function<MatD(const VecD&, Index, const VecD&)>& traversal = latent_traversal);

}  // namespace course::ch09
