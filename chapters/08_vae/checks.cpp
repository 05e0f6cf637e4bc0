// The bodies of 08_vae/checks.hpp's checks, compiled once: the chapter program and the chapter's tests
// link this file instead of instantiating every check in each of them.
#include "08_vae/checks.hpp"

namespace course::ch08 {

CheckRow check_eq_8_1_reparameterization(
    const std::function<MatD(const MatD&, const MatD&, const MatD&)>& reparam,
    Index n, std::uint64_t seed) {
  const SmallGaussian g;
  const Index L = g.mu.size();
  // Called once here first, so an exercise stub throws on this thread, not inside OpenMP.
  reparam(g.mu, g.log_var, MatD::Zero(L, 1));
  const McVecEstimate e = monte_carlo_vec(n, 2 * L, seed, [&](Rng& rng, Eigen::Ref<VecD> out) {
    const MatD eps = rng.normal_matrix<double>(L, 1);
    const MatD z = reparam(g.mu, g.log_var, eps);
    out.head(L) = z.col(0);
    out.tail(L) = (z.col(0) - g.mu).array().square().matrix();
  });
  VecD analytic(2 * L);
  analytic << g.mu, g.log_var.array().exp().matrix();
  return check_monte_carlo("8.1", "z = mu + exp(lv/2) eps: mean mu, variance exp(lv)", analytic, e);
}

double kl_closed_form(const SmallGaussian& g) {
  return kl_to_standard_normal<double>(MatD(g.mu), MatD(g.log_var))(0);
}

McEstimate kl_monte_carlo(const SmallGaussian& g, Index n, std::uint64_t seed) {
  return monte_carlo(n, seed, [&](Rng& rng) {
    double log_q = 0, log_p = 0;
    for (Index j = 0; j < g.mu.size(); ++j) {
      const double eps = rng.normal(), z = g.mu(j) + std::exp(0.5 * g.log_var(j)) * eps;
      log_q += -0.5 * (eps * eps + g.log_var(j) + log_2pi);
      log_p += -0.5 * (z * z + log_2pi);
    }
    return log_q - log_p;
  });
}

CheckRow check_eq_8_2_kl(double closed_form, const McEstimate& e) {
  return check_monte_carlo("8.2", "KL(q || N(0,I)) closed form vs E_q[log q - log p]", closed_form, e);
}

CheckRow check_eq_8_2_kl_is_chapter_6s(const std::function<double(const VecD&, const VecD&)>& kl_diag) {
  Rng rng(86);
  const MatD mu = rng.normal_matrix<double>(5, 4), lv = 0.7 * rng.normal_matrix<double>(5, 4);
  const VecD batched = kl_to_standard_normal<double>(mu, lv);  // one KL per column
  VecD per_column(mu.cols());
  for (Index j = 0; j < mu.cols(); ++j) per_column(j) = kl_diag(mu.col(j), lv.col(j));
  return check_identity("8.2", "batched KL of the model = chapter 6's kl_diag_std_normal", MatD(per_column),
                        MatD(batched));
}

BernoulliCase bernoulli_case(std::uint64_t seed) {
  Rng rng(seed);
  BernoulliCase c;
  c.x = rng.uniform_matrix<double>(12, 1, 0.0, 1.0);
  c.a = rng.normal_matrix<double>(12, 1) * 3.0;
  return c;
}

double bernoulli_nll_textbook(const VecD& x, const VecD& a) {
  double v = 0;
  for (Index i = 0; i < x.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-a(i)));
    v -= x(i) * std::log(s) + (1 - x(i)) * std::log(1 - s);
  }
  return v;
}

CheckRow check_eq_8_3_value(const BernoulliCase& c, double value) {
  return check_identity("8.3", "softplus(a) - x a summed = -sum x log s + (1-x) log(1-s)",
                        bernoulli_nll_textbook(c.x, c.a), value);
}

CheckRow check_eq_8_3_gradient(const BernoulliCase& c, const VecD& grad) {
  return check_gradient("8.3", "d(-log p(x|z))/da = sigmoid(a) - x vs central differences",
                        [&](const VecD& a) { return bernoulli_nll(c.x, a).value; }, c.a, grad);
}

CheckRow check_eq_8_3_stable(double value_at_1000, double exact) {
  return check_identity("8.3", "stable for |a| = 1000: softplus(1000) - 0 = 1000 exactly", exact, value_at_1000);
}

EncoderCase encoder_case(std::uint64_t seed) {
  Rng rng(seed);
  EncoderCase c;
  const Index D = 10, L = 3;
  c.x = rng.uniform_matrix<double>(D, 1, 0.0, 1.0);
  c.Wd = rng.normal_matrix<double>(D, L);
  c.bd = rng.normal_matrix<double>(D, 1) * 0.3;
  c.mu = rng.normal_matrix<double>(L, 1);
  c.log_var = rng.normal_matrix<double>(L, 1) * 0.5;
  c.eps = rng.normal_matrix<double>(L, 1);
  return c;
}

double encoder_case_loss(const EncoderCase& c, const VecD& mu_lv) {
  const Index L = c.mu.size();
  const VecD mu = mu_lv.head(L), lv = mu_lv.tail(L);
  const VecD z = mu + ((0.5 * lv.array()).exp() * c.eps.array()).matrix();
  const VecD a = c.Wd * z + c.bd;
  double nll = 0;
  for (Index i = 0; i < a.size(); ++i)
    nll += std::max(a(i), 0.0) + std::log1p(std::exp(-std::abs(a(i)))) - c.x(i) * a(i);
  return nll + kl_to_standard_normal<double>(MatD(mu), MatD(lv))(0);
}

VecD encoder_case_dl_dz(const EncoderCase& c) {
  const VecD z = c.mu + ((0.5 * c.log_var.array()).exp() * c.eps.array()).matrix();
  const VecD a = c.Wd * z + c.bd;
  return c.Wd.transpose() * (a.unaryExpr([](double v) { return nn::sigmoid(v); }) - c.x);
}

CheckRow check_eq_8_4_encoder_gradient(const EncoderCase& c, const EncoderGradient& g) {
  const Index L = c.mu.size();
  VecD at(2 * L), analytic(2 * L);
  at << c.mu, c.log_var;
  if (g.mu.size() != L || g.log_var.size() != L) return check_identity("8.4", "gradient shapes", 0.0, NAN);
  analytic << g.mu, g.log_var;
  return check_gradient("8.4", "dl/dmu, dl/dlog_var (eps fixed) vs central differences",
                        [&](const VecD& v) { return encoder_case_loss(c, v); }, at, analytic);
}

SmallVae small_vae(Likelihood likelihood, std::uint64_t seed) {
  for (;; ++seed) {
    Rng rng(seed);
    VaeConfig c;
    c.input = 12;
    c.hidden = 7;
    c.latent = 3;
    c.likelihood = likelihood;
    c.log_noise_var = -0.7;
    c.beta = 1.0;
    SmallVae s{Vae<double>(c, rng), rng.uniform_matrix<double>(12, 5, 0.0, 1.0), rng.normal_matrix<double>(3, 5),
               VecD::Constant(1, -0.7)};
    Vae<double>& v = s.vae;
    v.forward(s.X, s.eps);
    const MatD pre1 = (v.enc1.W * s.X).colwise() + v.enc1.b;
    const MatD pre3 = (v.dec1.W * v.Z).colwise() + v.dec1.b;
    if (std::min(pre1.cwiseAbs().minCoeff(), pre3.cwiseAbs().minCoeff()) > 0.01) return s;
  }
}

VaeGradient vae_gradient(SmallVae& s) {
  s.vae.log_noise_var = s.log_noise_var(0);
  s.vae.zero_grad();
  s.vae.forward(s.X, s.eps);
  s.vae.backward(s.X);
  auto& v = s.vae;
  VaeGradient g{{v.enc1.dW, v.enc1.db, v.enc2.dW, v.enc2.db, v.dec1.dW, v.dec1.db, v.dec2.dW, v.dec2.db}};
  if (v.config.likelihood == Likelihood::Gaussian) g.blocks.push_back(MatD::Constant(1, 1, v.d_log_noise_var));
  return g;
}

CheckRow check_eq_8_5_minibatch_gradient(SmallVae& s, const VaeGradient& g) {
  auto& v = s.vae;
  std::vector<MatD> grads = g.blocks;
  std::vector<GradBlock> blocks;
  blocks.push_back(grad_block("enc1.W", v.enc1.W, grads[0]));
  blocks.push_back({"enc1.b", v.enc1.b.data(), grads[1].data(), v.enc1.b.size(), 1});
  blocks.push_back(grad_block("enc2.W", v.enc2.W, grads[2]));
  blocks.push_back({"enc2.b", v.enc2.b.data(), grads[3].data(), v.enc2.b.size(), 1});
  blocks.push_back(grad_block("dec1.W", v.dec1.W, grads[4]));
  blocks.push_back({"dec1.b", v.dec1.b.data(), grads[5].data(), v.dec1.b.size(), 1});
  blocks.push_back(grad_block("dec2.W", v.dec2.W, grads[6]));
  blocks.push_back({"dec2.b", v.dec2.b.data(), grads[7].data(), v.dec2.b.size(), 1});
  if (grads.size() > 8) blocks.push_back({"log_noise_var", s.log_noise_var.data(), grads[8].data(), 1, 1});
  const std::string what = v.config.likelihood == Likelihood::Bernoulli ? "Bernoulli" : "Gaussian";
  // The numeric side evaluates the loss in long double: the loss is ~10 (a sum over 12 pixels), so in
  // double its rounding error (~1e-15) divided by 2h = 2e-5 is ~1e-10, the size of the harness's
  // absolute floor for gradients below 1e-4. In long double it is 1e-3 of that.
  Vae<long double> wide;
  wide.config = v.config;
  return check_gradient("8.5", "d(minibatch -ELBO)/d(every parameter), " + what + " decoder, eps fixed",
                        [&] {
                          for (auto [to, from] : {std::pair{&wide.enc1, &v.enc1}, {&wide.enc2, &v.enc2},
                                                  {&wide.dec1, &v.dec1}, {&wide.dec2, &v.dec2}}) {
                            to->W = from->W.cast<long double>();
                            to->b = from->b.cast<long double>();
                          }
                          wide.log_noise_var = s.log_noise_var(0);
                          return double(wide.forward(s.X.cast<long double>(), s.eps.cast<long double>()));
                        },
                        blocks);
}

McEstimate over_images(const VecD& v) {
  McEstimate e;
  e.n = v.size();
  e.mean = v.mean();
  e.sd = std::sqrt((v.array() - e.mean).square().sum() / double(std::max<Index>(1, e.n - 1)));
  e.se = e.sd / std::sqrt(double(e.n));
  return e;
}

CheckRow check_eq_8_6_l1_is_the_elbo(const IwEstimates& e) {
  return check_monte_carlo("8.6", "L_1 - ELBO (closed-form KL) has mean 0 over images", 0.0,
                           over_images(e.L.col(0) - e.elbo));
}

CheckRow check_eq_8_6_grows(const IwEstimates& e, Index c) {
  const McEstimate d = over_images(e.L.col(c + 1) - e.L.col(c));
  CheckRow r = check_bound("8.6", "L_" + std::to_string(e.ms[std::size_t(c)]) + " < L_" +
                                      std::to_string(e.ms[std::size_t(c) + 1]) + " (mean over images, > 5 SE)",
                           tolerance::z * d.se, d.mean, 0.0);
  r.detail = "mean increase " + std::to_string(d.mean) + " nats, SE " + std::to_string(d.se) + ", " +
             std::to_string(d.n) + " images; passes when the increase exceeds z = 5 SE";
  return r;
}

CheckRow check_eq_8_6_below_log_px(const IwEstimates& e, Index c, const VecD& log_px) {
  const McEstimate d = over_images(e.L.col(c) - log_px);
  CheckRow r = check_bound("8.6", "L_" + std::to_string(e.ms[std::size_t(c)]) + " <= exact log p(x) (mean over images)",
                           d.mean, tolerance::z * d.se, 0.0);
  r.detail = "mean L_M - log p(x) = " + std::to_string(d.mean) + " nats, SE " + std::to_string(d.se) +
             "; passes when below z = 5 SE";
  return r;
}

LinearDecoderVae linear_decoder_vae(Index n, std::uint64_t seed) {
  Rng rng(seed);
  VaeConfig cfg;
  cfg.input = 6;
  cfg.hidden = 8;
  cfg.latent = 2;
  cfg.likelihood = Likelihood::Gaussian;
  cfg.log_noise_var = std::log(0.3);
  LinearDecoderVae m{Vae<double>(cfg, rng), MatD(), VecD(), MatD()};
  m.vae.dec1.b.setConstant(100.0);
  m.vae.dec2.b = -m.vae.dec2.W * m.vae.dec1.b;
  m.A = m.vae.dec2.W * m.vae.dec1.W;
  m.c = m.vae.dec2.W * m.vae.dec1.b + m.vae.dec2.b;
  const MatD C = m.A * m.A.transpose() + 0.3 * MatD::Identity(6, 6);
  const MatD Lc = C.llt().matrixL();
  m.X = (Lc * rng.normal_matrix<double>(6, n)).colwise() + m.c;
  return m;
}

VecD exact_log_px(const LinearDecoderVae& m) {
  const Index D = m.X.rows();
  const MatD C = m.A * m.A.transpose() + std::exp(m.vae.log_noise_var) * MatD::Identity(D, D);
  const Eigen::LLT<MatD> llt(C);
  const double log_det = 2.0 * MatD(llt.matrixL()).diagonal().array().log().sum();
  const MatD R = m.X.colwise() - m.c;
  const VecD maha = (R.array() * llt.solve(R).array()).colwise().sum().transpose();
  return (-0.5 * (maha.array() + log_det + double(D) * log_2pi)).matrix();
}

PpcaProblem ppca_problem(std::uint64_t seed, Index n) {
  VecD spectrum(8);
  spectrum << 9.0, 5.0, 3.0, 1.6, 0.9, 0.4, 0.2, 0.1;
  const Index d = spectrum.size();
  Rng rng(seed);
  // A random rotation of independent coordinates with the given variances.
  const MatD Q = rng.normal_matrix<double>(d, d).householderQr().householderQ();
  const MatD X = Q * (spectrum.array().sqrt().matrix().asDiagonal() * rng.normal_matrix<double>(d, n));
  const MatD Xc = X.colwise() - X.rowwise().mean();
  PpcaProblem p;
  p.S = Xc * Xc.transpose() / double(n);
  const Eigen::SelfAdjointEigenSolver<MatD> eig(p.S);
  p.lambda = eig.eigenvalues().reverse();
  p.U = eig.eigenvectors().rowwise().reverse();
  return p;
}

double sigma2_ml(const PpcaProblem& p) { return p.lambda.tail(p.lambda.size() - p.k).mean(); }

LinearVaeRun train_ppca(const PpcaProblem& p, int iterations) {
  return train_linear_vae(p.S, p.k, iterations, true, 0.0, 1.0, 7);
}

CheckRow check_eq_8_7_gradient(const PpcaProblem& p, double beta) {
  Rng rng(3);
  const Index d = p.S.rows(), k = p.k;
  LinearVae m{rng.normal_matrix<double>(k, d) * 0.5, rng.normal_matrix<double>(d, k), rng.normal_matrix<double>(k, 1) * 0.3, 0.2};
  const LinearVaeGradient g = linear_vae_gradient(m, p.S, beta);
  VecD s2(1), gs2(1);
  s2 << m.log_noise_var;
  gs2 << g.log_noise_var;
  return check_gradient("8.7", "gradient of the exact linear-VAE -ELBO vs central differences",
                        [&] {
                          m.log_noise_var = s2(0);
                          return linear_vae_loss(m, p.S, beta);
                        },
                        {grad_block("V", m.V, g.V), grad_block("W", m.W, g.W), grad_block("log_post_var", m.log_post_var, g.log_post_var),
                         grad_block("log_noise_var", s2, gs2)});
}

CheckRow check_eq_8_7_noise(double trained, double expected) {
  return check_identity("8.7", "trained sigma_x^2 = mean of the d - k discarded eigenvalues", expected, trained, 1e-6);
}

double largest_angle(const MatD& W, const MatD& Uk) {
  const MatD Qw = W.householderQr().householderQ() * MatD::Identity(W.rows(), W.cols());
  const VecD cosines = Eigen::JacobiSVD<MatD>(MatD(Qw.transpose() * Uk)).singularValues();
  return std::acos(std::min(1.0, cosines.minCoeff()));
}

CheckRow check_eq_8_7_subspace(const MatD& W, const MatD& Uk) {
  return check_identity("8.7", "decoder W spans the top-k eigenvectors (largest angle, rad)", 0.0, largest_angle(W, Uk), 1e-4);
}

CheckRow check_eq_8_7_tight(double elbo, double log_likelihood, const std::string& what) {
  return check_identity("8.7", "ELBO at the optimum = " + what, log_likelihood, elbo, 1e-6);
}

int expected_active(const VecD& lambda, double noise_var, Index k) {
  return int(std::min<Index>(k, (lambda.array() > noise_var).count()));
}

LinearVaeRun train_fixed_noise(const PpcaProblem& p, double noise_var, Index k, int iterations) {
  return train_linear_vae(p.S, k, iterations, false, std::log(noise_var), 1.0, 11);
}

CheckRow check_eq_8_8_active_units(const LinearVaeRun& run, const PpcaProblem& p, double noise_var, Index k) {
  CheckRow r = check_identity("8.8", "active units = #{lambda_j > sigma_x^2}, sigma_x^2 = " + format_number(noise_var, 2),
                              double(expected_active(p.lambda, noise_var, k)), run.active_units.back(), 0.0);
  r.detail = "active: Cov_x(E_q[z_u]) = (V S V^T)_uu > 0.01 (Burda et al.)";
  return r;
}

}  // namespace course::ch08
