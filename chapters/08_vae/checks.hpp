// Chapter 8's derivation checks. Each function returns one row of the verification table; the
// chapter program prints them and tests/ch08 asserts each one (and that each rejects the likely
// wrong formula named beside it).
#pragma once

#include <functional>
#include <numbers>
#include <vector>

#include "08_vae/linear_vae.hpp"
#include "08_vae/vae.hpp"
#include "course/check.hpp"
#include "course/parallel.hpp"
#include "course/exercises/ch06_gaussian_kl.hpp"
#include "course/exercises/ch08_vae.hpp"

namespace course::ch08 {

inline const double log_2pi = std::log(2 * std::numbers::pi);

// A fixed small Gaussian q(z|x) used by the sampling checks (L = 3).
struct SmallGaussian {
  VecD mu = (VecD(3) << 0.8, -1.5, 0.1).finished();
  VecD log_var = (VecD(3) << -1.2, 1.0, 0.5).finished();
};

// (8.1) z = mu + exp(log_var / 2) eps has mean mu and variance exp(log_var): both moments of each
// coordinate by Monte Carlo, Bonferroni over the 6 entries (false-failure rate 1e-6 for the row).
// Wrong formulas it rejects: exp(log_var) or log_var as the standard deviation.
CheckRow check_eq_8_1_reparameterization(
    const std::function<MatD(const MatD&, const MatD&, const MatD&)>& reparam = reparameterize,
    Index n = 200000, std::uint64_t seed = 81);

// (8.2) The closed-form KL(N(mu, diag exp(lv)) || N(0, I)) against the Monte Carlo mean of
// log q(z) - log p(z), z ~ q. Wrong formulas it rejects: a missing 1/2, exp(lv/2) (sigma) for
// exp(lv) (sigma^2), + lv for - lv.
double kl_closed_form(const SmallGaussian& g);
McEstimate kl_monte_carlo(const SmallGaussian& g, Index n = 400000, std::uint64_t seed = 82);
CheckRow check_eq_8_2_kl(double closed_form, const McEstimate& e);

// (8.2) The model's batched KL is chapter 6's kl_diag_std_normal (exercise 6.1, eq. 6.7), column by
// column: the VAE's regulariser is exactly the closed form derived there.
CheckRow check_eq_8_2_kl_is_chapter_6s(const std::function<double(const VecD&, const VecD&)>& kl_diag =
                                                  ch06::kl_diag_std_normal);

// (8.3) The Bernoulli negative log-likelihood from logits equals the textbook
// -sum [x log s + (1 - x) log(1 - s)] (where that is finite), and its gradient is sigmoid(a) - x.
struct BernoulliCase {
  VecD x, a;
};
BernoulliCase bernoulli_case(std::uint64_t seed = 83);
double bernoulli_nll_textbook(const VecD& x, const VecD& a);
CheckRow check_eq_8_3_value(const BernoulliCase& c, double value);
CheckRow check_eq_8_3_gradient(const BernoulliCase& c, const VecD& grad);
// Stability: logits of +-1000 give a finite value (log(1 - sigmoid(1000)) is -inf in double).
CheckRow check_eq_8_3_stable(double value_at_1000, double exact);

// (8.4) The per-image loss l(mu, lv) = -log p(x | z) + KL with z = mu + exp(lv/2) eps, eps fixed,
// and a fixed linear Bernoulli decoder a = Wd z + bd. Its gradient with respect to [mu; lv] is
// checked against central differences. Wrong formulas it rejects: the KL part left out, a missing
// 1/2 in d sigma / d lv, sigma for sigma^2 in the KL's gradient.
struct EncoderCase {
  VecD x, mu, log_var, eps, bd;
  MatD Wd;
};
EncoderCase encoder_case(std::uint64_t seed = 84);
double encoder_case_loss(const EncoderCase& c, const VecD& mu_lv);
// dl/dz of the decoder part: Wd^T (sigmoid(a) - x).
VecD encoder_case_dl_dz(const EncoderCase& c);
CheckRow check_eq_8_4_encoder_gradient(const EncoderCase& c, const EncoderGradient& g);

// (8.5) The gradient of the whole minibatch loss with respect to every parameter of a small VAE
// (D = 12, H = 7, L = 3, B = 5, double) against central differences, with eps held fixed.
struct SmallVae {
  Vae<double> vae;
  MatD X, eps;
  VecD log_noise_var;  // the Gaussian decoder's log sigma^2, as a 1-vector for the checker
};
// Central differences are wrong at a ReLU kink, so the test point is drawn again (next seed) until
// every hidden pre-activation of the batch is at least 0.01 away from 0.
SmallVae small_vae(Likelihood likelihood, std::uint64_t seed = 85);
// The analytic gradient as plain matrices (so a test can plant a wrong one).
struct VaeGradient {
  std::vector<MatD> blocks;  // enc1.W, enc1.b, enc2.W, enc2.b, dec1.W, dec1.b, dec2.W, dec2.b, [log s2]
};
VaeGradient vae_gradient(SmallVae& s);
CheckRow check_eq_8_5_minibatch_gradient(SmallVae& s, const VaeGradient& g);

// (8.6) Importance weighting. For each image, M samples z_i ~ q(z|x) give log-weights
//   log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x),
// and L_m = log mean_{i<=m} w_i (averaged over disjoint blocks, below). Returned per image: L_m for each m in `ms`, the one-sample ELBO
// estimate log p(x|z_1) - KL (same z_1 as L_1), and (optional) nothing else.
struct IwEstimates {
  std::vector<Index> ms;  // the sample counts m
  MatD L;        // images x ms.size(): L_m per image
  VecD elbo;     // images: one-sample ELBO with the closed-form KL
};
template <class Scalar>
IwEstimates importance_weighted(const Vae<Scalar>& model, const Mat<Scalar>& X, const std::vector<Index>& ms,
                                std::uint64_t seed,
                                const std::function<double(const VecD&)>& lme = log_mean_exp) {
  const Index n = X.cols(), M = ms.back(), L = model.latent();
  IwEstimates out;
  out.ms = ms;
  out.L.resize(n, Index(ms.size()));
  out.elbo.resize(n);
  lme(VecD::Zero(1));  // an exercise stub throws here, once, before any block runs
  // Image i draws from its own stream Rng(seed, i): the same numbers for any thread count. Blocks
  // of 32 images run through parallel::for_blocks (load-robust, see course/parallel.hpp); each
  // block decodes into its own copy of the model's workspace.
  constexpr Index block = 32;
  parallel::for_blocks((n + block - 1) / block, [&](Index b) {
    Vae<Scalar> vae = model;
    for (Index i = b * block; i < std::min(n, (b + 1) * block); ++i) {
      Rng rng(seed, std::uint64_t(i));
      const Mat<Scalar> x = X.col(i);
      vae.encode(x);
      const Vec<Scalar> mu = vae.mu(), lv = vae.log_var();
      const Mat<Scalar> eps = rng.normal_matrix<Scalar>(L, M);
      const Mat<Scalar> Z = (eps.array().colwise() * (Scalar(0.5) * lv.array()).exp()).matrix().colwise() + mu;
      vae.decode(Z);
      const Vec<Scalar> log_px_z = vae.log_likelihood_of(x.col(0));
      VecD log_w(M);
      const double half_L_log2pi = 0.5 * double(L) * log_2pi;
      for (Index j = 0; j < M; ++j) {
        const double log_p_z = -0.5 * double(Z.col(j).squaredNorm()) - half_L_log2pi;
        const double log_q_z = -0.5 * double(eps.col(j).squaredNorm() + lv.sum()) - half_L_log2pi;
        log_w(j) = double(log_px_z(j)) + log_p_z - log_q_z;
      }
      // E[L_m] for m < M from the same M draws: the mean of L_m over the M/m disjoint blocks. It is
      // unbiased for E[L_m] like a single block, with a fraction of its variance, and it shares its
      // draws with L_M, so the differences L_M - L_m that (8.6) tests are measured sharply.
      for (std::size_t c = 0; c < ms.size(); ++c) {
        const Index m = ms[c];
        if (m == 1 || M % m != 0) {  // L_1 stays the first draw: it is paired with the ELBO's z_1
          out.L(i, Index(c)) = lme(log_w.head(m));
          continue;
        }
        double sum = 0.0;
        for (Index b = 0; b < M / m; ++b) sum += lme(log_w.segment(b * m, m));
        out.L(i, Index(c)) = sum / double(M / m);
      }
      out.elbo(i) = double(log_px_z(0)) - double(kl_to_standard_normal<Scalar>(Mat<Scalar>(mu), Mat<Scalar>(lv))(0));
    }
  });
  return out;
}
// Mean and standard error over images of a per-image quantity.
McEstimate over_images(const VecD& v);
// (8.6) L_1 is an unbiased estimate of the ELBO: the per-image difference L_1 - ELBO_1 has mean 0.
// Wrong formulas it rejects: log q without its log-variance term, a missing 1/2 in log q.
CheckRow check_eq_8_6_l1_is_the_elbo(const IwEstimates& e);
// (8.6) L_m grows with m: the mean over images of L_m' - L_m exceeds z standard errors
// (a one-sided test of an increase; false-failure rate when there is none: 2.9e-7).
CheckRow check_eq_8_6_grows(const IwEstimates& e, Index c);  // c: the column of L, ms[c] samples
// (8.6) L_m <= log p(x) (mean over images, allowing z = 5 SE), when log p(x) is known exactly.
CheckRow check_eq_8_6_below_log_px(const IwEstimates& e, Index c, const VecD& log_px);

// A VAE whose decoder is exactly linear-Gaussian, so log p(x) is known: dec1's bias is so large that
// its relu never clips, and dec2's bias takes it back out. p(x) = N(c, A A^T + sigma^2 I) with
// A = W4 W3 and c = W4 b3 + b4. The encoder stays a (nonlinear) network.
struct LinearDecoderVae {
  Vae<double> vae;
  MatD A;
  VecD c;
  MatD X;  // D x n images drawn from p(x)
};
LinearDecoderVae linear_decoder_vae(Index n = 200, std::uint64_t seed = 86);
VecD exact_log_px(const LinearDecoderVae& m);

// (8.7) The linear VAE (pPCA): synthetic data with a known spectrum.
struct PpcaProblem {
  MatD S;           // d x d sample covariance
  VecD lambda;      // its eigenvalues, decreasing
  MatD U;           // its eigenvectors, same order
  Index k = 3;
};
PpcaProblem ppca_problem(std::uint64_t seed = 87, Index n = 5000);
double sigma2_ml(const PpcaProblem& p);
LinearVaeRun train_ppca(const PpcaProblem& p, int iterations = 20000);
// The gradient of eq. 8.7 against central differences (at a random point).
CheckRow check_eq_8_7_gradient(const PpcaProblem& p, double beta = 1.0);
// sigma^2 of the trained linear VAE = sigma^2_ML = the mean of the discarded eigenvalues.
// Wrong formulas it rejects: the mean of all eigenvalues, the smallest kept eigenvalue.
CheckRow check_eq_8_7_noise(double trained, double expected);
// The decoder spans the pPCA subspace: largest principal angle between span(W) and span(U_k).
double largest_angle(const MatD& W, const MatD& Uk);
CheckRow check_eq_8_7_subspace(const MatD& W, const MatD& Uk);
// At the optimum the ELBO equals the exact pPCA log-likelihood (and the maximum one).
CheckRow check_eq_8_7_tight(double elbo, double log_likelihood, const std::string& what);

// (8.8) With sigma^2 fixed, exactly the directions with lambda_j > sigma^2 stay active
// (Cov_x E_q[z_u] > 0.01); the others collapse to the prior.
// Wrong formulas it rejects: lambda_j > sigma (sigma for sigma^2).
int expected_active(const VecD& lambda, double noise_var, Index k);
LinearVaeRun train_fixed_noise(const PpcaProblem& p, double noise_var, Index k = 6, int iterations = 20000);
CheckRow check_eq_8_8_active_units(const LinearVaeRun& run, const PpcaProblem& p, double noise_var, Index k = 6);

}  // namespace course::ch08
