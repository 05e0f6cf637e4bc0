// The bodies of 13_gan/gan.hpp's functions, compiled once.
#include "13_gan/gan.hpp"

#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <ostream>

#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch13 {

GaussianMixture2D ring_data() { return GaussianMixture2D::ring(8, 1.4, 0.02); }

MatD ring_modes(const GaussianMixture2D& g) {
  MatD M(2, Index(g.means.size()));
  for (std::size_t k = 0; k < g.means.size(); ++k) M.col(Index(k)) = g.means[k];
  return M;
}

std::string to_string(GeneratorObjective g) {
  return g == GeneratorObjective::NonSaturating ? "non-saturating -log D(G(z))" : "minimax log(1 - D(G(z)))";
}

Gan make_gan(const GanConfig& c, Rng& rng) {
  Gan gan;
  gan.config = c;
  std::vector<Index> g_sizes = {c.latent}, d_sizes = {c.data_dim};
  for (Index l = 0; l < c.layers; ++l) {
    g_sizes.push_back(c.hidden);
    d_sizes.push_back(c.hidden);
  }
  g_sizes.push_back(c.data_dim);
  d_sizes.push_back(1);
  gan.gen = nn::mlp<float>(g_sizes, nn::Activation::ReLU, c.generator_out, rng);
  gan.disc = nn::mlp<float>(d_sizes, nn::Activation::LeakyReLU, nn::Activation::Identity, rng);
  return gan;
}

MatD generate(const Gan& gan, Index n, Rng& rng) {
  const MatF Z = rng.normal_matrix<float>(gan.config.latent, n);
  return gan.gen.forward(Z).cast<double>();
}

VecD disc_probability(const Gan& gan, const MatD& X) {
  const MatF S = gan.disc.forward(X.cast<float>());
  VecD d(S.cols());
  for (Index j = 0; j < S.cols(); ++j) d(j) = nn::sigmoid(double(S(0, j)));
  return d;
}

RealData columns_of(const MatF& X) {
  return {X.cols(), [&X](const Index* idx, Index size) {
            MatF B(X.rows(), size);
            for (Index j = 0; j < size; ++j) B.col(j) = X.col(idx[j]);
            return B;
          }};
}

RealData images_of(const ImageSet& set) {
  return {set.size(), [&set](const Index* idx, Index size) { return set.batch<float>(idx, size); }};
}

GanHistory train_gan(Gan& gan, const RealData& data, std::uint64_t seed, const std::vector<int>& snapshot_epochs,
                     Index snapshot_n, const std::function<std::string(int)>& after_epoch, std::ostream* progress,
                     const DiscLossFn& disc_loss, const GenLossFn& gen_loss_in) {
  const GanConfig& c = gan.config;
  const GenLossFn gen_loss = gen_loss_in ? gen_loss_in
                             : c.objective == GeneratorObjective::NonSaturating ? GenLossFn(generator_loss_nonsaturating)
                                                                                 : GenLossFn(generator_loss_minimax);
  Adam<float> adam_d(gan.disc.parameters("disc"), float(c.lr_d), float(c.beta1));
  Adam<float> adam_g(gan.gen.parameters("gen"), float(c.lr_g), float(c.beta1));
  Rng fixed(seed, 0x5A3F);
  const MatF z_fixed = fixed.normal_matrix<float>(c.latent, snapshot_n);
  GanHistory h;
  h.snapshot_epochs = snapshot_epochs;
  if (!snapshot_epochs.empty() && snapshot_epochs.front() == 0) h.snapshots.push_back(gan.gen.forward(z_fixed).cast<double>());

  double g_total = 0.0, d_real = 0.0, d_fake = 0.0;
  Index batches = 0;
  const auto to_vec = [](const MatF& S, Index first, Index n) { return VecD(S.row(0).segment(first, n).transpose().cast<double>()); };
  TrainOptions opt;
  opt.epochs = c.epochs;
  opt.batch = c.batch;
  opt.seed = seed;
  opt.what = "GAN (" + to_string(c.objective) + ")";
  opt.progress = progress;
  const TrainLog log = train_minibatches(
      data.count, opt,
      [&](const Minibatch& b) {
        Rng r = b.rng();
        double d_loss = 0.0;
        // ---- the discriminator's step(s): minimise L_D = -V(D, G) (eq. 13.1) -------------------
        for (int k = 0; k < c.d_steps; ++k) {
          MatF X(c.data_dim, 2 * b.size);
          X.leftCols(b.size) = data.batch(b.indices, b.size);
          X.rightCols(b.size) = gan.gen.forward(r.normal_matrix<float>(c.latent, b.size));
          adam_d.zero_grad();
          const MatF& S = gan.disc.forward(X);  // one pass over [real, fake]
          const DiscriminatorLoss L = disc_loss(to_vec(S, 0, b.size), to_vec(S, b.size, b.size));
          MatF dS(1, 2 * b.size);
          dS.row(0).head(b.size) = L.d_real.transpose().cast<float>();
          dS.row(0).tail(b.size) = L.d_fake.transpose().cast<float>();
          gan.disc.backward(dS, false);
          adam_d.step();
          d_loss = L.loss;
          for (Index j = 0; j < b.size; ++j) {
            d_real += nn::sigmoid(double(S(0, j))) / double(b.size * c.d_steps);
            d_fake += nn::sigmoid(double(S(0, b.size + j))) / double(b.size * c.d_steps);
          }
        }
        // ---- the generator's step: minimise L_G through D (eq. 13.4) ----------------------------
        adam_g.zero_grad();
        const MatF& F = gan.gen.forward(r.normal_matrix<float>(c.latent, b.size));
        const MatF& S = gan.disc.forward(F);
        const GeneratorLoss G = gen_loss(to_vec(S, 0, b.size));
        const MatF dF = gan.disc.backward(MatF(G.grad.transpose().cast<float>()), true);  // dL/dx~
        gan.gen.backward(dF, false);  // D's own gradients from this pass are zeroed before its next step
        adam_g.step();
        require_finite_loss(G.loss, b.epoch, long(b.index), "GAN generator loss");
        g_total += G.loss;
        ++batches;
        return d_loss;
      },
      [&](int e) {
        h.epoch.push_back(double(e + 1));
        h.g_loss.push_back(g_total / double(batches));
        h.d_real.push_back(d_real / double(batches));
        h.d_fake.push_back(d_fake / double(batches));
        g_total = d_real = d_fake = 0.0;
        batches = 0;
        for (int s : snapshot_epochs)
          if (s == e + 1) h.snapshots.push_back(gan.gen.forward(z_fixed).cast<double>());
        return after_epoch ? after_epoch(e) : std::string();
      });
  h.d_loss = log.epoch_loss;
  h.seconds = log.seconds;
  return h;
}

double mode_radius(const GaussianMixture2D& g) { return kModeRadiusSd * std::sqrt(g.variances.front()); }

double coverage_min_count(const GaussianMixture2D& g, Index n, double alpha) {
  const double K = double(g.means.size());
  const double share = g.weights.front() * (1.0 - std::exp(-0.5 * kModeRadiusSd * kModeRadiusSd));
  const boost::math::binomial_distribution<double> binom(double(n), share);
  // The largest c with P(count < c) = P(count <= c - 1) <= alpha / K.
  double c = 0.0;
  while (c < double(n) && boost::math::cdf(binom, c) <= alpha / K) c += 1.0;
  return c;
}

ModeCoverage mode_coverage(const GaussianMixture2D& g, const MatD& X) {
  ModeCoverage m;
  m.counts = samples_per_mode(X, ring_modes(g), mode_radius(g));
  m.min_count = coverage_min_count(g, X.cols());
  m.expected_on_mode = 1.0 - std::exp(-0.5 * kModeRadiusSd * kModeRadiusSd);
  for (Index k = 0; k < m.counts.size(); ++k)
    if (m.counts(k) >= m.min_count) ++m.covered;
  m.on_mode = m.counts.sum() / double(X.cols());
  return m;
}

}  // namespace course::ch13
