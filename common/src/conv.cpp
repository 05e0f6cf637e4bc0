#include "course/conv.hpp"

namespace course::nn {

ConvGeometry ConvGeometry::of_convolution(Index channels, Index height, Index width, Index kernel, Index stride,
                                          Index padding) {
  ConvGeometry g;
  g.channels = channels;
  g.height = height;
  g.width = width;
  g.kernel = kernel;
  g.stride = stride;
  g.padding = padding;
  if (channels < 1 || height < 1 || width < 1 || kernel < 1 || stride < 1 || padding < 0)
    throw InputError("convolution " + g.describe() + ": channels, sizes, kernel and stride must be positive, padding >= 0");
  if (height + 2 * padding < kernel || width + 2 * padding < kernel)
    throw InputError("convolution " + g.describe() + ": the kernel is larger than the padded image");
  g.out_height = (height + 2 * padding - kernel) / stride + 1;
  g.out_width = (width + 2 * padding - kernel) / stride + 1;
  return g;
}

std::string ConvGeometry::describe() const {
  return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width) + ", k" +
         std::to_string(kernel) + " s" + std::to_string(stride) + " p" + std::to_string(padding) + " -> " +
         std::to_string(out_height) + "x" + std::to_string(out_width);
}

}  // namespace course::nn
