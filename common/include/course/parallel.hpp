// The course's one way to run work in parallel: a FIXED list of blocks, each a function call.
//
//   course::parallel::for_blocks(blocks, [&](Index k) { ... block k ... });
//
// The caller chooses the partition (never from the thread count), so every number is computed by
// the same operations in the same order whatever --threads is: training is bitwise reproducible
// across thread counts. for_blocks returns when every block has run. Blocks must write disjoint
// memory. Every parallel loop of the layer stack, the optimiser and the chapters goes through
// here, so how the threads are scheduled (and how they behave on a busy machine) is decided in
// one place.
#pragma once

#include <omp.h>

#include "course/types.hpp"

namespace course::parallel {

// Runs f(k) for every k in [0, blocks). With one block, or inside another parallel region, the
// blocks run in order on the calling thread.
template <class F>
void for_blocks(Index blocks, F&& f) {
  if (blocks <= 1 || omp_in_parallel() || omp_get_max_threads() == 1) {
    for (Index k = 0; k < blocks; ++k) f(k);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (Index k = 0; k < blocks; ++k) f(k);
}

}  // namespace course::parallel
