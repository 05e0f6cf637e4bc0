// Chapter 4's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them all and tests/ch04 asserts each one (and that each rejects the
// likely wrong formula named beside it). Functions that take an exercise as a parameter default to
// the exercise; the tests pass a planted wrong formula instead.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "04_sparse_dropout_ae/sparse_ae.hpp"
#include "course/check.hpp"

namespace course::ch04 {

using PenaltyFn = std::function<double(double rho, const MatD& H, double beta)>;
using KlGradientFn = std::function<MatD(double rho, const MatD& H, double beta)>;
using SubgradientFn = std::function<MatD(const MatD& H, double lambda)>;
using MaskFn = std::function<MatD(Index rows, Index cols, double drop_rate, Rng& rng)>;

// Calls the mask once outside the parallel Monte Carlo loop, so that an exercise stub's
// NotImplemented is thrown here, as an ordinary test failure: an exception escaping an OpenMP
// region would terminate the program instead.
void probe_mask(const MaskFn& mask, double drop_rate);

// A small network and batch at which the penalties and gradients are checked: d = 10, k = 6,
// B = 8, data in [0, 1], PyTorch's initialisation (so the sigmoid codes sit near 1/2, far from rho).
struct Problem {
  MatD X;
  OneLayerAe<double> sigmoid_ae, tanh_ae;
  double rho = 0.1, beta = 3.0, lambda = 0.7;
};

Problem make_problem(std::uint64_t seed = 1);

Regulariser kl_regulariser(const Problem& p);
Regulariser l1_regulariser(const Problem& p);

// The same penalty written another way: KL(rho || q) = CE(rho, q) - H(rho), the cross-entropy
// -rho log q - (1 - rho) log(1 - q) minus the entropy -rho log rho - (1 - rho) log(1 - rho).
double kl_penalty_cross_entropy_form(double rho, const MatD& H, double beta);

// ---- (4.1) the KL sparsity penalty ---------------------------------------------------------

// The penalty at the problem's codes against its cross-entropy form.
// Wrong formulas it rejects: the reversed KL(rho_hat || rho); a missing (1 - rho) term.
CheckRow check_eq_4_1_kl_penalty(const Problem& p, const PenaltyFn& penalty = kl_sparsity_penalty);

// The penalty vanishes when every unit's mean activation is rho (codes rho +- 0.05 alternately).
// Wrong formula it rejects: the cross-entropy alone (without subtracting the entropy of rho).
CheckRow check_eq_4_1_zero_at_target(const Problem& p, const PenaltyFn& penalty = kl_sparsity_penalty);

// ---- (4.2) its gradient with respect to the pre-activations --------------------------------

// dP/dZ against central differences of P(sigmoid(Z)) (the cross-entropy form, independent of 4.1).
// Wrong formulas it rejects: a missing 1/B, a missing sigmoid' h(1 - h), the reversed KL's gradient.
CheckRow check_eq_4_2_kl_gradient(const Problem& p, const KlGradientFn& gradient = kl_sparsity_gradient);

// ---- (4.3) and (4.4): backpropagation through the whole network ----------------------------

// Every parameter's gradient of L = 1/(2B)||X_hat - X||^2 + P(H), as OneLayerAe::forward_backward
// computes it with `backward_reg`, against central differences of L with `reg`. The two differ only
// when a test plants a wrong backward pass (e.g. one that forgets the penalty).
CheckRow check_network_gradient(const std::string& id, const std::string& claim, OneLayerAe<double> ae,
                                       const MatD& X, const Regulariser& reg, const Regulariser& backward_reg);

// (4.3) The sparse autoencoder (sigmoid code, KL penalty).
// Wrong formulas it rejects: a backward pass without the penalty; the penalty counted twice.
CheckRow check_eq_4_3_sparse_network_gradient(const Problem& p);

// (4.4) The L1 subgradient against central differences of the penalty, at codes with every
// |h_ji| in [0.05, 1] (away from the kink at 0, where |h| has no derivative).
// Wrong formulas it rejects: H instead of sign(H) (the L2 gradient), a flipped sign, a missing 1/B.
CheckRow check_eq_4_4_l1_subgradient(const Problem& p, const SubgradientFn& subgradient = l1_subgradient);

// (4.4) At h = 0 the returned value must lie in the subdifferential (lambda/B) [-1, 1].
// Wrong formula it rejects: h / |h| (NaN at 0).
CheckRow check_eq_4_4_subgradient_at_zero(const Problem& p, const SubgradientFn& subgradient = l1_subgradient);

// (4.4) Through a tanh-code network with the L1 penalty, where no |h_ji| is within 1e-3 of 0.
CheckRow check_eq_4_4_l1_network_gradient(const Problem& p);

// ---- (4.5) after training, the mean activation is near rho ---------------------------------

// rho_hat: each unit's mean activation on held-out data. Passes when the mean over units is within
// rho/2 of rho. The detail adds Pinsker's bound on the spread of the units around rho,
// RMS_j |rho_hat_j - rho| <= sqrt(P / (2 beta k)).
// Wrong result it rejects: an unpenalised sigmoid autoencoder (mean activation near 1/2).
CheckRow check_eq_4_5_mean_activation(const VecD& rho_hat, double rho, double beta, const std::string& where);

// ---- (4.6) inverted dropout keeps the mean -------------------------------------------------

VecD dropout_check_vector();

// E[S .* x] = x, every entry at once (Bonferroni, false-failure rate 1e-6 for the row).
// Wrong formulas it rejects: no scaling (mean (1 - delta) x); scaling by 1/delta.
CheckRow check_eq_4_6_dropout_mean(double delta, const MaskFn& mask = inverted_dropout_mask,
                                          Index n = 100000, std::uint64_t seed = 46);

// The fraction of kept entries is 1 - delta (z = 5: false-failure rate 5.7e-7).
// Wrong formula it rejects: keeping with probability delta.
CheckRow check_eq_4_6_kept_fraction(double delta, const MaskFn& mask = inverted_dropout_mask,
                                           Index n = 20000, std::uint64_t seed = 47);

// ---- (4.7) dropout is adaptive L2 regularisation (Wager et al. 2013) -----------------------

// A linear regression y_i ~ w . x_i with n = 20 samples of p = 6 features of very different scales
// (standard deviations 0.3 ... 3), so the adaptive penalty differs from a plain ridge.
struct DropoutRegression {
  MatD X;  // p x n, one sample per column
  VecD y;  // n
  VecD w;  // p: the weights at which the expectation is taken
  double delta = 0.3;
};

DropoutRegression make_dropout_regression(std::uint64_t seed = 3);

// The clean loss sum_i (y_i - w . x_i)^2 and the penalty sum_j w_j^2 sum_i x_ij^2 (without its factor).
double clean_loss(const DropoutRegression& r);
double adaptive_penalty(const DropoutRegression& r);
// The right-hand side of (4.7).
double expected_dropout_loss(const DropoutRegression& r);

// Monte Carlo draws of the dropout loss  sum_i (y_i - w . (s_i .* x_i))^2,  S = mask(p, n, delta).
McEstimate dropout_loss_estimate(const DropoutRegression& r, const MaskFn& mask = inverted_dropout_mask,
                                        Index n = 200000, std::uint64_t seed = 47);

// E[dropout loss] = clean loss + delta/(1 - delta) sum_j w_j^2 sum_i x_ij^2 (z = 5).
// Wrong formulas it rejects (the tests plant them as `analytic`): delta instead of delta/(1 - delta);
// delta/(1 - delta)^2; a plain ridge n delta/(1 - delta) sum_j w_j^2 (data-independent);
// and, as `estimate`, dropout without the 1/(1 - delta) scaling.
CheckRow check_eq_4_7_dropout_is_adaptive_l2(const DropoutRegression& r, double analytic,
                                                    const McEstimate& estimate);
CheckRow check_eq_4_7_dropout_is_adaptive_l2(const DropoutRegression& r);

// The same identity for the dropout autoencoder: for a fixed code H the decoder is a linear model
// of H, so with dropout S on the code (drop rate delta),
//   E_S[ 1/(2B) ||W_dec (S .* H) + b_dec - X||^2 ] = 1/(2B) ||W_dec H + b_dec - X||^2
//                                                 + delta/(2B(1 - delta)) sum_j ||W_dec[:, j]||^2 sum_i h_ji^2.
// Checked at the problem's sigmoid network (z = 5). Wrong formula it rejects (planted as
// `analytic` by the tests): the penalty without its 1/2 from the loss's normalisation.
double expected_dropout_ae_loss(const Problem& p, double delta, double penalty_factor = 0.5);
CheckRow check_eq_4_7_dropout_autoencoder(const Problem& p, double delta, double analytic,
                                                 const MaskFn& mask = inverted_dropout_mask, Index n = 200000,
                                                 std::uint64_t seed = 48);
CheckRow check_eq_4_7_dropout_autoencoder(const Problem& p, double delta = 0.3);

// Every check on synthetic data, in the order of the doc (4.5 needs a trained model: see main.cpp).
// (4.6) The backward pass of training WITH dropout: forward_backward draws a mask S from an rng and
// the decoder sees S .* H, so the gradient must be that of the loss with S frozen,
// 1/(2B)||W_dec (S .* H) + b_dec - X||^2 + P(H) (the penalty on the undropped code). Compared with
// central differences of that loss, all four blocks; the sparse penalty is on too. The mask is
// drawn from Rng(seed) in both; `backward_seed` != seed plants a backward pass that uses a
// different mask than its forward pass. Rejects that, and the test-time loss without S.
CheckRow check_eq_4_6_dropout_network_gradient(const Problem& p, double delta = 0.4, std::uint64_t seed = 46,
                                               std::uint64_t backward_seed = 46, bool mask_in_loss = true);

std::vector<CheckRow> all_checks(const Problem& p, const DropoutRegression& r);

}  // namespace course::ch04
