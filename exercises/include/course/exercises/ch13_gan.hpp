// Chapter 13 exercises: the generative adversarial network (GAN).
// Equations refer to docs/13-gan.md. Check your work with  ./course check 13
//
// Notation (the lecture's, with the course's letters, docs/students.md): data x ~ q, fakes
// x~ = Gen(z) ~ p_theta with z ~ N(0, I_k) (the lecture writes I_m). The discriminator Disc, D(x),
// outputs a logit a(x); D(x) = sigmoid(a(x)) is its probability that x is real (s is a score in
// this course, so the logit is a). A batch has B real samples and B~ fakes. The lecture's labels are y = +1 (real) and y = -1 (fake); the cross-entropy form
// below uses t = (1 + y) / 2, i.e. 1 (real) and 0 (fake): the two are the same loss (eq. 13.1).
// Logits come in vectors, one entry per sample of a batch. Use the stable forms
// log sigmoid(a) = -softplus(-a) and log(1 - sigmoid(a)) = -softplus(a) (course/nn.hpp has both).
#pragma once

#include "course/types.hpp"

namespace course::ch13 {

// The discriminator's loss on a batch and its gradient with respect to both sets of logits.
struct DiscriminatorLoss {
  double loss = 0.0;
  VecD d_real;  // dL/da for each real logit
  VecD d_fake;  // dL/da for each fake logit
};

// A generator loss on a batch of fakes and its gradient with respect to their logits a(Gen(z)).
struct GeneratorLoss {
  double loss = 0.0;
  VecD grad;  // dL/da for each fake logit
};

// Exercise 13.1 -- the discriminator's loss (eq. 13.1): minus the value V(D, G) on a batch,
//   L_D = -(1/B) sum_i log D(x_i) - (1/B~) sum_j log(1 - D(x~_j)),
// from the logits of B real samples (real) and B~ fakes (fake), and dL_D/da for each logit.
// Tests: the gradient against central differences; L_D equals the lecture's +1/-1 logistic loss
// (1/B) sum log(1 + e^{-y a}) summed over both halves (1e-10); stable at logits of +-800. Labels
// swapped (fakes called real), and log D(x~) for log(1 - D(x~)) in the fake term, fail.
DiscriminatorLoss discriminator_loss(const VecD& real, const VecD& fake);

// Exercise 13.2 -- the non-saturating generator loss (eq. 13.4):
//   L_G^ns = -(1/B~) sum_j log D(x~_j),
// from the fakes' logits, and dL/da for each logit.
// Tests: the gradient against central differences; at D(x~) = 1e-4 its gradient stays near -1/B~
// (it does not vanish); a flipped sign fails, and so does the minimax loss in its place.
GeneratorLoss generator_loss_nonsaturating(const VecD& fake);

// Exercise 13.3 -- the minimax (saturating) generator loss (eq. 13.4), the generator's half of V:
//   L_G^mm = (1/B~) sum_j log(1 - D(x~_j))     (minimised by the generator),
// from the fakes' logits, and dL/da for each logit.
// Tests: the gradient against central differences; the ratio of its gradient to the
// non-saturating one is D / (1 - D) (eq. 13.5, 1e-10); -log(1 - D) (the sign of a maximised loss)
// fails.
GeneratorLoss generator_loss_minimax(const VecD& fake);

// Exercise 13.4 -- the optimal discriminator (eq. 13.2): for densities q(x) (data) and p(x)
// (generator) at the same points, D*(x) = q(x) / (q(x) + p(x)), entry by entry. Where both are 0,
// return 1/2 (no evidence either way).
// Tests: V(D, G) by quadrature is largest at D* (any perturbation lowers it); a logistic
// discriminator trained on samples of two known 1-D Gaussians agrees with D*'s logit (Wald test,
// false-failure rate 1e-6); D* = 1/2 when p = q. D* upside down, p / (q + p), fails, and so does
// the likelihood ratio q / p.
VecD optimal_discriminator(const VecD& q, const VecD& p);

// Exercise 13.5 -- the Jensen-Shannon divergence (eq. 13.3) of two discrete distributions
// (probability vectors of equal length, each summing to 1), in nats:
//   JSD(p || q) = 1/2 KL(p || pbar) + 1/2 KL(q || pbar),   pbar = (p + q) / 2,   with 0 log 0 = 0.
// Tests: V(D*, G) = -log 4 + 2 JSD(q || p) on discrete distributions (1e-10) and on two 1-D
// Gaussians (quadrature against Monte Carlo); JSD(p || p) = 0 and log 2 for disjoint supports.
// A missing factor 1/2, JSD in bits (log2), and KL(p || q) in its place fail.
double jsd(const VecD& p, const VecD& q);

// Exercise 13.6 -- samples per mode (eq. 13.6), the mode-coverage count. X is 2 x n (samples),
// modes is 2 x K (the mixture's means). Assign each sample to its nearest mode; return the K
// counts of samples whose distance to that nearest mode is less than `radius`.
// Tests: on a hand-made set of points with known counts (exact); on samples of the mixture itself
// the counts are Binomial(n, w_k (1 - e^{-r^2 / 2v})) (eq. 13.6; each within its band, Bonferroni
// false-failure rate 1e-6). Comparing the squared distance with the radius (not its square) fails,
// and so does counting every sample at its nearest mode whatever its distance.
VecD samples_per_mode(const MatD& X, const MatD& modes, double radius);

}  // namespace course::ch13
