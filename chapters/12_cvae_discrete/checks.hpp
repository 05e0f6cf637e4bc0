// Chapter 12's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch12 asserts each one, and that each rejects the likely
// wrong formula named beside it (the function under test is a parameter, so a test can plant the
// wrong one). Every statistical row uses a fixed seed and a false-failure rate of at most 1e-6.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "12_cvae_discrete/model.hpp"
#include "course/check.hpp"

namespace course::ch12 {

// The false-failure rate of every statistical row of this chapter.
inline constexpr double kAlpha = 1e-6;
// The quadrature rows: the composite Gauss-Legendre rule integrates these smooth, exponentially
// decaying integrands to ~1e-13 (the change when the panels are halved); 1e-8 leaves a margin.
inline constexpr double kQuadratureTolerance = 1e-8;

// ---- (12.1) the conditional ELBO -------------------------------------------------------------

using ConditionalElbo = std::function<double(const ConditionalLinearGaussian&, const VecD& x, const VecD& y,
                                             const VecD& q_mean, const MatD& q_chol)>;

// The model, one observation per class (x_c ~ p(x | y = e_c)), and three arbitrary Gaussians q.
struct ConditionalSetup {
  ConditionalLinearGaussian model;
  std::vector<VecD> x, y;  // one pair per class
  std::vector<Gaussian> arbitrary;
};
ConditionalSetup make_conditional_setup(std::uint64_t seed = 1);

// log p(x | y) = ELBO(q; x | y) + KL(q || p(z | x, y)) for every class and every arbitrary q
// (the worst of the 9 is reported). Wrong formulas it rejects: the prior KL against N(0, I)
// instead of p(z | y) = N(P y, I); a decoder mean without V y.
CheckRow check_eq_12_1_decomposition(const ConditionalSetup& s, const ConditionalElbo& elbo = conditional_elbo);
// ELBO(p(z | x, y); x | y) = log p(x | y) for every class.
CheckRow check_eq_12_1_equality_at_posterior(const ConditionalSetup& s, const ConditionalElbo& elbo = conditional_elbo);
// ELBO <= log p(x | y) (the largest ELBO - log p(x | y) over the 9 cases).
CheckRow check_eq_12_1_bound(const ConditionalSetup& s, const ConditionalElbo& elbo = conditional_elbo);

// ---- chi-square goodness of fit --------------------------------------------------------------

// Pearson's X^2 = sum_b (O_b - n p_b)^2 / (n p_b) of counts O against probabilities p (summing to
// 1), compared with the chi-square quantile at 1 - alpha with (bins - 1) degrees of freedom. Every
// bin of the chapter's tests expects at least 50 draws, where the chi-square law is accurate.
CheckRow check_chi_square(const std::string& id, const std::string& claim, const VecD& counts, const VecD& probs,
                          double alpha = kAlpha);

// ---- (12.3) the Gumbel-max trick -------------------------------------------------------------

using CategoricalSampler = std::function<Index(const VecD& log_pi, Rng& rng)>;
// The exercise with its uniforms drawn from rng.
CategoricalSampler gumbel_max_sampler();
// pi = (0.4, 0.25, 0.2, 0.1, 0.05): the counts of n draws against n pi (chi-square, 4 degrees of
// freedom, 1e-6). Wrong formulas it rejects: Gaussian noise g ~ N(0, 1); argmax(pi + g) (log missing).
VecD gumbel_max_probabilities();
CheckRow check_eq_12_3_gumbel_max(const CategoricalSampler& sampler = gumbel_max_sampler(), Index n = Index(1) << 18,
                                  std::uint64_t seed = 123);

// ---- (12.4) the Concrete distribution ---------------------------------------------------------

using RelaxedSampler = std::function<VecD(const VecD& log_pi, const VecD& g, double tau)>;

// A location for K = 2 and for K = 3 (log-probabilities of unequal classes).
VecD concrete_location(Index K);
// The density integrates to 1 over the simplex (quadrature in the logit coordinates).
// Wrong formulas it rejects: (K - 1)! left out (K = 3), tau^(K - 1) left out, z~^(-tau) for z~^(-tau - 1).
CheckRow check_eq_12_4_normalised(Index K, double tau, const LogDensity& density = concrete_log_density);
// The histogram of n samples z~ = gumbel_softmax(log_alpha, g, tau), binned in the logit coordinates
// u_i = tau omega_i - (log_alpha_i - log_alpha_K) on unit bins over [-6, 6] (K = 2) or [-4, 4]^2 (K = 3)
// plus one bin for the rest, against the bin probabilities of the density (Gauss-Legendre per
// bin; the rest is 1 minus their sum). Chi-square, 1e-6. Wrong formulas it rejects: a sampler
// without the temperature; a density with z~^(-tau) for z~^(-tau - 1).
CheckRow check_eq_12_4_histogram(Index K, double tau, const RelaxedSampler& sampler = gumbel_softmax,
                                 const LogDensity& density = concrete_log_density, Index n = Index(1) << 18,
                                 std::uint64_t seed = 124);

// ---- (12.5) the temperature limits -------------------------------------------------------------

// tau -> 0: for n draws at tau, the sample's largest entry is at k* = argmax(log pi + g) (the
// Gumbel-max sample, exercise 12.2 on the same uniforms) and 1 - z~_k* <= (K - 1) exp(-gap / tau),
// gap = the margin between the two largest log pi_k + g_k (an exact inequality). The error is the
// largest (1 - z~_k*) / bound over the draws, or infinity for a wrong argmax. At tau = 1e-3 a softmax
// without the max subtracted overflows (NaN): the row fails. Wrong formula it rejects: no temperature.
CheckRow check_eq_12_5_zero_temperature(double tau, const RelaxedSampler& sampler = gumbel_softmax, Index n = 2000,
                                        std::uint64_t seed = 125);
// tau -> infinity: z~ -> (1/K, ..., 1/K) at rate 1/tau, tau (K z~_k - 1) -> v_k - mean(v), v = log pi + g.
// |tau (K z~_k - 1) - (v_k - mean v)| <= 2 r^2 / tau with r = max v - min v (Taylor's bound, for
// r / tau <= 0.1); the error is the largest ratio to that bound over n draws. Wrong formulas it
// rejects: no temperature, and the centre itself (a sampler returning 1/K at every tau).
CheckRow check_eq_12_5_infinite_temperature(double tau, const RelaxedSampler& sampler = gumbel_softmax, Index n = 2000,
                                            std::uint64_t seed = 126);

// ---- (12.6) the categorical KL to the uniform prior ----------------------------------------------

using CategoricalKl = std::function<double(const MatD& Q)>;
// K = 10, N = 4 variables; one column has an exact zero.
MatD kl_case();
// Closed form against the Monte Carlo mean of log q(z) - log p(z), z ~ q (1e-6, z = 5 SE).
// Wrong formulas it rejects: the sign flipped, a missing log K, KL(p || q).
CheckRow check_eq_12_6_kl_vs_monte_carlo(const CategoricalKl& kl = categorical_kl_to_uniform, Index n = Index(1) << 18,
                                         std::uint64_t seed = 127);

// ---- (12.7) REINFORCE for a categorical ------------------------------------------------------------

// The score function at each k against central differences of logits -> f_k log softmax(logits)_k.
// Wrong formulas it rejects: f_k 1_k (the log-normaliser's gradient missing), a flipped sign.
CheckRow check_eq_12_7_score_gradient(const ScoreFunction& score = categorical_score_function);
// E[reinforce_estimate] = grad F (exact) over n draws (3 coordinates, 1e-6). Wrong: a flipped sign.
CheckRow check_eq_12_7_reinforce_unbiased(const ScoreFunction& score = categorical_score_function,
                                          Index n = Index(1) << 18, std::uint64_t seed = 128);

// ---- (12.8) the relaxed (pathwise) gradient --------------------------------------------------------

using ToyEstimator = std::function<VecD(const ToyObjective&, const VecD& g, double tau)>;
// At five fixed noise draws, the estimator against central differences of
// logits -> f(softmax((logits + g) / tau)). Wrong formula it rejects: the Jacobian without its 1 / tau.
CheckRow check_eq_12_8_pathwise_derivative(double tau, const ToyEstimator& estimator = relaxed_estimate);
// The quadrature gradient of F_tau (through the density's score) against central differences of
// the quadrature value F_tau. Ties the relaxed objective's exact gradient to eq. 12.4.
CheckRow check_eq_12_8_quadrature_gradient(double tau);
// E[relaxed_estimate] = grad F_tau (quadrature) over n draws: the relaxed estimator is unbiased for
// the relaxed objective (1e-6). Wrong: the Jacobian without its 1 / tau.
CheckRow check_eq_12_8_unbiased_for_relaxed(double tau, const ToyEstimator& estimator = relaxed_estimate,
                                            Index n = Index(1) << 18, std::uint64_t seed = 129);
// ... and biased for the discrete objective: |grad F_tau - grad F|_inf is at least 1000 times the
// quadrature tolerance (a deterministic bound). What it rejects: the claim that the relaxation is
// unbiased (the test plants grad F_tau = grad F).
CheckRow check_eq_12_8_biased_for_discrete(double tau, const VecD& relaxed_gradient);

// ---- (12.9) straight-through -------------------------------------------------------------------

// Straight-through's forward value f(z), z = one-hot Gumbel-max sample, is an unbiased estimate of
// F (1e-6); its gradient is not: the mean over n draws differs from grad F by more than the
// Bonferroni z of 3 coordinates at 1e-6 (z = 5.3) standard errors in some coordinate. (The row
// fails only if the measured bias falls below z SE: it is 45 SE at tau = 0.5 and 116 SE at tau = 1
// with 2^18 draws, 16 and 41 with the 2^15 of --quick, so a false failure needs a deviation of
// more than 10 SE: probability below 1e-23.) What it rejects: the claim that straight-through is unbiased
// (the test plants the exact gradient's own estimator, REINFORCE).
CheckRow check_eq_12_9_forward_value_unbiased(double tau, Index n = Index(1) << 18, std::uint64_t seed = 130);
CheckRow check_eq_12_9_straight_through_biased(double tau, const ToyEstimator& estimator = straight_through_estimate,
                                               Index n = Index(1) << 18, std::uint64_t seed = 131);

// For a linear f(z) = c . z (c = (1, -0.5, 2)) the mean of straight-through over n draws is
// E[J(z~)]^T c, computed by quadrature over the Concrete density (3 coordinates, 1e-6); the true
// gradient (diag pi - pi pi^T) c is reported beside it. Wrong formulas it rejects: the Jacobian at
// the one-hot z (which is 0 there); an unbiased estimate of the true gradient, (diag z - z pi^T) c.
// (For a linear f, straight-through and the relaxed estimator have the same mean: this row cannot
// tell them apart.)
VecD linear_objective();
CheckRow check_eq_12_9_straight_through_linear(double tau, const std::function<VecD(const VecD& g, double tau)>& estimator = {},
                                               Index n = Index(1) << 18, std::uint64_t seed = 132);

// ---- Bias and variance of the three estimators against the temperature (figures, summary) ------
struct EstimatorStats {
  std::string name;
  std::vector<double> tau, bias, bias_se, variance;  // bias = ||E g - grad F||, variance = E ||g - E g||^2
};
EstimatorStats estimator_stats(const std::string& name, const ToyEstimator& estimator, const std::vector<double>& taus,
                               Index n, std::uint64_t seed);

// Every check of sections 12.1 and 12.3-12.9, in the order of the doc. `quick` draws 8 times fewer
// samples: the false-failure rates stay the same, only the power to reject drops.
std::vector<CheckRow> toy_checks(bool quick = false);

}  // namespace course::ch12
