// The bodies of 04_sparse_dropout_ae/sparse_ae.hpp's functions, compiled once: the chapter program and the chapter's tests
// link this file instead of compiling every one of them in each.
#include "04_sparse_dropout_ae/sparse_ae.hpp"

namespace course::ch04 {

double l1_penalty(const MatD& H, double lambda) {
  return lambda * H.cwiseAbs().sum() / double(H.cols());
}

double code_penalty(const Regulariser& reg, const MatD& H) {
  switch (reg.kind) {
    case Regulariser::Kind::KL: return kl_sparsity_penalty(reg.rho, H, reg.beta);
    case Regulariser::Kind::L1: return l1_penalty(H, reg.lambda);
    case Regulariser::Kind::None: break;
  }
  return 0.0;
}

}  // namespace course::ch04
