#include "course/nn.hpp"

#include "course/error.hpp"

namespace course::nn {

Activation parse_activation(const std::string& name) {
  if (name == "identity" || name == "linear") return Activation::Identity;
  if (name == "relu") return Activation::ReLU;
  if (name == "leaky_relu") return Activation::LeakyReLU;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  if (name == "softplus") return Activation::Softplus;
  throw InputError("unknown activation '" + name +
                   "' (expected identity, relu, leaky_relu, sigmoid, tanh or softplus)");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::ReLU: return "relu";
    case Activation::LeakyReLU: return "leaky_relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Softplus: return "softplus";
    case Activation::Identity: break;
  }
  return "identity";
}

}  // namespace course::nn
