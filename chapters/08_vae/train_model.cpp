// The body of 08_vae/train_model.hpp.
#include "08_vae/train_model.hpp"

#include <ostream>

#include "course/optim.hpp"
#include "course/train.hpp"

namespace course::ch08 {

Vae<float> train_model(ModelKind kind, const ImageSet& train, const TrainSpec& spec, const std::string& what,
                       std::ostream* progress) {
  ch08::VaeConfig cfg;
  cfg.input = train.dim();
  cfg.hidden = spec.hidden;
  cfg.latent = spec.latent;
  cfg.likelihood = spec.likelihood;
  cfg.beta = kind == ModelKind::Autoencoder ? 0.0 : 1.0;
  cfg.log_noise_var = std::log(0.05);
  Rng init(spec.seed);
  Vae<float> model(cfg, init);
  Adam<float> adam(model.parameters(), spec.lr);
  TrainOptions opt;
  opt.epochs = spec.epochs;
  opt.batch = spec.batch;
  opt.seed = spec.seed;
  opt.what = what;
  opt.progress = progress;
  double epoch_total = 0.0;
  Index batches = 0;
  train_minibatches(train.size(), adam, opt, [&](const Minibatch& b) {
    const MatF X = train.batch<float>(b.indices, b.size);
    // The autoencoder: eps = 0, so z = mu(x) and (beta = 0) the loss is -log p(x | mu(x)).
    Rng rng = b.rng();
    const MatF eps = kind == ModelKind::Autoencoder ? MatF::Zero(cfg.latent, X.cols())
                                                    : rng.normal_matrix<float>(cfg.latent, X.cols());
    const float loss = model.forward(X, eps);
    model.backward(X);
    epoch_total += loss;
    ++batches;
    return double(loss);
  }, [&](int) {
    const std::string line = "mean loss " + std::to_string(epoch_total / double(std::max<Index>(1, batches))) + " nats";
    epoch_total = 0.0;
    batches = 0;
    return line;
  });
  return model;
}

}  // namespace course::ch08
