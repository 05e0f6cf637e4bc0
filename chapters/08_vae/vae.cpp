// The one instantiation of chapter 8's VAE (declared extern in vae.hpp).
#include "08_vae/vae.hpp"

namespace course::ch08 {

template struct Vae<float>;
template struct Vae<double>;
template struct Vae<long double>;

}  // namespace course::ch08
