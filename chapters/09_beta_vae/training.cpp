// The bodies of 09_beta_vae/training.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "09_beta_vae/training.hpp"

namespace course::ch09 {

ch08::VaeConfig beta_vae_config(Index dim, const TrainConfig& c, double beta) {
  ch08::VaeConfig v;
  v.input = dim;
  v.hidden = c.hidden;
  v.latent = c.latent;
  v.likelihood = ch08::Likelihood::Bernoulli;
  v.beta = beta;
  return v;
}

Vae<float> train_beta_vae(const ImageSet& train, double beta, const TrainConfig& c, std::ostream& os) {
  Rng init(c.seed);
  Vae<float> vae(beta_vae_config(train.dim(), c, beta), init);
  Adam<float> adam(vae.parameters(), c.lr);
  std::ostringstream what;
  what << "beta = " << beta;
  TrainOptions opt;
  opt.epochs = c.epochs;
  opt.batch = c.batch;
  opt.seed = c.seed;
  opt.what = what.str();
  opt.progress = &os;
  double sum_d = 0.0, sum_r = 0.0;
  Index batches = 0;
  MatF X;
  train_minibatches(train.size(), adam, opt, [&](const Minibatch& b) {
    const float loss = ch08::forward_minibatch(vae, train, b, X);
    // forward() has just filled the batch's per-image -log p(x|z) and KL.
    sum_d += double(vae.reconstruction.mean());
    sum_r += double(vae.kl.mean());
    ++batches;
    vae.backward(X);
    return double(loss);
  }, [&](int) {
    std::ostringstream m;
    m << "distortion " << sum_d / double(batches) << "  rate " << sum_r / double(batches) << " nats";
    sum_d = sum_r = 0.0;
    batches = 0;
    return m.str();
  });
  return vae;
}

std::vector<int> discretise(const VecD& x, int bins) {
  const double lo = x.minCoeff(), hi = x.maxCoeff();
  std::vector<int> out(std::size_t(x.size()), 0);
  if (!(hi > lo)) return out;
  for (Index i = 0; i < x.size(); ++i)
    out[std::size_t(i)] = std::min(bins - 1, int(double(bins) * (x(i) - lo) / (hi - lo)));
  return out;
}

void measure_rate_distortion(BetaRun& run, const ImageSet& test, std::uint64_t seed, MatD* mu_all) {
  Rng rng(seed);
  Vae<float>& vae = run.vae;
  const Index k = vae.latent(), n = test.size(), chunk = 500;
  if (mu_all) mu_all->resize(k, n);
  run.distortion = run.rate = 0.0;
  run.kl_per_dim = VecD::Zero(k);
  for (Index first = 0; first < n; first += chunk) {
    const Index m = std::min(chunk, n - first);
    vae.forward(test.range<float>(first, m), rng.normal_matrix<float>(k, m));
    run.distortion += double(vae.reconstruction.sum()) / double(n);
    run.rate += double(vae.kl.sum()) / double(n);
    const MatD mu = vae.mu().cast<double>(), lv = vae.log_var().cast<double>();
    run.kl_per_dim += 0.5 * (mu.array().square() + lv.array().exp() - 1.0 - lv.array()).matrix().rowwise().sum() / double(n);
    if (mu_all) mu_all->middleCols(first, m) = mu;
  }
}

void evaluate(BetaRun& run, const ImageSet& test, std::uint64_t seed) {
  MatD mu_all;
  measure_rate_distortion(run, test, seed, &mu_all);
  const Index k = mu_all.rows(), n = mu_all.cols();
  std::vector<std::vector<int>> codes, factors;
  for (Index j = 0; j < k; ++j) codes.push_back(discretise(mu_all.row(j).transpose(), 20));
  for (Index f = 0; f < test.factors.cols(); ++f) {
    if (f == 0) {
      std::vector<int> shape;
      for (Index i = 0; i < n; ++i) shape.push_back(int(test.factors(i, 0)));
      factors.push_back(shape);
    } else {
      factors.push_back(discretise(test.factors.col(f), 20));
    }
  }
  run.mig = mutual_information_gap(codes, factors);
  run.factor_gap.clear();
  for (const auto& v : factors) run.factor_gap.push_back(mutual_information_gap(codes, {v}));
}

}  // namespace course::ch09
