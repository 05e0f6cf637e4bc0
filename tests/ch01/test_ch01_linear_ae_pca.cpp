// Chapter 1: every tagged equation of docs/01-linear-autoencoder-pca.md, and the wrong formula
// each check must reject.
#include "01_linear_ae_pca/checks.hpp"
#include "check_test.hpp"

using namespace course;
using namespace course::ch01;

namespace {
const Problem& problem() {
  static const Problem p = make_problem(1);
  return p;
}
const TrainedAe& trained() {
  static const TrainedAe t = train_on_problem(problem());
  return t;
}
DecayedAe decayed_plain() {
  DecayedAe t = train_with_weight_decay(problem(), 0.5, 0);
  t.run = trained().run;
  return t;
}
const DecayedAe& decayed() {
  static const DecayedAe t = train_with_weight_decay(problem());
  return t;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ch01_linear_ae_pca)

BOOST_AUTO_TEST_CASE(eq_1_1_covariance_eigenvectors_span_the_left_singular_subspace) {
  COURSE_CHECK(check_eq_1_1_subspace(problem()));
  // Rejects: PCA of uncentred data (the mean tilts the subspace).
  const Problem& p = problem();
  Eigen::BDCSVD<MatD> uncentred(p.X, Eigen::ComputeThinU);
  COURSE_CHECK_REJECTS(check_identity("1.1", "uncentred", 0.0,
                                      principal_angles(uncentred.matrixU().leftCols(p.k), top_eigenvectors(p.eig, p.k)).maxCoeff(), 1e-8),
                       "the SVD of uncentred data");
}

BOOST_AUTO_TEST_CASE(eq_1_1_eigenvalues_are_squared_singular_values_over_n) {
  COURSE_CHECK(check_eq_1_1_eigenvalues(problem()));
  const Problem& p = problem();
  const VecD s = Eigen::BDCSVD<MatD>(p.Xc).singularValues();
  const MatD truth = eigenvalues_decreasing(p.eig);
  const double n = double(p.Xc.cols());
  COURSE_CHECK_REJECTS(check_identity("1.1", "", truth, MatD(s.array().square() / (n - 1))), "1/(n-1) instead of 1/n");
  COURSE_CHECK_REJECTS(check_identity("1.1", "", truth, MatD(s / std::sqrt(n))), "s_j / sqrt(n) ... s_j instead of s_j^2");
  COURSE_CHECK_REJECTS(check_identity("1.1", "", truth, MatD(s.array().square())), "a missing 1/n");
}

BOOST_AUTO_TEST_CASE(eq_1_2_eckart_young_error_is_the_sum_of_discarded_eigenvalues) {
  COURSE_CHECK(check_eq_1_2_eckart_young(problem()));
  const Problem& p = problem();
  const VecD lambda = eigenvalues_decreasing(p.eig);
  const MatD U = top_eigenvectors(p.eig, p.k);
  const double error = (p.Xc - U * (U.transpose() * p.Xc)).squaredNorm() / double(p.Xc.cols());
  COURSE_CHECK_REJECTS(check_identity("1.2", "", lambda.head(p.k).sum(), error), "the sum of the kept eigenvalues");
  COURSE_CHECK_REJECTS(check_identity("1.2", "", lambda.tail(lambda.size() - p.k - 1).sum(), error), "an off-by-one in k");
}

// The value of (1.2) is not its claim: "best" means no rank-k projection does better.
BOOST_AUTO_TEST_CASE(eq_1_2_no_random_or_perturbed_rank_k_projection_beats_eckart_young) {
  const Problem& p = problem();
  COURSE_CHECK(check_eq_1_2_minimality(p));
  const VecD lambda = eigenvalues_decreasing(p.eig);
  const double n = double(p.Xc.cols());
  const double discarded = lambda.tail(lambda.size() - p.k).sum();
  // A claimed minimum that random subspaces alone could not refute: the perturbations of U_k can.
  COURSE_CHECK_REJECTS(check_eq_1_2_minimality(p, discarded * n / (n - 1)), "the minimum with a 1/(n-1) normaliser");
  COURSE_CHECK_REJECTS(check_eq_1_2_minimality(p, lambda.tail(lambda.size() - p.k + 1).sum()),
                       "one eigenvalue too many discarded (k - 1 kept)");
}

BOOST_AUTO_TEST_CASE(eq_1_3_loss_equals_its_trace_form) {
  COURSE_CHECK(check_eq_1_3_loss(problem(), random_weights(problem())));
  // Rejects a loss without its 1/2.
  const Problem& p = problem();
  const Weights w = random_weights(p);
  const double with_half = check_eq_1_3_loss(p, w).analytic;
  COURSE_CHECK_REJECTS(check_identity("1.3", "", with_half, 2.0 * linear_ae_loss(p.Xc, w.W_enc, w.W_dec)), "a missing 1/2");
}

BOOST_AUTO_TEST_CASE(eq_1_4_gradient_matches_central_differences) {
  COURSE_CHECK(check_eq_1_4_gradient(problem(), random_weights(problem())));
  // Rejects a gradient with a factor 2 (from d||r||^2 = 2r without the loss's 1/2) and one that
  // flips the residual's sign in dL/dW_enc = (1/n) W_dec^T R Xc^T.
  const Problem& p = problem();
  Weights w = random_weights(p);
  const LinearAeGradient g = linear_ae_gradient(p.Xc, w.W_enc, w.W_dec);
  const MatD gE2 = 2.0 * g.W_enc, gD2 = 2.0 * g.W_dec;
  auto loss = [&] { return linear_ae_loss(p.Xc, w.W_enc, w.W_dec); };
  COURSE_CHECK_REJECTS(check_gradient("1.4", "", loss, {grad_block("W_enc", w.W_enc, gE2), grad_block("W_dec", w.W_dec, gD2)}),
                       "a gradient missing the 1/2 (factor 2 too large)");
  const MatD R = w.W_dec * (w.W_enc * p.Xc) - p.Xc;
  const MatD flipped = (w.W_dec.transpose() * (-R)) * p.Xc.transpose() / double(p.Xc.cols());
  COURSE_CHECK_REJECTS(check_gradient("1.4", "", loss, {grad_block("W_enc", w.W_enc, flipped), grad_block("W_dec", w.W_dec, g.W_dec)}),
                       "the residual's sign flipped in dL/dW_enc (X - W_dec H instead of W_dec H - X)");
  const MatD noN = R * (w.W_enc * p.Xc).transpose();
  COURSE_CHECK_REJECTS(check_gradient("1.4", "", loss, {grad_block("W_enc", w.W_enc, g.W_enc), grad_block("W_dec", w.W_dec, noN)}),
                       "a missing 1/n in dL/dW_dec");
}

BOOST_AUTO_TEST_CASE(eq_1_5_gradient_descent_reaches_the_pca_subspace_and_the_eckart_young_error) {
  COURSE_CHECK(check_eq_1_5_subspace(trained()));
  COURSE_CHECK(check_eq_1_5_error(trained()));
  // Early in training neither holds: the checks can fail.
  const TrainedAe& t = trained();
  COURSE_CHECK_REJECTS(check_identity("1.5", "", 0.0, t.run.largest_angle[1], 1e-3), "the AE after 20 iterations");
}

BOOST_AUTO_TEST_CASE(eq_1_5_decoder_columns_are_not_the_principal_directions) {
  COURSE_CHECK(check_eq_1_5_not_the_directions(trained()));
  // The check measures what it claims: PCA's own basis scores 1.
  TrainedAe pca_itself = trained();
  pca_itself.run.W_dec = pca_itself.U;
  COURSE_CHECK_REJECTS(check_eq_1_5_not_the_directions(pca_itself), "the principal directions themselves");
}

// The share that the previous check bounds, on a basis where it is known exactly.
BOOST_AUTO_TEST_CASE(eq_1_5_off_direction_share_is_measured_exactly) {
  COURSE_CHECK(check_eq_1_5_off_direction_energy());
  COURSE_CHECK_REJECTS(check_eq_1_5_off_direction_energy([](const MatD& W, const MatD& U) {
                         const MatD C = U.transpose() * W;
                         return (C.squaredNorm() - C.diagonal().squaredNorm()) / double(C.cols());
                       }),
                       "the share of unnormalised columns");
  COURSE_CHECK_REJECTS(check_eq_1_5_off_direction_energy([](const MatD& W, const MatD& U) {
                         const MatD C = U.transpose() * W.colwise().normalized();
                         return C.squaredNorm() - C.diagonal().squaredNorm();
                       }),
                       "the sum over columns for the mean");
}

// Weight decay does not pick the directions (the objective is invariant under W_dec O, O^T W_enc);
// it fixes the decoder's SVD: W_dec = U_k diag(sqrt(1 - lambda/lambda_j)) O.
BOOST_AUTO_TEST_CASE(eq_1_7_weight_decay_fixes_the_decoders_svd_not_its_columns) {
  const DecayedAe& t = decayed();
  COURSE_CHECK(check_eq_1_7_singular_values(t));
  COURSE_CHECK(check_eq_1_7_singular_vectors(t));
  COURSE_CHECK(check_eq_1_7_columns_are_still_mixtures(t));
  COURSE_CHECK(check_eq_1_7_balanced(t));
  COURSE_CHECK_REJECTS(check_eq_1_7_balanced(decayed_plain()), "the plain AE (W_enc = C^-1 U_k^T, not W_dec^T)");
  const VecD l = t.lambda.head(3);
  COURSE_CHECK_REJECTS(check_eq_1_7_singular_values(t, VecD((1.0 - 0.5 * t.weight_decay / l.array()).matrix())),
                       "1 - lambda / (2 lambda_j) (the decay's gradient taken as lambda/2 W)");
  COURSE_CHECK_REJECTS(check_eq_1_7_singular_values(t, VecD::Ones(3)), "the plain AE's unit singular values");
  // Without decay the singular vectors are not determined by (1.5) alone: the plain AE's are not the u_j.
  DecayedAe plain = t;
  plain.run = trained().run;
  COURSE_CHECK_REJECTS(check_eq_1_7_singular_vectors(plain), "the plain AE's left singular vectors");
  // The claim "the columns become the principal directions" is what the mixture check refutes.
  DecayedAe aligned = t;
  aligned.run.W_dec = t.U;
  COURSE_CHECK_REJECTS(check_eq_1_7_columns_are_still_mixtures(aligned), "columns equal to the principal directions");
}

BOOST_AUTO_TEST_CASE(eq_1_6_principal_angles_are_exact_even_for_tiny_angles) {
  COURSE_CHECK(check_eq_1_6_principal_angles(1e-9));
  COURSE_CHECK(check_eq_1_6_principal_angles(0.7));
  // Invariance: the angles depend on the subspaces, not on the bases.
  Rng rng(4);
  const MatD A = rng.normal_matrix<double>(8, 3), B = rng.normal_matrix<double>(8, 3);
  const MatD C = rng.normal_matrix<double>(3, 3);
  COURSE_CHECK(check_identity("1.6", "basis invariance", MatD(principal_angles(A, B)), MatD(principal_angles(A * C, B))));
  // The acos-only formula a student is likely to write loses the tiny angle entirely.
  auto acos_only = [](const MatD& A, const MatD& B) {
    const Index d = A.rows(), k = A.cols();
    const MatD Qa = A.householderQr().householderQ() * MatD::Identity(d, k);
    const MatD Qb = B.householderQr().householderQ() * MatD::Identity(d, k);
    VecD c = Eigen::JacobiSVD<MatD>(MatD(Qa.transpose() * Qb)).singularValues();
    return VecD(c.array().min(1.0).acos());
  };
  COURSE_CHECK_REJECTS(check_eq_1_6_principal_angles(1e-9, acos_only), "acos of the cosines for a 1e-9 rad angle");
}

BOOST_AUTO_TEST_SUITE_END()
