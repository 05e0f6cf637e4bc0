// The bodies of 01_linear_ae_pca/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "01_linear_ae_pca/checks.hpp"

namespace course::ch01 {

Problem make_problem(std::uint64_t seed, Index n) {
  Problem p;
  VecD spectrum(10);
  spectrum << 9.0, 6.0, 4.0, 1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05;
  p.X = make_spectrum_data(spectrum, n, seed);
  p.Xc = p.X.colwise() - p.X.rowwise().mean();
  p.eig.compute(p.Xc * p.Xc.transpose() / double(n));
  return p;
}

CheckRow check_eq_1_1_subspace(const Problem& p) {
  const Pca pca = pca_via_svd(p.X, p.k);
  const MatD U = top_eigenvectors(p.eig, p.k);
  if (pca.components.rows() != U.rows() || pca.components.cols() != U.cols()) {
    CheckRow r = check_identity("1.1", "top-k eigvecs of S span the top-k left sing. vectors (rad)", 0.0, NAN);
    r.detail = "components are " + std::to_string(pca.components.rows()) + "x" + std::to_string(pca.components.cols()) +
               ", expected d x k = " + std::to_string(U.rows()) + "x" + std::to_string(U.cols());
    return r;
  }
  if (!pca.components.allFinite()) {
    CheckRow r = check_identity("1.1", "top-k eigvecs of S span the top-k left sing. vectors (rad)", 0.0, NAN);
    r.detail = "the components contain NaN or infinity";
    return r;
  }
  const double angle = principal_angles(pca.components, U).maxCoeff();
  return check_identity("1.1", "top-k eigvecs of S span the top-k left sing. vectors (rad)", 0.0, angle, 1e-8);
}

CheckRow check_eq_1_1_eigenvalues(const Problem& p) {
  const Pca pca = pca_via_svd(p.X, p.k);
  const Index d = p.X.rows();
  if (pca.eigenvalues.size() < d) {
    CheckRow r = check_identity("1.1", "eigenvalues of S = s_j^2 / n", 0.0, NAN);
    r.detail = "pca_via_svd returned " + std::to_string(pca.eigenvalues.size()) + " eigenvalues, expected " + std::to_string(d);
    return r;
  }
  return check_identity("1.1", "eigenvalues of S = s_j^2 / n", MatD(eigenvalues_decreasing(p.eig)),
                        MatD(pca.eigenvalues.head(d)));
}

CheckRow check_eq_1_2_eckart_young(const Problem& p) {
  const VecD lambda = eigenvalues_decreasing(p.eig);
  const MatD U = top_eigenvectors(p.eig, p.k);
  const double error = (p.Xc - U * (U.transpose() * p.Xc)).squaredNorm() / double(p.Xc.cols());
  return check_identity("1.2", "best rank-k error = sum of discarded eigenvalues",
                        lambda.tail(lambda.size() - p.k).sum(), error);
}

CheckRow check_eq_1_2_minimality(const Problem& p, double claimed_minimum, int trials, std::uint64_t seed) {
  const VecD lambda = eigenvalues_decreasing(p.eig);
  const MatD U = top_eigenvectors(p.eig, p.k);
  if (std::isnan(claimed_minimum)) claimed_minimum = lambda.tail(lambda.size() - p.k).sum();
  const Index d = p.Xc.rows();
  const double n = double(p.Xc.cols());
  Rng rng(seed);
  double smallest = INFINITY;
  for (int t = 0; t < 2 * trials; ++t) {
    // Even trials: a random subspace; odd ones: U_k tilted by a perturbation of size 1e-6 .. 1e-1.
    const MatD G = rng.normal_matrix<double>(d, p.k);
    const MatD B = t % 2 == 0 ? G : MatD(U + std::pow(10.0, rng.uniform(-6.0, -1.0)) * G);
    const MatD Q = B.householderQr().householderQ() * MatD::Identity(d, p.k);
    smallest = std::min(smallest, (p.Xc - Q * (Q.transpose() * p.Xc)).squaredNorm() / n);
  }
  CheckRow r = check_bound("1.2", "no rank-k projection beats it: sum_{j>k} l_j <= min over " +
                                      std::to_string(2 * trials) + " random/perturbed Q",
                           claimed_minimum, smallest, 1e-12 * claimed_minimum);
  r.detail = "smallest error " + format_number(smallest, 12) + " over " + std::to_string(trials) +
             " random orthonormal bases and " + std::to_string(trials) + " perturbations of U_k (size 1e-6..1e-1)";
  return r;
}

Weights random_weights(const Problem& p, std::uint64_t seed) {
  Rng rng(seed);
  return {rng.normal_matrix<double>(p.k, p.X.rows()) * 0.5, rng.normal_matrix<double>(p.X.rows(), p.k) * 0.5};
}

CheckRow check_eq_1_3_loss(const Problem& p, const Weights& w) {
  const Index d = p.X.rows();
  const MatD S = p.Xc * p.Xc.transpose() / double(p.Xc.cols());
  const MatD M = MatD::Identity(d, d) - w.W_dec * w.W_enc;
  return check_identity("1.3", "L = 1/(2n)||Xc - W_dec W_enc Xc||^2 = 1/2 tr(M S M^T)",
                        0.5 * (M * S * M.transpose()).trace(), linear_ae_loss(p.Xc, w.W_enc, w.W_dec));
}

CheckRow check_eq_1_4_gradient(const Problem& p, Weights w) {
  const LinearAeGradient g = linear_ae_gradient(p.Xc, w.W_enc, w.W_dec);
  const MatD gE = g.W_enc, gD = g.W_dec;
  try {
    require_same_shape(gE, w.W_enc, "dL/dW_enc", "W_enc");
    require_same_shape(gD, w.W_dec, "dL/dW_dec", "W_dec");
  } catch (const std::invalid_argument& e) {
    CheckRow r = check_identity("1.4", "dL/dW_enc, dL/dW_dec vs central differences", 0.0, NAN);
    r.kind = "gradient";
    r.detail = std::string("wrong shape: ") + e.what() + " (a transposed matrix?)";
    return r;
  }
  return check_gradient("1.4", "dL/dW_enc, dL/dW_dec vs central differences",
                        [&] { return linear_ae_loss(p.Xc, w.W_enc, w.W_dec); },
                        {grad_block("W_enc", w.W_enc, gE), grad_block("W_dec", w.W_dec, gD)});
}

TrainedAe train_on_problem(const Problem& p, int iterations) {
  TrainedAe t;
  const VecD lambda = eigenvalues_decreasing(p.eig);
  t.U = top_eigenvectors(p.eig, p.k);
  t.eckart_young = lambda.tail(lambda.size() - p.k).sum();
  t.run = train_linear_ae(covariance_root(p.eig), p.k, iterations, 0.3 / lambda(0), 3, t.U, 20);
  return t;
}

CheckRow check_eq_1_5_subspace(const TrainedAe& t) {
  CheckRow r = check_identity("1.5", "trained linear AE spans the PCA subspace (largest angle, rad)", 0.0,
                              t.run.largest_angle.back(), 1e-3);
  r.detail = "after " + std::to_string(int(t.run.iteration.back())) + " iterations of gradient descent";
  return r;
}

CheckRow check_eq_1_5_error(const TrainedAe& t) {
  // 2L is the mean squared reconstruction error; relative gap to Eckart-Young <= 1e-4.
  const double err = 2.0 * t.run.loss.back();
  CheckRow r = check_identity("1.5", "trained linear AE reaches the Eckart-Young error", t.eckart_young, err, 0.0);
  r.error = std::abs(err - t.eckart_young) / t.eckart_young;
  r.tolerance = 1e-4;
  r.pass = std::isfinite(err) && r.error <= r.tolerance;
  r.detail = "error is the relative gap |2L - sum of discarded eigenvalues| / sum";
  return r;
}

CheckRow check_eq_1_5_not_the_directions(const TrainedAe& t) {
  const double off = off_direction_energy(t.run.W_dec, t.U);
  CheckRow r = check_bound("1.5", "decoder columns are mixtures: energy off u_j >= 0.01", 0.01, off, 0.0);
  r.detail = "only the subspace is identified: W_dec = U_k C with C not diagonal; the mean share of a decoder "
             "column's energy off its own principal direction is " + format_number(off, 3) + " (0 would mean w_j = +-u_j)";
  return r;
}

CheckRow check_eq_1_5_off_direction_energy(const std::function<double(const MatD&, const MatD&)>& energy) {
  Rng rng(15);
  const MatD U = MatD(rng.normal_matrix<double>(10, 3).householderQr().householderQ()).leftCols(3);
  const double theta = 0.4;
  MatD R = MatD::Identity(3, 3);
  R(0, 0) = R(1, 1) = std::cos(theta);
  R(1, 0) = std::sin(theta);
  R(0, 1) = -std::sin(theta);
  const VecD D = (VecD(3) << 2.0, 0.5, 3.0).finished();
  return check_identity("1.5", "off-direction share of U_k R(0.4) diag(c) is 2 sin^2(0.4) / k",
                        2.0 * std::pow(std::sin(theta), 2) / 3.0, energy(U * R * D.asDiagonal(), U));
}

DecayedAe train_with_weight_decay(const Problem& p, double weight_decay, int iterations) {
  DecayedAe t;
  t.lambda = eigenvalues_decreasing(p.eig);
  t.U = top_eigenvectors(p.eig, p.k);
  t.weight_decay = weight_decay;
  t.run = train_linear_ae(covariance_root(p.eig), p.k, iterations, 0.3 / t.lambda(0), 3, t.U, 100, weight_decay);
  return t;
}

CheckRow check_eq_1_7_singular_values(const DecayedAe& t, const VecD& predicted) {
  const Index k = t.U.cols();
  const VecD truth = predicted.size() ? predicted : VecD((1.0 - t.weight_decay / t.lambda.head(k).array()).matrix());
  const VecD s2 = Eigen::JacobiSVD<MatD>(t.run.W_dec).singularValues().array().square().matrix();
  CheckRow r = check_identity("1.7", "weight decay: squared singular values of W_dec = 1 - lambda / lambda_j",
                              MatD(truth), MatD(s2), 1e-6);
  r.detail += "; lambda = " + format_number(t.weight_decay) + ", after " + std::to_string(int(t.run.iteration.back())) +
              " iterations";
  return r;
}

CheckRow check_eq_1_7_singular_vectors(const DecayedAe& t) {
  const VecD angles = singular_direction_angles(t.run.W_dec, t.U);
  CheckRow r = check_identity("1.7", "weight decay: left singular vectors of W_dec = u_j (largest angle, rad)", 0.0,
                              angles.allFinite() ? angles.maxCoeff() : NAN, 1e-4);
  r.detail = "angle between the j-th left singular vector of the trained decoder and u_j, largest over j";
  return r;
}

CheckRow check_eq_1_7_balanced(const DecayedAe& t) {
  return check_identity("1.7", "weight decay: the minimum is balanced, W_enc = W_dec^T", MatD(t.run.W_dec.transpose()),
                        t.run.W_enc, 1e-6);
}

CheckRow check_eq_1_7_columns_are_still_mixtures(const DecayedAe& t) {
  const double off = off_direction_energy(t.run.W_dec, t.U);
  CheckRow r = check_bound("1.7", "weight decay: decoder columns still mixtures (energy off u_j >= 0.01)", 0.01, off, 0.0);
  r.detail = "W_dec O, O^T W_enc has the same loss and the same penalty for every orthogonal O; share " +
             format_number(off, 3);
  return r;
}

CheckRow check_eq_1_6_principal_angles(
    double t, const std::function<VecD(const MatD&, const MatD&)>& angles_of) {
  MatD A = MatD::Zero(5, 2), B = MatD::Zero(5, 2);
  A(0, 0) = 1.0;
  A(1, 1) = 1.0;
  // B is a skewed, scaled basis of the same plane span{e1, cos t e2 + sin t e3}.
  B(0, 0) = 2.0;
  B(0, 1) = 1.0;
  B(1, 1) = 3.0 * std::cos(t);
  B(2, 1) = 3.0 * std::sin(t);
  const VecD angles = angles_of(A, B);
  if (angles.size() != 2) return check_identity("1.6", "principal angles {0, t}", t, NAN);
  CheckRow r = check_identity("1.6", "principal angles of a plane tilted by t = " + format_number(t, 6),
                              t, angles(1), 0.0);
  // Relative error in the angle itself (t may be 1e-9), and the zero angle absolutely.
  r.error = std::max(std::abs(angles(1) - t), std::abs(angles(0))) / t;
  r.tolerance = 1e-6;
  r.pass = angles.allFinite() && r.error <= r.tolerance;
  r.detail = "error: max(|second angle - t|, |first angle - 0|) / t";
  return r;
}

std::vector<CheckRow> all_checks(const Problem& p, const TrainedAe& t, const DecayedAe& decayed) {
  return {check_eq_1_1_subspace(p),          check_eq_1_1_eigenvalues(p),
          check_eq_1_2_eckart_young(p),      check_eq_1_2_minimality(p),
          check_eq_1_3_loss(p, random_weights(p)),
          check_eq_1_4_gradient(p, random_weights(p)), check_eq_1_5_subspace(t),
          check_eq_1_5_error(t),             check_eq_1_5_not_the_directions(t),
          check_eq_1_5_off_direction_energy(),
          check_eq_1_6_principal_angles(1e-9), check_eq_1_6_principal_angles(0.7),
          check_eq_1_7_singular_values(decayed), check_eq_1_7_singular_vectors(decayed),
          check_eq_1_7_balanced(decayed),
          check_eq_1_7_columns_are_still_mixtures(decayed)};
}

}  // namespace course::ch01
