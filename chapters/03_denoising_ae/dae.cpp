// The bodies of 03_denoising_ae/dae.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "03_denoising_ae/dae.hpp"

namespace course::ch03 {

ImageDaeRun train_image_dae(const ImageSet& train, const Corruption& corrupt, Index hidden, int epochs,
                                   Index batch, double lr, std::uint64_t seed, std::ostream& log,
                                   const std::string& what) {
  Rng rng(seed);
  ImageDaeRun run;
  run.net = nn::mlp<float>({train.dim(), hidden, train.dim()}, nn::Activation::ReLU, nn::Activation::Sigmoid, rng);
  Adam<float> adam(run.net.parameters(), float(lr));
  TrainOptions opt;
  opt.epochs = epochs;
  opt.batch = batch;
  opt.seed = seed;
  opt.what = what;
  opt.progress = &log;
  // Fresh corruption every batch, from the batch's own stream (eq. 3.2).
  const TrainLog trained = train_minibatches(train.size(), adam, opt, [&](const Minibatch& b) {
    const MatD X = train.batch<double>(b.indices, b.size);
    Rng noise = b.rng();
    return dae_loss_and_gradient(run.net, MatF(corrupt(X, noise).cast<float>()), MatF(X.cast<float>()));
  }, [](int, double mean_loss) { return "loss " + std::to_string(mean_loss); });
  run.epoch_loss = trained.epoch_loss;
  return run;
}

double mse_per_image(const MatD& A, const MatD& B) { return (A - B).squaredNorm() / double(A.cols()); }

MatD gaussian_optimal_dae(const VecD& mu, const MatD& Sigma, double sigma, const MatD& X) {
  const MatD W = linear_dae_weights(Sigma, sigma);
  return (W * (X.colwise() - mu)).colwise() + mu;
}

MatD gaussian_score(const VecD& mu, const MatD& C, const MatD& X) {
  return -C.llt().solve(MatD(X.colwise() - mu));
}

Eigen::Vector2d mixture_posterior_mean(const GaussianMixture2D& g, double sigma, const Eigen::Vector2d& x) {
  const double s2 = sigma * sigma;
  std::vector<double> logw(g.weights.size());
  double mx = -INFINITY;
  for (std::size_t c = 0; c < g.weights.size(); ++c) {
    const double v = g.variances[c] + s2;
    logw[c] = std::log(g.weights[c]) - std::log(v) - (x - g.means[c]).squaredNorm() / (2.0 * v);
    mx = std::max(mx, logw[c]);
  }
  double total = 0.0;
  Eigen::Vector2d mean = Eigen::Vector2d::Zero();
  for (std::size_t c = 0; c < g.weights.size(); ++c) {
    const double p = std::exp(logw[c] - mx);
    total += p;
    mean += p * (g.means[c] + g.variances[c] / (g.variances[c] + s2) * (x - g.means[c]));
  }
  return mean / total;
}

GaussianMixture2D chapter_mixture() { return GaussianMixture2D::ring(8, 2.0, 0.04); }

MixtureDaeRun train_mixture_dae(const GaussianMixture2D& g, double sigma, int steps, std::uint64_t seed,
                                       std::ostream* log, int record_every) {
  Rng rng(seed);
  MixtureDaeRun run;
  run.sigma = sigma;
  run.net = nn::mlp<float>({2, 64, 64, 2}, nn::Activation::Tanh, nn::Activation::Identity, rng);
  Adam<float> adam(run.net.parameters(), 3e-3f);
  const Index batch = 256;
  const int per_epoch = 500;
  const int epochs = (steps + per_epoch - 1) / per_epoch;
  std::unique_ptr<Progress> progress;
  if (log) progress = std::make_unique<Progress>(*log, "2-D DAE", epochs, per_epoch);
  double running = 0.0;
  for (int t = 0; t < steps; ++t) {
    if (t == steps * 3 / 4) adam.set_lr(1e-3f);  // a smaller step for the last quarter
    const MatD X = g.sample(batch, rng);
    const MatD Xn = gaussian_corruption(X, sigma, rng);
    const double loss = dae_step(run.net, adam, MatF(Xn.cast<float>()), MatF(X.cast<float>()));
    require_finite_loss(loss, t / per_epoch, t % per_epoch, "2-D DAE loss");
    running = t == 0 ? loss : 0.98 * running + 0.02 * loss;
    if ((t + 1) % record_every == 0) {
      run.step.push_back(t + 1);
      run.loss.push_back(running);
    }
    if (progress) {
      progress->batch(t % per_epoch, loss);
      if ((t + 1) % per_epoch == 0 || t + 1 == steps) progress->epoch(t / per_epoch, "loss " + std::to_string(running));
    }
  }
  return run;
}

MatD dae_score(const MixtureDaeRun& run, const MatD& X) {
  const MatD R = run.net.forward(X.cast<float>()).cast<double>();
  return (R - X) / (run.sigma * run.sigma);
}

double mean_cosine(const MatD& A, const MatD& B) {
  double total = 0.0;
  for (Index j = 0; j < A.cols(); ++j) total += A.col(j).dot(B.col(j)) / (A.col(j).norm() * B.col(j).norm() + 1e-300);
  return total / double(A.cols());
}

MatD mixture_score(const GaussianMixture2D& g, double sigma, const MatD& X) {
  MatD S(2, X.cols());
  for (Index j = 0; j < X.cols(); ++j) S.col(j) = g.score(X.col(j), sigma * sigma);
  return S;
}

}  // namespace course::ch03
