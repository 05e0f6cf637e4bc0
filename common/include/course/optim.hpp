// Optimisers over a list of parameter blocks (pointer, gradient, size), so any dense Eigen
// matrix or vector can be trained: layers push their blocks with collect(), a composition returns
// them all from parameters().
//
// Public names (stable): Param, zero_grad, Sgd, Adam, adam_chunk, multiply_add.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "course/parallel.hpp"
#include "course/types.hpp"

namespace course {

template <class Scalar>
struct Param {
  Scalar* value;
  Scalar* grad;
  Index size;
  std::string name;

  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> v() const { return {value, size}; }
  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> g() const { return {grad, size}; }
};

template <class Scalar>
void zero_grad(const std::vector<Param<Scalar>>& params) {
  for (const auto& p : params) p.g().setZero();
}

// SGD with (heavy-ball) momentum:  v <- mu v + g;  theta <- theta - lr v.
template <class Scalar>
class Sgd {
 public:
  Sgd(std::vector<Param<Scalar>> params, Scalar lr, Scalar momentum = Scalar(0))
      : params_(std::move(params)), lr_(lr), momentum_(momentum) {
    for (const auto& p : params_) velocity_.emplace_back(Eigen::Array<Scalar, Eigen::Dynamic, 1>::Zero(p.size));
  }
  void step() {
    for (std::size_t k = 0; k < params_.size(); ++k) {
      velocity_[k] = momentum_ * velocity_[k] + params_[k].g();
      params_[k].v() -= lr_ * velocity_[k];
    }
  }
  void zero_grad() { course::zero_grad(params_); }
  void set_lr(Scalar lr) { lr_ = lr; }

 private:
  std::vector<Param<Scalar>> params_;
  std::vector<Eigen::Array<Scalar, Eigen::Dynamic, 1>> velocity_;
  Scalar lr_, momentum_;
};

// Adam (Kingma & Ba 2015) with bias correction, the update of torch.optim.Adam: at step t,
//   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2;
//   theta <- theta - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// One fused pass over parameters, moments and gradients, cut into fixed chunks of adam_chunk
// numbers (a parameter block's tail is a shorter chunk) run by parallel::for_blocks: the step is
// memory-bound and one thread cannot stream a few MB of parameters, moments and gradients fast
// enough. Elementwise, so the result does not depend on the thread count. zero_grad() zeroes the
// gradients on the same chunks. tests/common/test_optim.cpp compares it step by step with the
// textbook update.
inline constexpr Index adam_chunk = 4096;

// a * b + c, rounded once where the CPU has FMA and twice where it has not: the same in every
// compiled copy. The compiler may contract a * b + c into an FMA by itself (GCC does by default)
// and decides copy by copy: Adam's update inlined into for_blocks' one-thread loop and the copy
// its worker threads call rounded differently, and the trained parameters followed --threads
// (found by tests/ch10's conv VQ-VAE test). So the update states its fused operations.
template <class Scalar>
inline Scalar multiply_add(Scalar a, Scalar b, Scalar c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;  // no FMA instruction: nothing to contract
#endif
}

template <class Scalar>
class Adam {
 public:
  Adam(std::vector<Param<Scalar>> params, Scalar lr, Scalar beta1 = Scalar(0.9),
       Scalar beta2 = Scalar(0.999), Scalar eps = Scalar(1e-8))
      : params_(std::move(params)), lr_(lr), b1_(beta1), b2_(beta2), eps_(eps) {
    for (std::size_t k = 0; k < params_.size(); ++k) {
      m_.emplace_back(Vec<Scalar>::Zero(params_[k].size));
      v_.emplace_back(Vec<Scalar>::Zero(params_[k].size));
      for (Index begin = 0; begin < params_[k].size; begin += adam_chunk)
        chunks_.push_back({k, begin, std::min(params_[k].size, begin + adam_chunk)});
    }
  }

  void step() {
    ++t_;
    const Scalar c1 = Scalar(1) - Scalar(std::pow(double(b1_), double(t_)));
    const Scalar c2 = Scalar(1) - Scalar(std::pow(double(b2_), double(t_)));
    const Scalar step = lr_ / c1, inv_sqrt_c2 = Scalar(1) / std::sqrt(c2);
    const Scalar b1 = b1_, b2 = b2_, a1 = Scalar(1) - b1_, a2 = Scalar(1) - b2_, eps = eps_;
    parallel::for_blocks(Index(chunks_.size()), [&](Index c) {
      const Chunk& chunk = chunks_[std::size_t(c)];
      update(params_[chunk.param].value + chunk.begin, params_[chunk.param].grad + chunk.begin,
             m_[chunk.param].data() + chunk.begin, v_[chunk.param].data() + chunk.begin, chunk.end - chunk.begin,
             b1, a1, b2, a2, step, inv_sqrt_c2, eps);
    });
  }
  void zero_grad() {
    parallel::for_blocks(Index(chunks_.size()), [&](Index c) {
      const Chunk& chunk = chunks_[std::size_t(c)];
      std::fill(params_[chunk.param].grad + chunk.begin, params_[chunk.param].grad + chunk.end, Scalar(0));
    });
  }
  void set_lr(Scalar lr) { lr_ = lr; }
  Scalar lr() const { return lr_; }
  long steps() const { return t_; }
  const std::vector<Param<Scalar>>& params() const { return params_; }

 private:
  // One chunk of the update, on restrict pointers and by-value constants: written inside the
  // lambda on captured references, GCC could not prove that the stores to m, v and theta leave
  // the constants alone and did not vectorise the loop (1.9 ns per parameter on one core).
  static void update(Scalar* __restrict theta, const Scalar* __restrict g, Scalar* __restrict m,
                     Scalar* __restrict v, Index n, Scalar b1, Scalar a1, Scalar b2, Scalar a2, Scalar step,
                     Scalar inv_sqrt_c2, Scalar eps) {
    for (Index i = 0; i < n; ++i) {
      m[i] = multiply_add(b1, m[i], a1 * g[i]);
      v[i] = multiply_add(b2, v[i], (a2 * g[i]) * g[i]);
      theta[i] -= step * m[i] / multiply_add(std::sqrt(v[i]), inv_sqrt_c2, eps);
    }
  }
  struct Chunk {
    std::size_t param;
    Index begin, end;
  };
  std::vector<Param<Scalar>> params_;
  std::vector<Vec<Scalar>> m_, v_;
  std::vector<Chunk> chunks_;
  Scalar lr_, b1_, b2_, eps_;
  long t_ = 0;
};

}  // namespace course
