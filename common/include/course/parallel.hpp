// The course's one way to run work in parallel: a FIXED list of blocks, each a function call.
//
//   course::parallel::for_blocks(blocks, [&](Index k) { ... block k ... });
//
// The caller chooses the partition (never from the thread count), so every number is computed by
// the same operations in the same order whatever --threads is: training is bitwise reproducible
// across thread counts. for_blocks returns when every block has run. Blocks must write disjoint
// memory. Every parallel loop of the layer stack, the optimiser and the chapters goes through
// here, so how the threads are scheduled (and how they behave on a busy machine) is decided in
// one place: common/src/parallel.cpp, explained in bench/README.md.
//
// How the blocks are shared (why it holds up on a busy machine). The calling thread publishes the
// job and then claims blocks itself, one at a time, from an atomic counter, exactly as the
// worker threads do; when no block is left to claim it waits only for blocks that a worker has
// already claimed and is running. A worker that has not started yet (asleep, or descheduled
// because another program holds its core) claims nothing and costs nothing: the caller simply
// runs every block itself. OpenMP's fork/join instead waits at a barrier for every thread of the
// team, so one descheduled thread stalls each parallel region for a whole time slice. Idle
// workers spin briefly (yielding the core), then sleep on a futex; they take no CPU between jobs.
//
// When the program cannot get more than about one core (Linux shares CPU time between sessions
// and cgroups, not threads: beside a busy program of another session, 2 threads get the CPU time
// of 1 and spend part of it waiting for each other), a governor in parallel.cpp measures that
// (per window of 60 ms: the process's CPU time, and how long the calling thread waited for a CPU
// while runnable) and runs the jobs on the caller alone; it tries the pool again once the machine
// has a core's worth of idle time (after 0.25 s at the earliest, doubling to 4 s while the pool
// keeps losing its cores right after a return). Which thread runs a block never changes a
// number. COURSE_PARALLEL=pool turns the governor off, COURSE_PARALLEL_STATS=1 prints at exit how
// many jobs it ran alone (both for measuring; bench/README.md).
#pragma once

#include <omp.h>

#include <exception>
#include <type_traits>

#include "course/types.hpp"

namespace course::parallel {

// The number of threads for_blocks uses, the calling thread included (>= 1). By default
// OMP_NUM_THREADS if set, else the number of cores the process may run on. course::set_threads
// (the chapters' --threads) sets it; 0 restores the default.
int threads();
void set_threads(int n);

// Subnormal floats are flushed to zero (results) and read as zero (inputs) on every thread that
// runs blocks: the calling program's main thread (set before main by parallel.cpp) and each worker
// (set when it starts), so all threads compute with the same rules and 1 and 2 threads stay
// bitwise equal. Why: Adam's first moment of a weight whose gradient is exactly zero batch after
// batch (a ReLU unit off for the whole batch, a pixel that is 0 in every image) decays by beta1
// each step into the subnormal range, where arithmetic takes a slow microcode path on x86: after
// two epochs of chapter 8's VAE, 140,000 of its 650,000 first moments were subnormal, and its
// epochs slowed from 1.1 s to 1.5 s (2 threads). A subnormal float is below 1.2e-38 (double:
// 2.2e-308), far below any tolerance of the course; x87 long double (the gradient checks'
// reference losses) is not affected. Call it on any other thread that trains. On CPUs other than
// x86 and arm64 it does nothing: subnormals keep their slow path there, and since no thread
// flushes, 1 and 2 threads still agree.
void flush_subnormals();

namespace detail {
using BlockFn = void (*)(void* context, Index k);
// Runs fn(context, k) for k in [0, blocks) on the pool; rethrows the exception of the
// lowest-numbered block that threw, after every block has run.
void run_blocks(Index blocks, BlockFn fn, void* context);
// True on a thread that is running a block (a nested for_blocks then runs inline).
bool inside_block();
}  // namespace detail

// Runs f(k) for every k in [0, blocks) and returns when all have run. With one block, one thread,
// or inside a block of another for_blocks (or an OpenMP parallel region), the blocks run in order
// on the calling thread. If blocks throw, every block still runs, and the exception of the
// lowest-numbered block that threw is rethrown: the same one for any thread count.
template <class F>
void for_blocks(Index blocks, F&& f) {
  if (blocks <= 0) return;
  if (blocks == 1 || threads() == 1 || detail::inside_block() || omp_in_parallel()) {
    std::exception_ptr first;
    for (Index k = 0; k < blocks; ++k) {
      try {
        f(k);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::run_blocks(
      blocks, [](void* c, Index k) { (*static_cast<Fn*>(c))(k); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace course::parallel
