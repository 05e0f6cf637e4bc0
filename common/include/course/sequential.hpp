// A composition of layers: Y = f_L( ... f_2(f_1(X)) ), with the cache of every intermediate
// activation for the backward pass. The encoders and decoders of the course's models are
// Sequentials; a model that teaches a step of its backward pass (a reparameterization, a penalty on
// the code) writes that step between two Sequentials, where the student reads it.
//
//   nn::Sequential<float> enc;
//   enc.add(nn::Linear<float>(784, 400, rng));
//   enc.add(nn::Activation::ReLU);                  // over the previous layer's 400 outputs
//   enc.add(nn::Linear<float>(400, 40, rng));
//   const MatF& E = enc.forward(X);                 // X: 784 x B -> E: 40 x B (cached)
//   enc.backward(dE);                               // accumulates dW, db of every layer; returns dL/dX
//   Adam<float> adam(enc.parameters("enc"), 1e-3f);
//
// Any type with this interface is a layer (Linear, ActivationLayer, Conv2d, ConvTranspose2d, or a
// chapter's own):
//   Index in_size() const, out_size() const;        // rows of an input / output column
//   void forward(const Mat& X, Mat& Y) const;        // Y resized by the layer; a layer may keep
//                                                    // what backward needs in mutable members
//   void backward(const Mat& X, const Mat& Y, const Mat& dY, Mat* dX);
//                                                    // accumulates parameter gradients; writes dX
//                                                    // unless it is null
//   void collect(std::vector<Param>&, const std::string& name);   void zero_grad();
//   std::string describe() const;
// The gradient convention is course/nn.hpp's: backward accumulates, zero_grad() once per step.
//
// Public names (stable): Sequential (add, at, as, size, forward, backward, output, activation,
// parameters, zero_grad, in_size, out_size, describe), mlp.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "course/nn.hpp"

namespace course::nn {

template <class Scalar>
class Sequential {
 public:
  using MatS = Mat<Scalar>;

  Sequential() = default;
  Sequential(const Sequential& other) : H_(other.H_) {
    for (const auto& l : other.layers_) layers_.push_back(l->clone());
  }
  Sequential& operator=(const Sequential& other) {
    if (this != &other) *this = Sequential(other);
    return *this;
  }
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  // Appends a layer; returns it, as stored. Its input size must equal the previous output size.
  template <class Layer>
  Layer& add(Layer layer) {
    if (!layers_.empty() && layer.in_size() != out_size())
      throw std::invalid_argument("Sequential: " + layer.describe() + " takes " + std::to_string(layer.in_size()) +
                                  " inputs but the previous layer gives " + std::to_string(out_size()));
    auto model = std::make_unique<Model<Layer>>(std::move(layer));
    Layer& stored = model->layer;
    layers_.push_back(std::move(model));
    return stored;
  }
  // Appends an activation over the previous layer's outputs.
  ActivationLayer<Scalar>& add(Activation f) {
    if (layers_.empty()) throw std::invalid_argument("Sequential: an activation needs a layer before it");
    return add(ActivationLayer<Scalar>{f, out_size()});
  }

  std::size_t size() const { return layers_.size(); }
  Index in_size() const { return layers_.empty() ? 0 : layers_.front()->in_size(); }
  Index out_size() const { return layers_.empty() ? 0 : layers_.back()->out_size(); }
  // Layer i as its type (std::invalid_argument if it is another type).
  template <class Layer>
  Layer& at(std::size_t i) { return cast<Layer>(i); }
  template <class Layer>
  const Layer& at(std::size_t i) const { return const_cast<Sequential*>(this)->cast<Layer>(i); }
  // Layer i if it is a Layer, else null.
  template <class Layer>
  Layer* as(std::size_t i) {
    auto* m = dynamic_cast<Model<Layer>*>(layers_.at(i).get());
    return m ? &m->layer : nullptr;
  }
  template <class Layer>
  const Layer* as(std::size_t i) const { return const_cast<Sequential*>(this)->as<Layer>(i); }
  // "linear 784 -> 400, relu, linear 400 -> 40".
  std::string describe() const {
    std::string s;
    for (const auto& l : layers_) s += (s.empty() ? "" : ", ") + l->describe();
    return s;
  }

  // X: in_size x B -> Y: out_size x B. Keeps X and every layer's output for backward() (const: the
  // cache is not part of the network's value; so a const network evaluates, and one network is not
  // run by two threads at once).
  const MatS& forward(const MatS& X) const {
    H_.resize(layers_.size() + 1);
    H_[0] = X;
    for (std::size_t l = 0; l < layers_.size(); ++l) layers_[l]->forward(H_[l], H_[l + 1]);
    return H_.back();
  }
  // The output of the last forward(), and activation i of it (0 is the input, size() the output).
  const MatS& output() const { return H_.back(); }
  const MatS& activation(std::size_t i) const { return H_.at(i); }

  // From dY = dL/dY of the last forward(): accumulates every layer's parameter gradients and
  // returns dL/dX (not computed when `input_gradient` is false, e.g. for a first network).
  const MatS& backward(const MatS& dY, bool input_gradient = true) {
    if (H_.size() != layers_.size() + 1) throw std::logic_error("Sequential::backward before forward");
    const MatS* grad = &dY;
    MatS* out = &dA_;
    for (std::size_t l = layers_.size(); l-- > 0;) {
      const bool need = l > 0 || input_gradient;
      layers_[l]->backward(H_[l], H_[l + 1], *grad, need ? out : nullptr);
      if (!need) break;
      grad = out;
      out = out == &dA_ ? &dB_ : &dA_;
    }
    return input_gradient ? *grad : none_;
  }

  // Every parameter block with its gradient: "name.<layer index>.W" and so on.
  std::vector<Param<Scalar>> parameters(const std::string& name = "") {
    std::vector<Param<Scalar>> p;
    collect(p, name);
    return p;
  }
  void collect(std::vector<Param<Scalar>>& p, const std::string& name) {
    for (std::size_t l = 0; l < layers_.size(); ++l)
      layers_[l]->collect(p, (name.empty() ? "" : name + ".") + std::to_string(l));
  }
  void zero_grad() {
    for (auto& l : layers_) l->zero_grad();
  }

  // A Sequential is itself a layer (it can be added to another one).
  void forward(const MatS& X, MatS& Y) const { Y = forward(X); }
  void backward(const MatS&, const MatS&, const MatS& dY, MatS* dX) {
    const MatS& g = backward(dY, dX != nullptr);
    if (dX) *dX = g;
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::unique_ptr<Concept> clone() const = 0;
    virtual Index in_size() const = 0;
    virtual Index out_size() const = 0;
    virtual std::string describe() const = 0;
    virtual void forward(const MatS& X, MatS& Y) const = 0;
    virtual void backward(const MatS& X, const MatS& Y, const MatS& dY, MatS* dX) = 0;
    virtual void collect(std::vector<Param<Scalar>>& p, const std::string& name) = 0;
    virtual void zero_grad() = 0;
  };
  template <class Layer>
  struct Model final : Concept {
    Layer layer;
    explicit Model(Layer l) : layer(std::move(l)) {}
    std::unique_ptr<Concept> clone() const override { return std::make_unique<Model>(layer); }
    Index in_size() const override { return layer.in_size(); }
    Index out_size() const override { return layer.out_size(); }
    std::string describe() const override { return layer.describe(); }
    void forward(const MatS& X, MatS& Y) const override { layer.forward(X, Y); }
    void backward(const MatS& X, const MatS& Y, const MatS& dY, MatS* dX) override { layer.backward(X, Y, dY, dX); }
    void collect(std::vector<Param<Scalar>>& p, const std::string& name) override { layer.collect(p, name); }
    void zero_grad() override { layer.zero_grad(); }
  };
  template <class Layer>
  Layer& cast(std::size_t i) {
    Layer* layer = as<Layer>(i);
    if (!layer) throw std::invalid_argument("Sequential: layer " + std::to_string(i) + " (" + layers_[i]->describe() +
                                            ") is not a " + typeid(Layer).name());
    return *layer;
  }

  std::vector<std::unique_ptr<Concept>> layers_;
  mutable std::vector<MatS> H_;  // H_[0] = X, H_[l + 1] = output of layer l
  MatS dA_, dB_;         // the gradients of the backward pass, alternately
  MatS none_;            // what backward(dY, false) returns
};

// A multilayer perceptron: Linear layers of sizes {in, n_1, ..., out} (PyTorch's initialisation,
// drawn from rng in order), `hidden` after each but the last, `output` after the last (none when
// it is the identity).
template <class Scalar>
Sequential<Scalar> mlp(const std::vector<Index>& sizes, Activation hidden, Activation output, Rng& rng) {
  if (sizes.size() < 2) throw std::invalid_argument("mlp: needs at least an input and an output size");
  Sequential<Scalar> net;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    net.add(Linear<Scalar>(sizes[l], sizes[l + 1], rng));
    const Activation f = l + 2 == sizes.size() ? output : hidden;
    if (f != Activation::Identity) net.add(f);
  }
  return net;
}

}  // namespace course::nn
