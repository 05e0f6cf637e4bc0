#include "course/error.hpp"

#include <cmath>

namespace course {

void require_finite_loss(double loss, long epoch, long batch, const std::string& what) {
  if (!std::isfinite(loss))
    throw TrainingDiverged(what + " became " + (std::isnan(loss) ? "NaN" : "infinite") +
                           " at epoch " + std::to_string(epoch + 1) + ", batch " +
                           std::to_string(batch + 1) +
                           "; try a smaller learning rate (training stopped)");
}

}  // namespace course
