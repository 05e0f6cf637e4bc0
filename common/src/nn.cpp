#include "course/nn.hpp"

#include "course/error.hpp"

namespace course::nn {

Activation parse_activation(const std::string& name) {
  if (name == "identity" || name == "linear") return Activation::Identity;
  if (name == "relu") return Activation::ReLU;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  throw InputError("unknown activation '" + name + "' (expected identity, relu, sigmoid or tanh)");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::ReLU: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Identity: break;
  }
  return "identity";
}

}  // namespace course::nn
