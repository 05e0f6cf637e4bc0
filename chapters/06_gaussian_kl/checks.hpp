// Chapter 6's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch06 asserts each one (and that each rejects the
// likely wrong formula named beside it). Exercise functions enter as default arguments, so a test
// can pass a planted wrong formula in their place.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "06_gaussian_kl/gaussian.hpp"
#include "06_gaussian_kl/quadrature.hpp"
#include "course/check.hpp"
#include "course/exercises/ch06_gaussian_kl.hpp"

namespace course::ch06 {

using KlFn = std::function<double(const VecD&, const MatD&, const VecD&, const MatD&)>;
using KlDiagFn = std::function<double(const VecD&, const VecD&)>;
using KlDiagGradFn = std::function<KlDiagGradient(const VecD&, const VecD&)>;
using LogDensityFn = std::function<double(const VecD&, const VecD&, const MatD&)>;

// ---- The problems the checks run on ------------------------------------------------------------

// Two full-covariance Gaussians on R^3 (the general closed form, eqs. 6.2-6.6 and 6.9).
struct Pair {
  Gaussian q0, q1;
};
Pair general_pair();

// A VAE-like diagonal posterior with k = 8 latent dimensions (eqs. 6.7, 6.8).
struct DiagPosterior {
  VecD mu, log_var;
};
DiagPosterior vae_posterior();

VecD vec1(double x);
MatD mat1(double x);

// The closed form of eq. 6.6 through the exercise (or a planted formula) for two Gaussians.
double kl_of(const Gaussian& q0, const Gaussian& q1, const KlFn& kl = kl_gaussian);

// ---- Monte Carlo estimators (fixed chunks: independent of the thread count) --------------------

// KL(q0 || q1) = E_{z ~ q0}[log q0(z) - log q1(z)]   (definition, eq. 6.6's left side)
McEstimate mc_kl(const Gaussian& q0, const Gaussian& q1, Index n, std::uint64_t seed);

// E_{z ~ q0}[log q(z)] for a Gaussian q (eq. 6.5).
McEstimate mc_expected_log_density(const Gaussian& q0, const Gaussian& q, Index n, std::uint64_t seed);

// The k*k entries (column-major) of E_{z ~ q0}[(z - a)(z - a)^T] (eqs. 6.2, 6.3).
McVecEstimate mc_second_moment_about(const Gaussian& q0, const VecD& a, Index n, std::uint64_t seed);

VecD flatten(const MatD& M);

// ---- (6.1) the Gaussian log-density ------------------------------------------------------------

// (6.1) in 1-D: quadrature of exp(log N(z; mu, s^2)) gives mass 1, mean mu and variance s^2.
// Wrong formulas it rejects: a missing 1/2 on the quadratic term, S for S^-1, log sigma for
// log sigma^2 (-1/2 log sigma instead of -1/2 log sigma^2).
CheckRow check_eq_6_1_density_1d(double mu, double var, const LogDensityFn& log_density = gaussian_log_density);

// (6.1) in 2-D, with correlation: tensor-product quadrature over mean +- 12 standard deviations
// (the mass outside is below 4 Phi(-12) ~ 1e-32) gives mass 1, mean mu and covariance S.
// Wrong formulas it rejects: log(2 pi) not multiplied by k, S for S^-1, a missing 1/2.
CheckRow check_eq_6_1_density_2d(const LogDensityFn& log_density = gaussian_log_density);

// ---- (6.2)-(6.4) the identities the derivation uses, by Monte Carlo ----------------------------

// (6.2) E_{q0}[(z - mu0)(z - mu0)^T] = S0, all 9 entries at once (Bonferroni, alpha = 1e-6).
// Wrong formulas it rejects: the Cholesky factor L0 (S0 = L0 L0^T), S0^-1.
CheckRow check_eq_6_2_centred_second_moment(const Pair& p, Index n, std::uint64_t seed);

// (6.3) E_{q0}[(z - mu1)(z - mu1)^T] = S0 + (mu0 - mu1)(mu0 - mu1)^T.
// Wrong formulas it rejects: S0 alone (the outer product forgotten), S0 - (mu0-mu1)(mu0-mu1)^T.
MatD second_moment_about_mu1(const Pair& p);
CheckRow check_eq_6_3_second_moment_about_mu1(const Pair& p, Index n, std::uint64_t seed);

// (6.4) E[x^T A x] = tr(A E[x x^T]) for x ~ q0 and a fixed non-symmetric A.
// Wrong formulas it rejects: mu^T A mu (the mean only), tr(A S0) (the covariance only).
MatD quadratic_form_matrix();
double quadratic_form_trace(const Pair& p);
McEstimate mc_quadratic_form(const Pair& p, Index n, std::uint64_t seed);
CheckRow check_eq_6_4_quadratic_form(const Pair& p, Index n, std::uint64_t seed);

// ---- (6.5) the two expectations the closed form is made of -------------------------------------

// E_{q0}[log q0] = -1/2 (k log 2 pi + log det S0 + k): by (6.2) and (6.4) the quadratic form has
// mean tr(S0^-1 S0) = k. Wrong formula it rejects: the "+ k" forgotten.
double expected_log_q0(const Pair& p);
// E_{q0}[log q1] = -1/2 (k log 2 pi + log det S1 + tr(S1^-1 S0) + (mu0 - mu1)^T S1^-1 (mu0 - mu1)),
// by (6.3) and (6.4). Wrong formula it rejects: tr(S0^-1 S1) for tr(S1^-1 S0).
double expected_log_q1(const Pair& p);
CheckRow check_eq_6_5_expected_log_q0(const Pair& p, Index n, std::uint64_t seed);
CheckRow check_eq_6_5_expected_log_q1(const Pair& p, Index n, std::uint64_t seed);

// ---- (6.6) the general closed form -------------------------------------------------------------

// (6.6) against Monte Carlo on R^3. Wrong formulas it rejects: a missing 1/2, S0^-1 in place of
// S1^-1, a flipped sign on log det S1 / det S0.
CheckRow check_eq_6_6_kl_vs_monte_carlo(const Pair& p, Index n, std::uint64_t seed,
                                               const KlFn& kl = kl_gaussian);

// 1-D KL(N(m0, v0) || N(m1, v1)) by quadrature of q0 (log q0 - log q1), the densities written out.
Quadrature kl_by_quadrature_1d(double m0, double v0, double m1, double v1);

// (6.6) in 1-D against quadrature, q0 = N(0.7, 0.36), q1 = N(-0.4, 2.89).
CheckRow check_eq_6_6_kl_vs_quadrature(const KlFn& kl = kl_gaussian, double m0 = 0.7, double v0 = 0.36,
                                              double m1 = -0.4, double v1 = 2.89);

// ---- (6.7) the diagonal Gaussian against the standard normal (the VAE's KL term) --------------

// (6.7) equals (6.6) with S0 = diag(sigma^2), mu1 = 0, S1 = I, and the lecture's form
// 1/2 (||mu||^2 + ||sigma||^2) - sum_j log sigma_j - k/2. Wrong formulas it rejects: a missing 1/2,
// sigma for sigma^2, log sigma for log sigma^2, a flipped sign on log sigma^2.
CheckRow check_eq_6_7_diag_equals_general(const DiagPosterior& q, const KlDiagFn& kl_diag = kl_diag_std_normal);
CheckRow check_eq_6_7_lecture_form(const DiagPosterior& q, const KlDiagFn& kl_diag = kl_diag_std_normal);
CheckRow check_eq_6_7_diag_vs_monte_carlo(const DiagPosterior& q, Index n, std::uint64_t seed,
                                                 const KlDiagFn& kl_diag = kl_diag_std_normal);
CheckRow check_eq_6_7_diag_vs_quadrature(const KlDiagFn& kl_diag = kl_diag_std_normal, double mu = 1.3,
                                                double log_var = -0.8);

// ---- (6.8) the gradient of the diagonal KL -----------------------------------------------------

// (6.8) against central differences of kl_diag_std_normal. Wrong formulas it rejects: the
// derivative with respect to sigma (sigma - 1/sigma) or log sigma (sigma^2 - 1), 2 mu for mu, a
// flipped sign.
CheckRow check_eq_6_8_gradient(const DiagPosterior& q, const KlDiagGradFn& grad = kl_diag_std_normal_gradient);

// ---- (6.9) KL >= 0, with equality only for equal distributions ---------------------------------

// The decomposition KL = 1/2 [sum_i (l_i - 1 - log l_i) + d^T S1^-1 d], l_i the eigenvalues of
// S1^-1 S0 (generalised eigenproblem S0 v = l S1 v), agrees with (6.6).
double kl_by_eigenvalues(const Gaussian& q0, const Gaussian& q1);
CheckRow check_eq_6_9_eigenvalue_form(const Pair& p, const KlFn& kl = kl_gaussian);
// Over random pairs on R^3: min KL >= 0. Half the pairs are independent draws, half are q0 and a
// perturbation of it of relative size 10^-4 ... 1, so that KL comes close to 0. Wrong formula it
// rejects: a flipped sign on the log-determinants (negative for nearby pairs).
CheckRow check_eq_6_9_nonnegative(const KlFn& kl = kl_gaussian, int pairs = 2000, std::uint64_t seed = 9);
// KL(q || q) = 0 exactly, and for a mean shift alone KL = 1/2 d^T S^-1 d > 0. Wrong formula it
// rejects: a missing "- k" (KL(q || q) = k/2).
CheckRow check_eq_6_9_zero_iff_equal(const KlFn& kl = kl_gaussian, std::uint64_t seed = 10);
CheckRow check_eq_6_9_mean_shift(const Pair& p, const KlFn& kl = kl_gaussian);

// ---- (6.10) KL is not symmetric ----------------------------------------------------------------

// p = N(0, 1), q = N(0, 4): KL(p||q) = 1/2 (1/4 - 1 + log 4) ~ 0.318 and KL(q||p) = 1/2 (4 - 1 -
// log 4) ~ 0.807, each confirmed by quadrature; the difference is the claim. Wrong formula it
// rejects: a symmetrised divergence (the two directions averaged).
CheckRow check_eq_6_10_forward(const KlFn& kl = kl_gaussian);
CheckRow check_eq_6_10_reverse(const KlFn& kl = kl_gaussian);
CheckRow check_eq_6_10_not_symmetric(const KlFn& kl = kl_gaussian);

// ---- All of them, in the order of the doc ------------------------------------------------------

struct McSizes {
  Index moments = 1 << 18;  // (6.2)-(6.5)
  Index kl = 1 << 20;       // (6.6), (6.7)
};

std::vector<CheckRow> all_checks(const McSizes& n, std::uint64_t seed);

}  // namespace course::ch06
