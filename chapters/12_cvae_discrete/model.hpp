// Chapter 12's tractable models, where every quantity is known exactly:
//   - the conditional linear-Gaussian model (a linear CVAE): its evidence log p(x | y) and its
//     exact posterior p(z | x, y), by reduction to chapter 5's Gaussian formulas;
//   - the Gumbel and Concrete (Gumbel-softmax) distributions: noise, the Concrete density in the
//     coordinates s_i = log(y_i / y_K), and expectations under it by quadrature;
//   - the toy objective of the gradient estimators: E_{z ~ Cat(softmax(logits))} ||z - t||^2.
// The exercises (course/exercises/ch12_cvae_discrete.hpp) compute the ELBO, the samples, the
// density, the KL and the score function; this file computes what they are compared with.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "05_elbo/model.hpp"
#include "course/exercises/ch12_cvae_discrete.hpp"
#include "course/rng.hpp"

namespace course::ch12 {

using ch05::Gaussian;

// =============================================================================================
// The conditional linear-Gaussian model
// =============================================================================================

// log p(x | y) = log N(x; (W P + V) y + mu, W W^T + sigma2 I): z = P y + eps_z, so x is Gaussian.
double conditional_log_evidence(const ConditionalLinearGaussian& m, const VecD& x, const VecD& y);

// p(z | x, y) = N(Sigma (P y + W^T (x - V y - mu) / sigma2), Sigma), Sigma = (I + W^T W / sigma2)^-1:
// the prior's precision I and mean P y, combined with the likelihood's precision W^T W / sigma2.
Gaussian conditional_posterior(const ConditionalLinearGaussian& m, const VecD& x, const VecD& y);

// d = 6, k = 2, c = 3; W, V, P and mu are normal draws from `seed` (P scaled by 1.5 so that the
// conditional prior means of the three classes are well apart).
ConditionalLinearGaussian make_conditional_model(std::uint64_t seed = 12);

// One draw of x ~ p(x | y) by ancestral sampling.
VecD sample_conditional(const ConditionalLinearGaussian& m, const VecD& y, std::uint64_t seed);

// 1_k, the one-hot vector of class k among K.
VecD one_hot(Index k, Index K);

// =============================================================================================
// Gumbel noise, softmax, the Concrete distribution
// =============================================================================================

// K independent uniforms in (0, 1) (a zero draw is redrawn: -log(-log 0) is -infinity).
VecD open_uniforms(Index K, Rng& rng);
// K independent Gumbel(0, 1) draws, -log(-log u).
VecD gumbel_noise(Index K, Rng& rng);
// softmax(v), stable.
VecD softmax(const VecD& v);

// The Concrete density in logit coordinates. A point z~ of the simplex is omega = (log(z~_i / z~_K))_{i<K}
// in R^(K-1), and z~ = softmax([omega; 0]). The density of omega is the density of z~ times the Jacobian
// |det dz~_{1:K-1} / domega| = prod_{k=1..K} z~_k, so log p_omega(omega) = log p(z~(omega)) + sum_k log z~_k.
using LogDensity = std::function<double(const VecD& z_relaxed, const VecD& log_alpha, double tau)>;
VecD simplex_point(const VecD& omega);
double logit_log_density(const LogDensity& log_density, const VecD& omega, const VecD& log_alpha, double tau);

// The centre and the scale of omega under Concrete(alpha, tau): omega_i = (log_alpha_i - log_alpha_K +
// g_i - g_K) / tau, and g_i - g_K is logistic, so omega_i is centred at (log_alpha_i - log_alpha_K) / tau
// with scale 1 / tau (tails exp(-tau |omega - centre|)).
VecD logit_centre(const VecD& log_alpha, double tau);

// The integral of f(s) p_s(s) over R^(K-1) for K = 2 or 3, by the composite 10-point
// Gauss-Legendre rule over centre +- 44 / tau (the logistic mass outside is below e^-44 ~ 1e-19)
// on `panels` panels per axis (width 88 / (tau panels); the integrand varies on the scale 1 / tau).
// f returns `dim` numbers; the result is their integrals.
VecD concrete_expectation(const LogDensity& log_density, const VecD& log_alpha, double tau,
                          const std::function<void(const VecD& z_relaxed, Eigen::Ref<VecD> out)>& f, Index dim,
                          int panels = 96);

// =============================================================================================
// The toy objective of the gradient estimators
//   F(logits) = E_{z ~ Cat(softmax(logits))} f(z),   f(z) = ||z - t||^2 for one-hot z
// and its relaxation  F_tau(logits) = E_g f(z~),  z~ = softmax((logits + g) / tau).
// =============================================================================================
struct ToyObjective {
  VecD logits;  // K logits
  VecD t;      // K: the target
  Index classes() const { return logits.size(); }
  double f(const VecD& z) const { return (z - t).squaredNorm(); }
};
// K = 3, logits = (0.6, -0.4, 0.1), t = (0.1, 0.3, 0.8): the most likely class is the one farthest
// from t, so the gradient is far from zero.
ToyObjective toy_objective();

// F(logits) = sum_k pi_k f(1_k) and its exact gradient pi .* (f - F) (since d pi_k / d logits_j =
// pi_k (delta_kj - pi_j)).
double toy_exact_value(const ToyObjective& o);
VecD toy_exact_gradient(const ToyObjective& o);

// One draw of each estimator of grad F from Gumbel noise g (the same g for all, common random numbers).
//   reinforce:        f(1_k) grad log softmax(logits)_k with k = argmax(logits + g)   (unbiased, 12.7)
//   relaxed:          J^T f'(z~), J = dz~ / dtheta = (diag z~ - z~ z~^T) / tau          (12.8)
//   straight-through: J^T f'(z), z = 1_k: the forward pass sees the one-hot sample  (12.9)
using ScoreFunction = std::function<VecD(const VecD& logits, Index k, double f_k)>;
VecD reinforce_estimate(const ToyObjective& o, const VecD& g, const ScoreFunction& score = categorical_score_function);
// J^T v for the Gumbel-softmax Jacobian at z~ (J is symmetric): (z~ .* v - z~ (z~ . v)) / tau.
VecD gumbel_softmax_vjp(const VecD& y, const VecD& v, double tau);
VecD relaxed_estimate(const ToyObjective& o, const VecD& g, double tau);
VecD straight_through_estimate(const ToyObjective& o, const VecD& g, double tau);
// Straight-through for any f with derivative f_prime: J(z~)^T f'(z), z = one_hot(argmax z~),
// z~ = softmax((logits + g) / tau). (straight_through_estimate is this with f'(z) = 2 (z - t).)
VecD straight_through(const VecD& logits, const VecD& g, double tau, const std::function<VecD(const VecD&)>& f_prime);
// For a linear f(z) = c . z: E[straight-through] = E[J(z~)]^T c by quadrature over the Concrete
// density (a smooth integrand), while grad F = (diag pi - pi pi^T) c.
VecD straight_through_mean_linear(const VecD& logits, const VecD& c, double tau);

// The relaxed objective F_tau(logits) and its gradient by quadrature (K = 3) with the chapter's
// density (the exercise's concrete_log_density): grad F_tau = E[f(z~) grad_logits log p_omega(omega)] with
// d log p_omega / d log_alpha_j = 1 - K alpha_j z~_j^-tau / sum_k alpha_k z~_k^-tau (from eq. 12.4).
struct RelaxedQuadrature {
  double value = 0.0;
  VecD gradient;
};
RelaxedQuadrature relaxed_by_quadrature(const ToyObjective& o, double tau, int panels = 96);

}  // namespace course::ch12
