// The losses of course/nn.hpp: values, gradients against central differences, stability. (The
// layers are tested in test_layers.cpp, the optimisers in test_optim.cpp.)
#include "check_test.hpp"
#include "course/nn.hpp"

using namespace course;
using namespace course::nn;

BOOST_AUTO_TEST_SUITE(nn)

BOOST_AUTO_TEST_CASE(bce_from_logits_is_stable_and_its_gradient_is_sigmoid_minus_target) {
  Rng rng(3);
  MatD Z = 3.0 * rng.normal_matrix<double>(4, 6);
  const MatD T = rng.uniform_matrix<double>(4, 6, 0, 1);
  const MatD dZ = bce_with_logits_backward<double>(Z, T);
  COURSE_CHECK(check_gradient("nn", "BCE dZ", [&] { return bce_with_logits_loss<double>(Z, T); }, {grad_block("Z", Z, dZ)}));
  // The direct formula -[t log s + (1-t) log(1-s)] on moderate logits.
  const MatD S = Z.unaryExpr([](double z) { return sigmoid(z); });
  const double direct = -(T.array() * S.array().log() + (1 - T.array()) * (1 - S.array()).log()).sum() / 6.0;
  COURSE_CHECK(check_identity("nn", "BCE from logits = -[t log s + (1-t) log(1-s)]", bce_with_logits_loss<double>(Z, T), direct));
  // At logits of +-1000 the naive formula gives inf/NaN; ours stays finite and exact.
  MatD big(1, 2);
  big << 1000.0, -1000.0;
  MatD t(1, 2);
  t << 0.0, 1.0;
  // softplus(1000) - 0 = 1000 and softplus(-1000) + 1000 = 1000, averaged over the 2 columns.
  COURSE_CHECK(check_identity("nn", "BCE at |z| = 1000", bce_with_logits_loss<double>(big, t), 1000.0));
  COURSE_CHECK(check_identity("nn", "MSE is 1/(2B)||Y - T||^2", mse_loss<double>(big, t), 0.5 * (1e6 + 1002001.0) / 2.0));
}

BOOST_AUTO_TEST_SUITE_END()
