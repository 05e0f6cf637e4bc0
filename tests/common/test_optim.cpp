// The optimisers (course/optim.hpp). Adam is the fused, chunked pass of the whole course: it must
// be the textbook bias-corrected update of Kingma & Ba (torch.optim.Adam's), step after step.
#include <cmath>

#include "check_test.hpp"
#include "course/optim.hpp"

using namespace course;

namespace {

// torch.optim.Adam's update written out as its documentation gives it (no chunks, no fusing):
//   m_t = b1 m + (1 - b1) g,  v_t = b2 v + (1 - b2) g^2,  m_hat = m_t / (1 - b1^t),
//   v_hat = v_t / (1 - b2^t),  theta -= lr m_hat / (sqrt(v_hat) + eps).
// `bias_correction` false and `eps_inside` true plant the two mistakes the test must reject.
struct TextbookAdam {
  explicit TextbookAdam(double learning_rate) : lr(learning_rate) {}
  double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  bool bias_correction = true, eps_inside = false;
  VecD m, v;
  int t = 0;
  void step(VecD& theta, const VecD& g) {
    if (m.size() == 0) m = v = VecD::Zero(theta.size());
    ++t;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g.cwiseAbs2();
    const double c1 = bias_correction ? 1 - std::pow(b1, t) : 1.0, c2 = bias_correction ? 1 - std::pow(b2, t) : 1.0;
    const VecD m_hat = m / c1, v_hat = v / c2;
    const VecD denom = eps_inside ? VecD((v_hat.array() + eps).sqrt()) : VecD(v_hat.array().sqrt() + eps);
    theta -= lr * VecD(m_hat.array() / denom.array());
  }
};

// The gradient of a fixed ill-conditioned quadratic plus a wave at theta: changes every step.
VecD gradient_at(const VecD& theta) {
  VecD g(theta.size());
  for (Index i = 0; i < theta.size(); ++i) g(i) = (1.0 + double(i % 97)) * theta(i) + std::cos(3.0 * theta(i));
  return g;
}

// Runs `steps` steps of course::Adam and of the textbook on the same start: one parameter block of
// 9000 numbers (three chunks of adam_chunk = 4096, the last one short) and one of 3.
double worst_relative_difference(TextbookAdam textbook, int steps) {
  Rng rng(21);
  VecD a = rng.normal_matrix<double>(9000, 1), c = rng.normal_matrix<double>(3, 1);
  VecD ga(a.size()), gc(c.size());
  Adam<double> adam({{a.data(), ga.data(), a.size(), "a"}, {c.data(), gc.data(), c.size(), "c"}}, 0.01);
  VecD theta(a.size() + c.size());
  theta << a, c;
  double worst = 0.0;
  for (int s = 0; s < steps; ++s) {
    VecD both(theta.size());
    both << a, c;
    const VecD g_ours = gradient_at(both), g = gradient_at(theta);
    ga = g_ours.head(a.size());
    gc = g_ours.tail(c.size());
    adam.step();
    textbook.step(theta, g);
    VecD ours(theta.size());
    ours << a, c;
    worst = std::max(worst, (ours - theta).cwiseAbs().maxCoeff() / std::max(1.0, theta.cwiseAbs().maxCoeff()));
  }
  return worst;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim)

BOOST_AUTO_TEST_CASE(adam_equals_the_textbook_bias_corrected_update_step_by_step) {
  // 200 steps; the worst difference over every coordinate and step. Rounding alone: ~1e-16 per
  // step, so 1e-12 leaves four orders of margin, while the planted mistakes are off by 1e-8
  // (eps inside the square root) to 1e-1 (no bias correction: the first step is 3.16 lr, not lr).
  const int steps = 200;
  COURSE_CHECK(check_identity("optim", "course::Adam = torch.optim.Adam's update, 200 steps", worst_relative_difference(TextbookAdam(0.01), steps), 0.0, 1e-12));
  TextbookAdam no_correction(0.01);
  no_correction.bias_correction = false;
  COURSE_CHECK_REJECTS(check_identity("optim", "", worst_relative_difference(no_correction, steps), 0.0, 1e-12),
                       "Adam without the bias corrections 1 - b1^t, 1 - b2^t");
  TextbookAdam eps_inside(0.01);
  eps_inside.eps_inside = true;
  COURSE_CHECK_REJECTS(check_identity("optim", "", worst_relative_difference(eps_inside, steps), 0.0, 1e-12),
                       "eps inside the square root: sqrt(v_hat + eps)");
}

BOOST_AUTO_TEST_CASE(adam_first_step_moves_each_parameter_by_lr_against_the_gradient_sign) {
  // With bias correction, Adam's first step is lr * g / (|g| + eps) = lr * sign(g) (up to eps).
  VecD w(3), g(3);
  w << 1.0, 2.0, 3.0;
  g << 0.5, -4.0, 1e-3;
  Adam<double> adam({{w.data(), g.data(), 3, "w"}}, 0.1);
  adam.step();
  COURSE_CHECK(check_identity("optim", "Adam step 1", w, VecD((VecD(3) << 0.9, 2.1, 2.9).finished()), 1e-6));
  adam.zero_grad();
  BOOST_TEST(g.squaredNorm() == 0.0);
  Sgd<double> sgd({{w.data(), g.data(), 3, "w"}}, 0.5, 0.9);
  g << 0.5, -4.0, 1e-3;
  const VecD before = w;
  sgd.step();
  sgd.step();  // velocity g, then 1.9 g: total 2.9 * lr * g
  COURSE_CHECK(check_identity("optim", "SGD momentum two steps", w, VecD(before - 0.5 * 2.9 * g)));
}

// docs/08: averaging the minibatch loss instead of summing it does not change Adam's steps. Adam's
// update m_hat / (sqrt(v_hat) + eps) is homogeneous of degree 0 in the gradient, up to eps: a loss
// B times larger gives the same trajectory (to ~eps / |g|), while SGD's steps grow B times. The
// claim this replaces ("summing only rescales Adam's effective step") is what the Adam row rejects.
BOOST_AUTO_TEST_CASE(adam_is_invariant_to_the_scale_of_the_loss_and_sgd_is_not) {
  const VecD target = (VecD(3) << 1.0, -2.0, 0.5).finished();
  auto run = [&](auto make, double scale) {
    VecD w = VecD::Zero(3), g(3);
    auto opt = make(w, g);
    for (int t = 0; t < 50; ++t) {
      g = scale * (w - target);  // gradient of scale * 1/2 ||w - target||^2
      opt.step();
    }
    return w;
  };
  auto adam = [](VecD& w, VecD& g) { return Adam<double>({{w.data(), g.data(), 3, "w"}}, 0.05); };
  auto sgd = [](VecD& w, VecD& g) { return Sgd<double>({{w.data(), g.data(), 3, "w"}}, 0.005); };
  const double B = 64.0;  // a sum over 64 images is 64 times their mean
  COURSE_CHECK(check_identity("optim", "Adam: loss x 64 gives the same parameters", MatD(run(adam, 1.0)), MatD(run(adam, B)), 1e-6));
  COURSE_CHECK_REJECTS(check_identity("optim", "SGD: loss x 64", MatD(run(sgd, 1.0)), MatD(run(sgd, B)), 1e-6),
                       "SGD's steps are 64 times larger for a summed loss");
}

BOOST_AUTO_TEST_SUITE_END()
