// The thread pool behind course::parallel::for_blocks (see parallel.hpp for the contract and
// bench/README.md for the measurements behind each choice here).
//
// One job at a time. A job is (fn, context, blocks) and a generation number g. The next block to
// claim lives in one 64-bit word, g << 32 | next, so a worker that wakes up late and still holds
// the previous generation can never claim a block of the next job (its compare-and-swap fails).
//
//   caller:  write the job, publish g (claim word, then the futex word `gen`), wake sleeping
//            workers, claim and run blocks until none is left, then wait until `done` == blocks.
//   worker:  wait for a new g (spin ~50 us, yielding the core, then sleep on the futex), claim
//            and run blocks of g until none is left, go back to waiting.
//
// The caller waits only for blocks a worker has claimed and is running. A worker that is asleep
// or descheduled when the job is published claims nothing, and the caller runs its blocks.
// Two guards send jobs to the caller alone: the stall back-off (a job waited long for a
// descheduled worker) and the governor (the program gets no more than about one core).
#include "course/parallel.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>

#include <Eigen/Core>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace course::parallel {
namespace {

using Clock = std::chrono::steady_clock;

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<std::uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a thread spins before it sleeps: a worker waiting for the next job, and the caller
// waiting for a claimed block to finish. Between two jobs of a training step there are a few
// microseconds to tens of microseconds of serial work; waking a sleeping thread costs tens of
// microseconds on a virtual machine. COURSE_SPIN_US overrides both (for measuring; 0 = no spin).
long spin_ns_from_environment() {
  if (const char* s = std::getenv("COURSE_SPIN_US")) {
    char* end = nullptr;
    const long us = std::strtol(s, &end, 10);
    if (end != s && us >= 0) return us * 1000;
  }
  return 50 * 1000;
}

// The time a caller runs jobs alone after a stall: doubled on each stall in a row, from 1 ms up
// to 64 ms, an eighth forgiven by each clean parallel job.
constexpr Clock::duration kSoloMin = std::chrono::milliseconds(1), kSoloMax = std::chrono::milliseconds(64);

thread_local bool t_inside_block = false;

// Whether the pool pays. Linux shares CPU time fairly between sessions (autogroups) and cgroups,
// not between threads: a program beside one or two busy programs of other sessions (a browser, a
// compile in another terminal) gets one core, or 2/3 of one, whether it runs 1 thread or 2. With
// 2, its threads mostly wait for each other, and the scheduler's per-CPU shares of the program
// follow its threads with a lag: measured beside two busy loops, the program ran 2 threads at
// 0.5 of a core where 1 thread got 0.65 (epoch 1.3x slower). So a program that cannot get more
// than about one core runs best on one thread. The governor measures that:
//   * In the pool, per window of kWindow of wall time: the window is "contended" when the program
//     got less than kMoreThanOne core (process CPU time over wall time) AND the calling thread
//     spent at least kWaited of the window runnable but waiting for a CPU (the kernel's run-queue
//     wait, /proc/thread-self/schedstat), so a program that is mostly serial, or waits for a pipe
//     to gnuplot, on an idle machine is not mistaken for one that waits for cores. (Without
//     schedstat: the calling thread got less than kOwnCore of a core.) A contended window sends
//     every job to the caller alone ("solo").
//   * Solo lasts at least `solo_for` (kAloneMin, doubling up to kAloneMax each time the pool is
//     found contended again right after a return). After that the pool is tried again only when
//     the machine has a core's worth of idle time to give (at least kIdleCores of CPU time idle
//     per second, from /proc/stat, over kIdleWindow): waking the worker to find out costs the
//     program its CPU share for a while after, so without idle cores it stays solo. Where
//     /proc/stat cannot be read, the pool is tried again every solo_for.
// An idle machine never leaves the pool. Only the speed depends on this: the blocks and their
// order (so every number) are the same in either mode. COURSE_PARALLEL=pool turns it off;
// COURSE_PARALLEL_STATS=1 prints its counts at exit.
constexpr Clock::duration kWindow = std::chrono::milliseconds(60), kAloneMin = std::chrono::milliseconds(250),
                          kAloneMax = std::chrono::seconds(4), kIdleWindow = std::chrono::milliseconds(200);
constexpr double kMoreThanOne = 1.2, kWaited = 0.15, kOwnCore = 0.8, kIdleCores = 0.5;

double cpu_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Seconds all CPUs of the machine spent idle (idle + iowait of /proc/stat's "cpu" line), or -1.
double machine_idle_seconds() {
  static const long hz = sysconf(_SC_CLK_TCK);
  const int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || hz <= 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  char buf[512];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 5 || std::string_view(buf, 4) != "cpu ") return -1;
  buf[n] = 0;
  char* q = buf + 4;
  unsigned long long field[5] = {};  // user nice system idle iowait
  for (auto& f : field) {
    char* end = nullptr;
    f = std::strtoull(q, &end, 10);
    if (end == q) return -1;
    q = end;
  }
  return double(field[3] + field[4]) / double(hz);
}

// Seconds the calling thread has spent runnable but waiting for a CPU, or -1 (no schedstat).
double thread_wait_seconds() {
  const int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* end = nullptr;
  std::strtoull(buf, &end, 10);  // time on a CPU (ns)
  if (end == buf) return -1;
  char* q = end;
  const unsigned long long wait = std::strtoull(q, &end, 10);  // time waiting on a run queue (ns)
  return end == q ? -1 : 1e-9 * double(wait);
}

struct Governor {
  bool enabled = true;
  bool solo = false;
  bool started = false;
  Clock::time_point window_start{}, solo_until{}, idle_since{};
  double window_process_cpu = 0, window_thread_cpu = 0, window_thread_wait = -1, idle_base = -1;
  std::thread::id window_thread{};
  Clock::duration solo_for = kAloneMin;
  bool just_returned = false;  // the pool window after a return from solo
  long windows = 0, contended = 0, returns = 0, jobs = 0, solo_jobs = 0;

  void begin_window(Clock::time_point now) {
    window_start = now;
    window_process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    window_thread_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    window_thread_wait = thread_wait_seconds();
    window_thread = std::this_thread::get_id();
  }

  // In solo mode, past solo_until: true when the pool should be tried again.
  bool machine_has_idle_core(Clock::time_point now) {
    if (idle_base < 0) {
      idle_base = machine_idle_seconds();
      idle_since = now;
      return idle_base < 0;  // no /proc/stat: try the pool every solo_for
    }
    if (now - idle_since < kIdleWindow) return false;
    const double idle = machine_idle_seconds();
    const double cores = (idle - idle_base) / std::chrono::duration<double>(now - idle_since).count();
    idle_base = idle;
    idle_since = now;
    return idle < 0 || cores >= kIdleCores;
  }

  // Called by the thread that holds the pool, before each job: true if the job runs solo.
  bool next_job_solo() {
    if (!enabled) return false;
    ++jobs;
    const auto now = Clock::now();
    if (!started) {
      started = true;
      begin_window(now);
    } else if (solo) {
      if (now >= solo_until && machine_has_idle_core(now)) {
        solo = false;  // the next window runs in the pool
        just_returned = true;
        ++returns;
        begin_window(now);
      }
    } else if (window_thread != std::this_thread::get_id() || now - window_start > 8 * kWindow) {
      begin_window(now);  // another calling thread, or a long pause between jobs: start over
    } else if (now - window_start >= kWindow) {
      const double wall = std::chrono::duration<double>(now - window_start).count();
      const double process = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - window_process_cpu) / wall;
      const double wait = thread_wait_seconds();
      const bool starved = window_thread_wait >= 0 && wait >= 0
                               ? (wait - window_thread_wait) / wall >= kWaited
                               : (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - window_thread_cpu) / wall < kOwnCore;
      ++windows;
      if (process < kMoreThanOne && starved) {
        ++contended;
        solo = true;
        solo_for = just_returned ? std::min(2 * solo_for, kAloneMax) : kAloneMin;
        solo_until = now + solo_for;
        idle_base = -1;
      } else {
        solo_for = kAloneMin;
      }
      just_returned = false;
      begin_window(now);
    }
    solo_jobs += solo;
    return solo;
  }
};

struct Pool {
  std::atomic<std::uint64_t> claim{0};      // generation << 32 | next block to claim
  std::atomic<std::uint32_t> gen{0};        // futex word: the generation of the latest job
  std::atomic<std::uint32_t> done{0};       // futex word: blocks of the current job finished
  std::atomic<std::uint32_t> sleepers{0};   // workers asleep on `gen`
  std::atomic<std::uint32_t> caller_asleep{0};
  std::atomic<detail::BlockFn> fn{nullptr};
  std::atomic<void*> context{nullptr};
  std::atomic<Index> blocks{0};
  std::atomic<int> active{0};               // workers 0 .. active-1 take part in the current job

  std::mutex error_mutex;
  std::exception_ptr error;
  Index error_block = 0;

  std::mutex caller_mutex;                  // one job at a time
  int spawned = 0;                          // workers started (guarded by caller_mutex)
  // After a stall (see run_blocks), jobs run on the caller alone until solo_until (guarded by
  // caller_mutex, read without it: a stale read only decides inline vs pool for one job).
  Clock::duration solo_backoff{0};
  Clock::time_point solo_until{};
  long stalls = 0;
  Governor governor;                        // guarded by caller_mutex
  const long spin_ns = spin_ns_from_environment();
};

// COURSE_PARALLEL=pool turns the governor off (every job with more than one block goes to the
// pool, as before it existed); COURSE_PARALLEL_STATS=1 prints what the pool did at exit (stderr).
void print_stats();

Pool* make_pool() {
  auto* p = new Pool;
  if (const char* m = std::getenv("COURSE_PARALLEL"); m && std::string_view(m) == "pool") p->governor.enabled = false;
  if (const char* s = std::getenv("COURSE_PARALLEL_STATS"); s && *s && *s != '0') std::atexit(print_stats);
  return p;
}

// Never destroyed: workers may still be waiting on it while the program exits.
Pool& pool() {
  static Pool* p = make_pool();
  return *p;
}

void print_stats() {
  Pool& p = pool();
  const std::unique_lock<std::mutex> lock(p.caller_mutex, std::try_to_lock);  // exit may come from inside a job
  const Governor& g = p.governor;
  std::fprintf(stderr, "course::parallel: %ld jobs, %ld on the caller alone by the governor (%s), %ld windows measured, %ld contended, %ld returns to the pool, %ld stalls\n",
               g.jobs, g.solo_jobs, g.enabled ? "on" : "off", g.windows, g.contended, g.returns, p.stalls);
}

// The next unclaimed block of generation g, or -1 when there is none (or g is over).
Index claim_block(Pool& p, std::uint32_t g) {
  std::uint64_t w = p.claim.load(std::memory_order_acquire);
  for (;;) {
    if (std::uint32_t(w >> 32) != g) return -1;
    const Index next = Index(w & 0xffffffffu);
    if (next >= p.blocks.load(std::memory_order_relaxed)) return -1;
    if (p.claim.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return next;
  }
}

void run_one(Pool& p, detail::BlockFn fn, void* context, Index k) {
  try {
    fn(context, k);
  } catch (...) {
    const std::lock_guard<std::mutex> lock(p.error_mutex);
    if (!p.error || k < p.error_block) {
      p.error = std::current_exception();
      p.error_block = k;
    }
  }
}

// Claims and runs blocks of generation g until none is left (worker side).
void work_on(Pool& p, std::uint32_t g) {
  t_inside_block = true;
  for (Index k; (k = claim_block(p, g)) >= 0;) {
    // A successful claim means job g is still running: its fn and context are stable.
    run_one(p, p.fn.load(std::memory_order_relaxed), p.context.load(std::memory_order_relaxed), k);
    p.done.fetch_add(1, std::memory_order_seq_cst);
    if (p.caller_asleep.load(std::memory_order_seq_cst)) futex_wake_all(&p.done);
  }
  t_inside_block = false;
}

void worker_main(Pool* p, int id, std::uint32_t seen) {
  flush_subnormals();
  for (;;) {
    std::uint32_t g = p->gen.load(std::memory_order_acquire);
    if (g == seen) {
      const auto start = Clock::now();
      for (unsigned i = 1; (g = p->gen.load(std::memory_order_acquire)) == seen; ++i) {
        cpu_relax();
        if (i % 64 == 0) {
          if (Clock::now() - start > std::chrono::nanoseconds(p->spin_ns)) break;
          sched_yield();  // if the caller shares this core, let it run
        }
      }
    }
    if (g == seen) {
      p->sleepers.fetch_add(1, std::memory_order_seq_cst);
      while ((g = p->gen.load(std::memory_order_seq_cst)) == seen) futex_wait(&p->gen, seen);
      p->sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }
    seen = g;
    if (id < p->active.load(std::memory_order_relaxed)) work_on(*p, g);
  }
}

int default_threads() { return std::max(1, omp_get_max_threads()); }

std::atomic<int> g_threads{0};  // 0: not chosen yet (the default)

// Eigen's own OpenMP-parallel GEMM is off in every program that links this file: blocks of
// for_blocks multiply matrices, and an Eigen product inside a block would open a second team of
// threads on the same cores; Eigen's threaded GEMM also picks its blocking from the thread
// count, so its results would depend on it. Parallelism comes from for_blocks alone.
const bool g_eigen_single_threaded = (Eigen::setNbThreads(1), true);

// The main thread flushes subnormals from before main on (see flush_subnormals in parallel.hpp);
// threads it creates inherit the mode, and the pool's workers set it again themselves.
const bool g_subnormals_flushed = (flush_subnormals(), true);

}  // namespace

void flush_subnormals() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr(_mm_getcsr() | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#elif defined(__aarch64__)
  std::uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  asm volatile("msr fpcr, %0" : : "r"(fpcr | (std::uint64_t(1) << 24)));  // FZ
#endif
}

int threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
  const int d = default_threads();
  g_threads.store(d, std::memory_order_relaxed);
  return d;
}

void set_threads(int n) {
  (void)g_eigen_single_threaded;
  (void)g_subnormals_flushed;
  g_threads.store(n > 0 ? n : default_threads(), std::memory_order_relaxed);
}

namespace detail {

bool inside_block() { return t_inside_block; }

void run_blocks(Index blocks, BlockFn fn, void* context) {
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.caller_mutex, std::try_to_lock);
  if (!lock.owns_lock() || blocks > Index(std::numeric_limits<std::int32_t>::max()) ||
      p.governor.next_job_solo() ||
      (p.solo_backoff.count() > 0 && Clock::now() < p.solo_until)) {
    // Another thread of the program is running a job (or the job is absurdly large): run inline.
    std::exception_ptr first;
    t_inside_block = true;
    for (Index k = 0; k < blocks; ++k) {
      try {
        fn(context, k);
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    t_inside_block = false;
    if (first) std::rethrow_exception(first);
    return;
  }
  {
    const int workers = threads() - 1;
    const std::uint32_t g = p.gen.load(std::memory_order_relaxed) + 1;  // only the caller writes gen
    // A thread that cannot be created (a process limit reached, as under a fork bomb beside us)
    // is not an error: the caller claims blocks itself, so the job finishes with the workers that exist.
    for (; p.spawned < workers; ++p.spawned) {
      try {
        std::thread(worker_main, &p, p.spawned, g - 1).detach();
      } catch (const std::system_error&) {
        break;
      }
    }
    p.fn.store(fn, std::memory_order_relaxed);
    p.context.store(context, std::memory_order_relaxed);
    p.blocks.store(blocks, std::memory_order_relaxed);
    p.active.store(std::min(workers, p.spawned), std::memory_order_relaxed);
    p.done.store(0, std::memory_order_relaxed);
    p.error = nullptr;
    p.claim.store(std::uint64_t(g) << 32, std::memory_order_release);
    p.gen.store(g, std::memory_order_seq_cst);
    if (p.sleepers.load(std::memory_order_seq_cst) > 0) futex_wake_all(&p.gen);

    t_inside_block = true;
    const auto t0 = Clock::now();
    Index mine = 0;
    for (Index k; (k = claim_block(p, g)) >= 0; ++mine) {
      run_one(p, fn, context, k);
      p.done.fetch_add(1, std::memory_order_seq_cst);
    }
    t_inside_block = false;

    // Every block is claimed; wait for the ones workers are still running.
    const auto total = std::uint32_t(blocks);
    std::uint32_t d = p.done.load(std::memory_order_acquire);
    if (d >= total) {
      p.solo_backoff -= p.solo_backoff / 8;  // a clean parallel job: forgive an eighth
    } else {
      const auto start = Clock::now();
      for (unsigned i = 1; (d = p.done.load(std::memory_order_acquire)) < total; ++i) {
        cpu_relax();
        if (i % 64 == 0) {
          if (Clock::now() - start > std::chrono::nanoseconds(p.spin_ns)) break;
          sched_yield();  // if the worker we wait for shares this core, let it run
        }
      }
      while (d < total) {
        p.caller_asleep.store(1, std::memory_order_seq_cst);
        d = p.done.load(std::memory_order_seq_cst);
        if (d < total) futex_wait(&p.done, d);
        p.caller_asleep.store(0, std::memory_order_seq_cst);
        d = p.done.load(std::memory_order_acquire);
      }
      // A healthy job ends within about one block of the caller running out of blocks. A much
      // longer wait means the worker holding a block was descheduled (another program has its
      // core): run the next jobs on the caller alone for a while, doubling that while it repeats.
      const auto end = Clock::now();
      const auto own = (start - t0) / std::max<Index>(mine, 1);
      if (end - start > 3 * own + std::chrono::microseconds(100)) {
        p.solo_backoff = std::clamp(2 * p.solo_backoff, kSoloMin, kSoloMax);
        p.solo_until = end + p.solo_backoff;
        ++p.stalls;
      } else {
        p.solo_backoff -= p.solo_backoff / 8;
      }
    }
  }
  if (p.error) {
    std::exception_ptr e = nullptr;
    std::swap(e, p.error);
    std::rethrow_exception(e);
  }
}

}  // namespace detail
}  // namespace course::parallel
