// The derivation checks of chapter 12's two networks (networks.hpp): the gradient of each batch
// loss with respect to every parameter, against central differences, on small models in double.
#pragma once

#include <functional>
#include <vector>

#include "12_cvae_discrete/networks.hpp"
#include "course/check.hpp"

namespace course::ch12 {

// The analytic gradient of every parameter block, as plain vectors (so a test can plant a wrong one).
struct NetworkGradient {
  std::vector<std::string> names;
  std::vector<VecD> blocks;
};
NetworkGradient gradient_of(const std::vector<Param<double>>& params);

// (12.2) A small CVAE (D = 12, C = 3, H = 7, L = 3, B = 5), a batch with labels and fixed eps.
// Central differences are wrong at a ReLU kink, so the test point is drawn again (next seed) until
// every hidden pre-activation of the batch is at least 0.01 away from 0.
struct SmallCvae {
  Cvae<double> model;
  MatD X, Y, eps;
};
SmallCvae small_cvae(std::uint64_t seed = 122);
NetworkGradient cvae_gradient(SmallCvae& s);
// Every coordinate of every parameter's gradient against central differences of the batch loss.
// Wrong formulas it rejects: the KL's d/dlog_var without its 1/2; a decoder gradient summed
// instead of averaged over the batch.
CheckRow check_eq_12_2_cvae_gradient(SmallCvae& s, const NetworkGradient& g);

// (12.10) A small discrete VAE (D = 12, H = 7, N = 3 groups of K = 4, B = 5) at fixed Gumbel noise
// and temperature, relaxed (not straight-through: its backward pass is not the gradient of any
// loss, eq. 12.9).
struct SmallDvae {
  Dvae<double> model;
  MatD X, G;
  double tau = 0.7;
};
SmallDvae small_dvae(std::uint64_t seed = 1210);
NetworkGradient dvae_gradient(SmallDvae& s);
// Wrong formulas it rejects: the categorical KL's gradient left out; the encoder's gradient with
// a wrong factor tau^2 (the Jacobian's 1/tau taken as tau).
CheckRow check_eq_12_10_dvae_gradient(SmallDvae& s, const NetworkGradient& g);

// (12.6) in the network: Dvae::kl_to_uniform (from the logits, the training loss's KL) of each
// image of the small model against exercise 12.5's categorical_kl_to_uniform of its posterior
// (identity, 1e-10, the worst image). Wrong formula it rejects: the log K missing.
using NetworkKl = std::function<VecD(Dvae<double>& model, const MatD& Theta)>;
CheckRow check_eq_12_6_network_kl(SmallDvae& s, const NetworkKl& kl = {});

// (12.3) in the network: the discrete ELBO of one image with z = one_hot(argmax(logits + g)),
// averaged over n draws of g, against the exact ELBO sum_z q(z|x) log p(x|z) - KL(q || uniform)
// by enumerating all K^N = 64 codes of the small model (z = 5, false-failure rate 5.7e-7).
// Wrong formula it rejects: Gaussian noise for Gumbel noise (the code then is not a draw from q;
// 2^18 draws put it about 11 SE off: 5.4 SE with 2^16, too close to the threshold).
using CodeNoise = std::function<MatD(Index rows, Index cols, Rng& rng)>;
MatD gumbel_noise_matrix(Index rows, Index cols, Rng& rng);
CheckRow check_eq_12_3_discrete_elbo_unbiased(SmallDvae& s, const CodeNoise& noise = gumbel_noise_matrix,
                                               Index n = Index(1) << 18, std::uint64_t seed = 1203);

}  // namespace course::ch12
