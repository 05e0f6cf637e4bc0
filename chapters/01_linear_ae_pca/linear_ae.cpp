// The bodies of 01_linear_ae_pca/linear_ae.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "01_linear_ae_pca/linear_ae.hpp"

namespace course::ch01 {

MatD make_spectrum_data(const VecD& spectrum, Index n, std::uint64_t seed) {
  Rng rng(seed);
  const Index d = spectrum.size();
  const MatD Q = rng.normal_matrix<double>(d, d).householderQr().householderQ();
  const MatD Z = rng.normal_matrix<double>(d, n);
  const VecD mean = rng.normal_matrix<double>(d, 1);
  return (Q * spectrum.cwiseSqrt().asDiagonal() * Z).colwise() + mean;
}

LinearAeRun train_linear_ae(const MatD& Xc, Index k, int iterations, double lr,
                                   std::uint64_t seed, const MatD& reference, int record_every,
                                   double weight_decay) {
  const Index d = Xc.rows();
  Rng rng(seed);
  LinearAeRun run;
  run.W_enc = rng.normal_matrix<double>(k, d) / std::sqrt(double(d));
  run.W_dec = rng.normal_matrix<double>(d, k) / std::sqrt(double(d));
  for (int it = 0; it <= iterations; ++it) {
    if (it % record_every == 0 || it == iterations) {
      run.iteration.push_back(it);
      run.loss.push_back(linear_ae_loss(Xc, run.W_enc, run.W_dec));
      const VecD angles = principal_angles(run.W_dec, reference);  // ascending
      run.largest_angle.push_back(angles(angles.size() - 1));
      run.median_angle.push_back(angles(angles.size() / 2));
    }
    if (it == iterations) break;
    const LinearAeGradient g = linear_ae_gradient(Xc, run.W_enc, run.W_dec);
    require_same_shape(g.W_enc, run.W_enc, "dL/dW_enc", "W_enc");
    require_same_shape(g.W_dec, run.W_dec, "dL/dW_dec", "W_dec");
    run.W_enc -= lr * (g.W_enc + weight_decay * run.W_enc);
    run.W_dec -= lr * (g.W_dec + weight_decay * run.W_dec);
  }
  return run;
}

MatD covariance_root(const Eigen::SelfAdjointEigenSolver<MatD>& eig) {
  const Index d = eig.eigenvalues().size();
  return std::sqrt(double(d)) * eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
}

MatD top_eigenvectors(const Eigen::SelfAdjointEigenSolver<MatD>& eig, Index k) {
  return eig.eigenvectors().rowwise().reverse().leftCols(k);
}

VecD eigenvalues_decreasing(const Eigen::SelfAdjointEigenSolver<MatD>& eig) {
  return eig.eigenvalues().reverse();
}

double off_direction_energy(const MatD& W_dec, const MatD& U_k) {
  MatD C = U_k.transpose() * W_dec.colwise().normalized();
  const double total = C.squaredNorm();
  return (total - C.diagonal().squaredNorm()) / double(C.cols());
}

VecD singular_direction_angles(const MatD& W_dec, const MatD& U_k) {
  const Eigen::JacobiSVD<MatD> svd(W_dec, Eigen::ComputeThinU);
  const MatD& V = svd.matrixU();
  VecD angles(U_k.cols());
  for (Index j = 0; j < U_k.cols(); ++j) {
    const VecD v = V.col(j), u = U_k.col(j);
    angles(j) = std::asin(std::min(1.0, (v - u * u.dot(v)).norm()));
  }
  return angles;
}

}  // namespace course::ch01
