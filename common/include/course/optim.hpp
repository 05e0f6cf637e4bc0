// Optimisers over a list of parameter blocks (pointer, gradient, size), so any dense Eigen
// matrix or vector can be trained: layers push their blocks with Linear::collect().
#pragma once

#include <cmath>
#include <string>
#include <vector>

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

// Adam (Kingma & Ba 2015), with bias correction, as torch.optim.Adam:
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//   theta <- theta - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
template <class Scalar>
class Adam {
 public:
  Adam(std::vector<Param<Scalar>> params, Scalar lr, Scalar beta1 = Scalar(0.9),
       Scalar beta2 = Scalar(0.999), Scalar eps = Scalar(1e-8))
      : params_(std::move(params)), lr_(lr), b1_(beta1), b2_(beta2), eps_(eps) {
    for (const auto& p : params_) {
      m_.emplace_back(Eigen::Array<Scalar, Eigen::Dynamic, 1>::Zero(p.size));
      v_.emplace_back(Eigen::Array<Scalar, Eigen::Dynamic, 1>::Zero(p.size));
    }
  }
  void step() {
    ++t_;
    const Scalar c1 = Scalar(1) - Scalar(std::pow(double(b1_), double(t_)));
    const Scalar c2 = Scalar(1) - Scalar(std::pow(double(b2_), double(t_)));
    const Scalar step = lr_ / c1;
    const Scalar inv_sqrt_c2 = Scalar(1) / std::sqrt(c2);
    for (std::size_t k = 0; k < params_.size(); ++k) {
      auto g = params_[k].g();
      m_[k] = b1_ * m_[k] + (Scalar(1) - b1_) * g;
      v_[k] = b2_ * v_[k] + (Scalar(1) - b2_) * g.square();
      params_[k].v() -= step * m_[k] / (v_[k].sqrt() * inv_sqrt_c2 + eps_);
    }
  }
  void zero_grad() { course::zero_grad(params_); }
  void set_lr(Scalar lr) { lr_ = lr; }
  long steps() const { return t_; }

 private:
  std::vector<Param<Scalar>> params_;
  std::vector<Eigen::Array<Scalar, Eigen::Dynamic, 1>> m_, v_;
  Scalar lr_, b1_, b2_, eps_;
  long t_ = 0;
};

}  // namespace course
