// Chapter 12's tractable models, where every quantity is known exactly:
//   - the conditional linear-Gaussian model (a linear CVAE): its evidence log p(x | y) and its
//     exact posterior p(z | x, y), by reduction to chapter 5's Gaussian formulas;
//   - the Gumbel and Concrete (Gumbel-softmax) distributions: noise, the Concrete density in the
//     coordinates s_i = log(y_i / y_K), and expectations under it by quadrature;
//   - the toy objective of the gradient estimators: E_{z ~ Cat(softmax(theta))} ||z - t||^2.
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

// e_k, the one-hot vector of class k among K.
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

// The Concrete density in logit coordinates. A point y of the simplex is s = (log(y_i / y_K))_{i<K}
// in R^(K-1), and y = softmax([s; 0]). The density of s is the density of y times the Jacobian
// |det dy_{1:K-1} / ds| = prod_{k=1..K} y_k, so log p_s(s) = log p_y(y(s)) + sum_k log y_k.
using LogDensity = std::function<double(const VecD& y, const VecD& log_alpha, double tau)>;
VecD simplex_point(const VecD& s);
double logit_log_density(const LogDensity& log_density, const VecD& s, const VecD& log_alpha, double tau);

// The centre and the scale of s under Concrete(alpha, tau): s_i = (log_alpha_i - log_alpha_K +
// g_i - g_K) / tau, and g_i - g_K is logistic, so s_i is centred at (log_alpha_i - log_alpha_K) / tau
// with scale 1 / tau (tails exp(-tau |s - centre|)).
VecD logit_centre(const VecD& log_alpha, double tau);

// The integral of f(s) p_s(s) over R^(K-1) for K = 2 or 3, by the composite 10-point
// Gauss-Legendre rule over centre +- 44 / tau (the logistic mass outside is below e^-44 ~ 1e-19)
// on `panels` panels per axis (width 88 / (tau panels); the integrand varies on the scale 1 / tau).
// f returns `dim` numbers; the result is their integrals.
VecD concrete_expectation(const LogDensity& log_density, const VecD& log_alpha, double tau,
                          const std::function<void(const VecD& y, Eigen::Ref<VecD> out)>& f, Index dim,
                          int panels = 96);

// =============================================================================================
// The toy objective of the gradient estimators
//   F(theta) = E_{z ~ Cat(softmax(theta))} f(z),   f(z) = ||z - t||^2 for one-hot z
// and its relaxation  F_tau(theta) = E_g f(y),  y = softmax((theta + g) / tau).
// =============================================================================================
struct ToyObjective {
  VecD theta;  // K logits
  VecD t;      // K: the target
  Index classes() const { return theta.size(); }
  double f(const VecD& z) const { return (z - t).squaredNorm(); }
};
// K = 3, theta = (0.6, -0.4, 0.1), t = (0.1, 0.3, 0.8): the most likely class is the one farthest
// from t, so the gradient is far from zero.
ToyObjective toy_objective();

// F(theta) = sum_k pi_k f(e_k) and its exact gradient pi .* (f - F) (since d pi_k / d theta_j =
// pi_k (delta_kj - pi_j)).
double toy_exact_value(const ToyObjective& o);
VecD toy_exact_gradient(const ToyObjective& o);

// One draw of each estimator of grad F from Gumbel noise g (the same g for all, common random numbers).
//   reinforce:        f(e_k) grad log softmax(theta)_k with k = argmax(theta + g)   (unbiased, 12.7)
//   relaxed:          J^T f'(y), J = dy / dtheta = (diag y - y y^T) / tau          (12.8)
//   straight-through: J^T f'(z), z = e_k: the forward pass sees the one-hot sample  (12.9)
using ScoreFunction = std::function<VecD(const VecD& theta, Index k, double f_k)>;
VecD reinforce_estimate(const ToyObjective& o, const VecD& g, const ScoreFunction& score = categorical_score_function);
// J^T v for the Gumbel-softmax Jacobian at y (J is symmetric): (y .* v - y (y . v)) / tau.
VecD gumbel_softmax_vjp(const VecD& y, const VecD& v, double tau);
VecD relaxed_estimate(const ToyObjective& o, const VecD& g, double tau);
VecD straight_through_estimate(const ToyObjective& o, const VecD& g, double tau);
// Straight-through for any f with derivative f_prime: J(y)^T f'(z), z = one_hot(argmax y),
// y = softmax((theta + g) / tau). (straight_through_estimate is this with f'(z) = 2 (z - t).)
VecD straight_through(const VecD& theta, const VecD& g, double tau, const std::function<VecD(const VecD&)>& f_prime);
// For a linear f(z) = c . z: E[straight-through] = E[J(y)]^T c by quadrature over the Concrete
// density (a smooth integrand), while grad F = (diag pi - pi pi^T) c.
VecD straight_through_mean_linear(const VecD& theta, const VecD& c, double tau);

// The relaxed objective F_tau(theta) and its gradient by quadrature (K = 3) with the chapter's
// density (the exercise's concrete_log_density): grad F_tau = E[f(y) grad_theta log p_s(s)] with
// d log p_s / d log_alpha_j = 1 - K alpha_j y_j^-tau / sum_k alpha_k y_k^-tau (from eq. 12.4).
struct RelaxedQuadrature {
  double value = 0.0;
  VecD gradient;
};
RelaxedQuadrature relaxed_by_quadrature(const ToyObjective& o, double tau, int panels = 96);

}  // namespace course::ch12
