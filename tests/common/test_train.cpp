// The training loop (course/train.hpp) and the promise of the whole stack: the trained parameters
// are bitwise the same for 1 and 2 threads.
#include <set>

#include "check_test.hpp"
#include "thread_test.hpp"
#include "course/error.hpp"
#include "course/sequential.hpp"
#include "course/train.hpp"

using namespace course;
using namespace course::nn;

namespace {

// A 40-32-6-32-40 denoising autoencoder (relu, tanh code), and its training for 2 epochs of batch
// 16 on 200 random samples with Adam, fresh corruption from each batch's stream. Every layer has
// more than one row block (or is small), so 2 threads really split the products.
Sequential<float> small_autoencoder() {
  Rng init(31);
  Sequential<float> net;
  net.add(Linear<float>(40, 32, init));
  net.add(Activation::ReLU);
  net.add(Linear<float>(32, 6, init));
  net.add(Activation::Tanh);
  net.add(Linear<float>(6, 32, init));
  net.add(Activation::LeakyReLU);
  net.add(Linear<float>(32, 40, init));
  return net;
}

std::vector<std::vector<float>> train_small_autoencoder() {
  Sequential<float> net = small_autoencoder();
  Rng data_rng(32);
  const MatF data = data_rng.uniform_matrix<float>(40, 200, 0.0, 1.0);
  Adam<float> adam(net.parameters("ae"), 1e-2f);
  TrainOptions opt;
  opt.epochs = 2;
  opt.batch = 16;
  opt.seed = 33;
  train_minibatches(data.cols(), adam, opt, [&](const Minibatch& b) {
    MatF X(40, b.size);
    for (Index j = 0; j < b.size; ++j) X.col(j) = data.col(b.indices[j]);
    Rng noise = b.rng();
    const MatF Y = net.forward(X + 0.1f * noise.normal_matrix<float>(40, b.size));
    net.backward(mse_backward<float>(Y, X), false);
    return double(mse_loss<float>(Y, X));
  }, no_metrics);
  return test::values_of(net.parameters());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(train)

BOOST_AUTO_TEST_CASE(trained_parameters_are_bitwise_equal_for_one_and_two_threads) {
  // Not an equation: the design of the stack (fixed row blocks, fixed Adam chunks, randomness
  // from (seed, epoch, batch)) promises the same bits whatever --threads is.
  Sequential<float> start = small_autoencoder();
  test::check_bitwise_equal_for_1_and_2_threads(test::values_of(start.parameters()), train_small_autoencoder);
}

BOOST_AUTO_TEST_CASE(each_epoch_visits_every_sample_once_in_a_seeded_order) {
  const Index n = 53;  // 8 batches of 7, the last one of 4
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch = 7;
  opt.seed = 5;
  std::vector<std::vector<Index>> orders(3);
  std::vector<std::uint64_t> first_draws;
  const TrainLog log = train_minibatches(n, opt, [&](const Minibatch& b) {
    for (Index j = 0; j < b.size; ++j) orders[std::size_t(b.epoch)].push_back(b.indices[j]);
    if (b.index == 0) first_draws.push_back(b.rng()());
    return 1.0;
  }, no_metrics);
  for (const auto& o : orders) {
    BOOST_TEST(o.size() == std::size_t(n));
    BOOST_TEST(std::set<Index>(o.begin(), o.end()).size() == std::size_t(n));
  }
  BOOST_TEST(orders[0] != orders[1]);        // reshuffled every epoch
  BOOST_TEST(first_draws[0] != first_draws[1]);  // each epoch's batches have their own streams
  BOOST_TEST(log.epoch_loss.size() == 3u);
  BOOST_TEST(log.epoch_loss[2] == 1.0);
}

BOOST_AUTO_TEST_CASE(a_non_finite_loss_stops_training_before_the_update_and_names_the_batch) {
  VecF w = VecF::Ones(3), g = VecF::Zero(3);
  Adam<float> adam({{w.data(), g.data(), 3, "w"}}, 0.1f);
  TrainOptions opt;
  opt.epochs = 2;
  opt.batch = 10;
  opt.what = "tiny model";
  VecF before;
  try {
    train_minibatches(50, adam, opt, [&](const Minibatch& b) {
      g.setOnes();
      if (b.epoch == 1 && b.index == 2) {
        before = w;
        return std::nan("");
      }
      return 1.0;
    }, no_metrics);
    BOOST_FAIL("a NaN loss did not stop training");
  } catch (const TrainingDiverged& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("tiny model loss became NaN at epoch 2, batch 3") != std::string::npos, what);
  }
  BOOST_TEST((w.array() == before.array()).all());  // the NaN batch's step was not taken
  BOOST_TEST(adam.steps() == 5 + 2);
  BOOST_CHECK_THROW(train_minibatches(0, adam, opt, [](const Minibatch&) { return 0.0; }, no_metrics), InputError);
}

BOOST_AUTO_TEST_SUITE_END()
