// The bodies of 04_sparse_dropout_ae/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "04_sparse_dropout_ae/checks.hpp"

namespace course::ch04 {

void probe_mask(const MaskFn& mask, double drop_rate) {
  Rng probe(0);
  mask(1, 1, drop_rate, probe);
}

Problem make_problem(std::uint64_t seed) {
  Rng rng(seed);
  Problem p;
  p.X = rng.uniform_matrix<double>(10, 8, 0.0, 1.0);
  p.sigmoid_ae = OneLayerAe<double>(10, 6, nn::Activation::Sigmoid, rng);
  p.tanh_ae = OneLayerAe<double>(10, 6, nn::Activation::Tanh, rng);
  return p;
}

Regulariser kl_regulariser(const Problem& p) {
  Regulariser r;
  r.kind = Regulariser::Kind::KL;
  r.rho = p.rho;
  r.beta = p.beta;
  return r;
}

Regulariser l1_regulariser(const Problem& p) {
  Regulariser r;
  r.kind = Regulariser::Kind::L1;
  r.lambda = p.lambda;
  return r;
}

double kl_penalty_cross_entropy_form(double rho, const MatD& H, double beta) {
  const VecD q = H.rowwise().mean();
  const double entropy = -rho * std::log(rho) - (1.0 - rho) * std::log1p(-rho);
  const double cross = (-rho * q.array().log() - (1.0 - rho) * (-q.array()).log1p()).sum();
  return beta * (cross - double(q.size()) * entropy);
}

CheckRow check_eq_4_1_kl_penalty(const Problem& p, const PenaltyFn& penalty) {
  const MatD H = p.sigmoid_ae.encode(p.X);
  return check_identity("4.1", "beta sum_j KL(rho||rho_hat_j) = beta sum_j [CE(rho, rho_hat_j) - H(rho)]",
                        kl_penalty_cross_entropy_form(p.rho, H, p.beta), penalty(p.rho, H, p.beta));
}

CheckRow check_eq_4_1_zero_at_target(const Problem& p, const PenaltyFn& penalty) {
  MatD H(6, 8);
  for (Index j = 0; j < H.cols(); ++j) H.col(j).setConstant(p.rho + (j % 2 ? 0.05 : -0.05));
  // A property every divergence has (a penalty missing its (1 - rho) term is 0 there too), so the
  // table labels it a definition; the evidence for (4.1) is the cross-entropy form above.
  CheckRow r = check_identity("4.1", "[definition] the penalty is 0 when every rho_hat_j = rho", 0.0, penalty(p.rho, H, p.beta));
  r.kind = "definition";
  return r;
}

CheckRow check_eq_4_2_kl_gradient(const Problem& p, const KlGradientFn& gradient) {
  MatD Z = p.sigmoid_ae.enc().forward(p.X);
  auto sigmoid_of = [](const MatD& A) { return nn::activation_forward(nn::Activation::Sigmoid, A); };
  const MatD G = gradient(p.rho, sigmoid_of(Z), p.beta);
  if (G.rows() != Z.rows() || G.cols() != Z.cols()) {
    CheckRow r = check_identity("4.2", "dP/dZ vs central differences", 0.0, NAN);
    r.detail = "kl_sparsity_gradient returned " + std::to_string(G.rows()) + "x" + std::to_string(G.cols()) +
               ", expected the shape of H, " + std::to_string(Z.rows()) + "x" + std::to_string(Z.cols());
    return r;
  }
  return check_gradient("4.2", "dP/dZ of the KL penalty vs central differences",
                        [&] { return kl_penalty_cross_entropy_form(p.rho, sigmoid_of(Z), p.beta); },
                        {grad_block("Z", Z, G)});
}

CheckRow check_network_gradient(const std::string& id, const std::string& claim, OneLayerAe<double> ae,
                                       const MatD& X, const Regulariser& reg, const Regulariser& backward_reg) {
  ae.zero_grad();
  ae.forward_backward(X, backward_reg);
  const MatD gWe = ae.enc().dW, gWd = ae.dec().dW;
  const VecD gbe = ae.enc().db, gbd = ae.dec().db;
  return check_gradient(id, claim, [&] { return ae.loss(X, reg).total(); },
                        {grad_block("W_enc", ae.enc().W, gWe), grad_block("b_enc", ae.enc().b, gbe),
                         grad_block("W_dec", ae.dec().W, gWd), grad_block("b_dec", ae.dec().b, gbd)});
}

CheckRow check_eq_4_6_dropout_network_gradient(const Problem& p, double delta, std::uint64_t seed,
                                               std::uint64_t backward_seed, bool mask_in_loss) {
  OneLayerAe<double> ae = p.sigmoid_ae;
  Regulariser reg = kl_regulariser(p);
  reg.drop_rate = delta;
  Rng backward_rng(backward_seed, 4), mask_rng(seed, 4);
  ae.zero_grad();
  const double returned = ae.forward_backward(p.X, reg, &backward_rng).total();
  const MatD gWe = ae.enc().dW, gWd = ae.dec().dW;
  const VecD gbe = ae.enc().db, gbd = ae.dec().db;
  const MatD H0 = ae.encode(p.X);
  const MatD S = mask_in_loss ? inverted_dropout_mask(H0.rows(), H0.cols(), delta, mask_rng) : MatD::Ones(H0.rows(), H0.cols());
  auto loss = [&] {
    const MatD H = ae.encode(p.X);
    return nn::mse_loss<double>(ae.dec().forward(MatD(S.cwiseProduct(H))), p.X) + code_penalty(reg, H);
  };
  CheckRow r = check_gradient("4.6", "dropout AE (training pass, mask S frozen): dJ/dtheta vs central differences", loss,
                              {grad_block("W_enc", ae.enc().W, gWe), grad_block("b_enc", ae.enc().b, gbe),
                               grad_block("W_dec", ae.dec().W, gWd), grad_block("b_dec", ae.dec().b, gbd)});
  // The objective the training loop reports must be the same loss (the penalty on the undropped H).
  const CheckRow value = check_identity("4.6", "the loss returned by the training pass", loss(), returned);
  if (!value.passed()) {
    r.pass = false;
    r.detail += "\nthe training pass returns L = " + format_number(returned, 10) + ", the masked loss is " +
                format_number(loss(), 10);
  }
  return r;
}

CheckRow check_eq_4_3_sparse_network_gradient(const Problem& p) {
  const Regulariser reg = kl_regulariser(p);
  return check_network_gradient("4.3", "sparse AE: dJ/dtheta vs central differences (all 4 blocks)", p.sigmoid_ae,
                                p.X, reg, reg);
}

CheckRow check_eq_4_4_l1_subgradient(const Problem& p, const SubgradientFn& subgradient) {
  Rng rng(11);
  MatD H = rng.uniform_matrix<double>(6, 8, 0.05, 1.0);
  for (Index i = 0; i < H.size(); ++i)
    if (rng.bernoulli(0.5)) H(i) = -H(i);
  const MatD G = subgradient(H, p.lambda);
  if (G.rows() != H.rows() || G.cols() != H.cols()) return check_identity("4.4", "dP/dH vs central differences", 0.0, NAN);
  return check_gradient("4.4", "L1: (lambda/B) sign(H) vs central differences, |h| >= 0.05",
                        [&] { return l1_penalty(H, p.lambda); }, {grad_block("H", H, G)});
}

CheckRow check_eq_4_4_subgradient_at_zero(const Problem& p, const SubgradientFn& subgradient) {
  MatD H = MatD::Zero(6, 8);
  H(0, 0) = 0.3;
  H(1, 1) = -0.2;
  const MatD G = subgradient(H, p.lambda);
  double worst = 0.0;
  for (Index j = 0; j < H.cols(); ++j)
    for (Index i = 0; i < H.rows(); ++i)
      if (H(i, j) == 0.0) worst = std::isfinite(G(i, j)) ? std::max(worst, std::abs(G(i, j))) : NAN;
  CheckRow r = check_bound("4.4", "at h = 0: |subgradient| <= lambda/B (0 in the subdifferential)", worst,
                           p.lambda / double(H.cols()), 1e-15);
  r.detail = "largest |dP/dh| over the zero entries of H";
  return r;
}

CheckRow check_eq_4_4_l1_network_gradient(const Problem& p) {
  const double margin = p.tanh_ae.encode(p.X).cwiseAbs().minCoeff();
  const Regulariser reg = l1_regulariser(p);
  CheckRow r = check_network_gradient("4.4", "L1 AE (tanh code): dJ/dtheta vs central differences", p.tanh_ae, p.X,
                                      reg, reg);
  r.detail = "smallest |h_ji| at the check point: " + std::to_string(margin) + (r.detail.empty() ? "" : "\n" + r.detail);
  if (margin < 1e-3) {
    r.pass = false;
    r.detail = "the check point is too close to the kink (|h| < 1e-3): " + r.detail;
  }
  return r;
}

CheckRow check_eq_4_5_mean_activation(const VecD& rho_hat, double rho, double beta, const std::string& where) {
  const double mean = rho_hat.mean();
  CheckRow r = check_identity("4.5", "trained sparse AE: mean activation within rho/2 of rho (" + where + ")", rho, mean, 0.0);
  r.kind = "bound";
  r.error = std::abs(mean - rho) / rho;
  r.tolerance = 0.5;
  r.pass = std::isfinite(mean) && r.error <= r.tolerance;
  const MatD Q = rho_hat;  // one column: the penalty of a "batch" whose means are rho_hat
  const double P = kl_penalty_cross_entropy_form(rho, Q, beta);
  const double rms = std::sqrt((rho_hat.array() - rho).square().mean());
  r.detail = "error = |mean_j rho_hat_j - rho| / rho; per unit: RMS_j |rho_hat_j - rho| = " + std::to_string(rms) +
             " <= sqrt(P / (2 beta k)) = " + std::to_string(std::sqrt(P / (2.0 * beta * double(rho_hat.size())))) +
             " (Pinsker), min rho_hat_j = " + std::to_string(rho_hat.minCoeff()) +
             ", max = " + std::to_string(rho_hat.maxCoeff());
  return r;
}

VecD dropout_check_vector() {
  VecD x(6);
  x << 0.5, -1.0, 2.0, 0.25, -3.0, 1.5;
  return x;
}

CheckRow check_eq_4_6_dropout_mean(double delta, const MaskFn& mask,
                                          Index n, std::uint64_t seed) {
  const VecD x = dropout_check_vector();
  probe_mask(mask, delta);
  const McVecEstimate est = monte_carlo_vec(n, x.size(), seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    out = mask(x.size(), 1, delta, rng).col(0).cwiseProduct(x);
  });
  return check_monte_carlo("4.6", "inverted dropout keeps the mean: E[S .* x] = x (delta = " +
                                      format_number(delta, 2) + ")", x, est, 1e-6);
}

CheckRow check_eq_4_6_kept_fraction(double delta, const MaskFn& mask,
                                           Index n, std::uint64_t seed) {
  probe_mask(mask, delta);
  const McEstimate est = monte_carlo(n, seed, [&](Rng& rng) {
    const MatD S = mask(10, 1, delta, rng);
    return double((S.array() != 0.0).count()) / 10.0;
  });
  return check_monte_carlo("4.6", "kept fraction = 1 - delta", 1.0 - delta, est);
}

DropoutRegression make_dropout_regression(std::uint64_t seed) {
  Rng rng(seed);
  DropoutRegression r;
  const Index p = 6, n = 20;
  VecD scale(p);
  scale << 0.3, 0.6, 1.0, 1.5, 2.0, 3.0;
  r.X = scale.asDiagonal() * rng.normal_matrix<double>(p, n);
  const VecD w_true = rng.normal_matrix<double>(p, 1);
  r.y = r.X.transpose() * w_true + 0.5 * rng.normal_matrix<double>(n, 1);
  r.w = w_true + 0.3 * rng.normal_matrix<double>(p, 1);
  return r;
}

double clean_loss(const DropoutRegression& r) { return (r.y - r.X.transpose() * r.w).squaredNorm(); }

double adaptive_penalty(const DropoutRegression& r) {
  return (r.w.array().square() * r.X.rowwise().squaredNorm().array()).sum();
}

double expected_dropout_loss(const DropoutRegression& r) {
  return clean_loss(r) + r.delta / (1.0 - r.delta) * adaptive_penalty(r);
}

McEstimate dropout_loss_estimate(const DropoutRegression& r, const MaskFn& mask,
                                        Index n, std::uint64_t seed) {
  probe_mask(mask, r.delta);
  return monte_carlo(n, seed, [&](Rng& rng) {
    const MatD S = mask(r.X.rows(), r.X.cols(), r.delta, rng);
    return (r.y - S.cwiseProduct(r.X).transpose() * r.w).squaredNorm();
  });
}

CheckRow check_eq_4_7_dropout_is_adaptive_l2(const DropoutRegression& r, double analytic,
                                                    const McEstimate& estimate) {
  CheckRow row = check_monte_carlo("4.7", "E[dropout loss] = clean + delta/(1-delta) sum_j w_j^2 sum_i x_ij^2",
                                   analytic, estimate);
  row.detail = "clean loss " + std::to_string(clean_loss(r)) + ", adaptive penalty " +
               std::to_string(r.delta / (1.0 - r.delta) * adaptive_penalty(r)) + "; " + row.detail;
  return row;
}

CheckRow check_eq_4_7_dropout_is_adaptive_l2(const DropoutRegression& r) {
  return check_eq_4_7_dropout_is_adaptive_l2(r, expected_dropout_loss(r), dropout_loss_estimate(r));
}

double expected_dropout_ae_loss(const Problem& p, double delta, double penalty_factor) {
  const MatD H = p.sigmoid_ae.encode(p.X);
  const double B = double(p.X.cols());
  const double clean = 0.5 * (p.sigmoid_ae.dec().forward(H) - p.X).squaredNorm() / B;
  const double pen = (p.sigmoid_ae.dec().W.colwise().squaredNorm().array() * H.rowwise().squaredNorm().transpose().array()).sum();
  return clean + penalty_factor * delta / (1.0 - delta) * pen / B;
}

CheckRow check_eq_4_7_dropout_autoencoder(const Problem& p, double delta, double analytic,
                                                 const MaskFn& mask, Index n,
                                                 std::uint64_t seed) {
  const MatD H = p.sigmoid_ae.encode(p.X);
  probe_mask(mask, delta);
  const McEstimate est = monte_carlo(n, seed, [&](Rng& rng) {
    const MatD S = mask(H.rows(), H.cols(), delta, rng);
    return 0.5 * (p.sigmoid_ae.dec().forward(S.cwiseProduct(H)) - p.X).squaredNorm() / double(H.cols());
  });
  return check_monte_carlo("4.7", "dropout AE: E[recon. loss] = clean + delta/(2B(1-delta)) sum_j |w_j|^2 sum_i h_ji^2",
                           analytic, est);
}

CheckRow check_eq_4_7_dropout_autoencoder(const Problem& p, double delta) {
  return check_eq_4_7_dropout_autoencoder(p, delta, expected_dropout_ae_loss(p, delta));
}

std::vector<CheckRow> all_checks(const Problem& p, const DropoutRegression& r) {
  return {check_eq_4_1_kl_penalty(p),
          check_eq_4_1_zero_at_target(p),
          check_eq_4_2_kl_gradient(p),
          check_eq_4_3_sparse_network_gradient(p),
          check_eq_4_4_l1_subgradient(p),
          check_eq_4_4_subgradient_at_zero(p),
          check_eq_4_4_l1_network_gradient(p),
          check_eq_4_6_dropout_mean(0.3),
          check_eq_4_6_kept_fraction(0.3),
          check_eq_4_6_dropout_network_gradient(p),
          check_eq_4_7_dropout_is_adaptive_l2(r),
          check_eq_4_7_dropout_autoencoder(p)};
}

}  // namespace course::ch04
