#!/usr/bin/python3
"""One run of the VAE-epoch benchmark: C++ on 1 and 2 threads and a fairly configured PyTorch peer,
alternating, on an idle machine and under three loads that this script starts and stops itself;
the GEMM bound of an epoch and where the rest of the time goes. See bench/README.md.

    /usr/bin/python3 bench/vae_epoch/run_bench.py [--rounds 2] [--build build] [--loads idle,busy1,busy2,compile]

Loads: busy1 / busy2 = one / two `sh -c 'while :; do :; done'`; compile = two loops of C++ compiles
with pauses between them (a bursty parallel build). Each load runs in a session of its own, as a
program in another terminal or a desktop application does: Linux then shares CPU time between the
sessions, not between threads (a 2-thread program beside two busy sessions gets 2/3 of a core).
The C++ runs print what for_blocks' governor did (COURSE_PARALLEL_STATS=1). Every figure is the median over the rounds; on
a shared machine quote the ratios (same run, same conditions), not the absolute times.

The peer: Debian's python3-torch calls whatever libblas.so.3 is. This script makes sure it is the
OpenMP build of OpenBLAS (libopenblas0-openmp, installed with apt-get when run as root), unsets
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the peer, asks OpenBLAS which kernel it picked
(OPENBLAS_VERBOSE=2), and when that is a generic fallback (or slower than the best kernel the CPU's
flags allow) sets OPENBLAS_CORETYPE to the faster one, measured."""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"  # Debian's interpreter: the one python3-torch is installed for

# OpenBLAS's generic kernels: what 0.3.21 falls back to on a CPU it does not know.
GENERIC_CORES = {"prescott", "katmai", "coppermine", "northwood", "core2", "penryn", "dunnington",
                 "nehalem", "atom", "opteron", "barcelona", "generic"}

TORCH_GEMM = r"""
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(128, 784), torch.randn(784, 400)
for _ in range(20): a @ b
best = 1e9
for _ in range(7):
    t = time.perf_counter()
    for _ in range(40): a @ b
    best = min(best, (time.perf_counter() - t) / 40)
print(f"{2 * 128 * 784 * 400 / best / 1e9:.1f}")
"""


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# The peer's configuration
# ---------------------------------------------------------------------------------------------
def dpkg_installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return "install ok installed" in r.stdout


def ensure_openblas_openmp():
    if shutil.which("dpkg-query") is None:
        return "not a Debian system: cannot check libopenblas0-openmp"
    if dpkg_installed("libopenblas0-openmp"):
        return "libopenblas0-openmp installed"
    if os.geteuid() != 0:
        return "libopenblas0-openmp missing (install: sudo apt-get install -y libopenblas0-openmp)"
    log("installing libopenblas0-openmp (the OpenMP build shares torch's thread pool)")
    r = subprocess.run(["apt-get", "install", "-y", "-qq", "libopenblas0-openmp"],
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), capture_output=True, text=True)
    return "libopenblas0-openmp installed now" if r.returncode == 0 else "apt-get install libopenblas0-openmp failed"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def best_kernel_for_flags(flags):
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return "Cooperlake" if "avx512_bf16" in flags else "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    if "avx" in flags:
        return "Sandybridge"
    return None


def peer_env(coretype=None, threads=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def torch_gemm(env, threads):
    """torch's 128x784 @ 784x400 rate in GFLOP/s, and the kernel OpenBLAS says it runs."""
    r = subprocess.run([PY, "-c", TORCH_GEMM, str(threads)], env=dict(env, OPENBLAS_VERBOSE="2"),
                       capture_output=True, text=True, timeout=120)
    core = re.search(r"Core:\s*(\S+)", r.stdout + r.stderr)
    rate = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else "nan"
    return float(rate), core.group(1) if core else "?"


def configure_peer():
    """Returns (env for the peer, description lines) or (None, reason)."""
    if subprocess.run([PY, "-c", "import torch"], capture_output=True).returncode != 0:
        return None, ["python3-torch is not importable by /usr/bin/python3: C++ only"]
    notes = [ensure_openblas_openmp()]
    rate_default, core_default = torch_gemm(peer_env(), 1)
    notes.append(f"OpenBLAS picks core {core_default} by itself: torch GEMM {rate_default:.1f} GFLOP/s (1 thread)")
    best = best_kernel_for_flags(cpu_flags())
    chosen, chosen_rate, chosen_core = None, rate_default, core_default
    if best and best.lower() != core_default.lower():
        rate_best, core_best = torch_gemm(peer_env(best), 1)
        generic = core_default.lower() in GENERIC_CORES
        notes.append(f"OPENBLAS_CORETYPE={best} (best the CPU flags allow): core {core_best}, "
                     f"{rate_best:.1f} GFLOP/s" + (" -- the default was a generic fallback" if generic else ""))
        if generic or rate_best > rate_default * 1.03:
            chosen, chosen_rate, chosen_core = best, rate_best, core_best
    notes.append("peer runs with " + (f"OPENBLAS_CORETYPE={chosen}" if chosen else "OpenBLAS's own choice") +
                 f" (core {chosen_core}), OPENBLAS_L2_SIZE unset")
    return peer_env(chosen), notes


# ---------------------------------------------------------------------------------------------
# Loads
# ---------------------------------------------------------------------------------------------
COMPILE_SOURCE = r"""
#include <Eigen/Dense>
template <int N> Eigen::Matrix<float, N, N> f(const Eigen::Matrix<float, N, N>& a) { return (a * a.transpose()).inverse(); }
template Eigen::Matrix<float, 7, 7> f(const Eigen::Matrix<float, 7, 7>&);
template Eigen::Matrix<float, 9, 9> f(const Eigen::Matrix<float, 9, 9>&);
Eigen::MatrixXd g(const Eigen::MatrixXd& a) { return a.jacobiSvd(Eigen::ComputeThinU).matrixU() * a.llt().matrixL(); }
"""


class Load:
    """Starts the processes of one load in their own process group; stop() ends that group."""

    def __init__(self, kind, tmp):
        self.kind, self.procs = kind, []
        if kind in ("busy1", "busy2"):
            for _ in range(1 if kind == "busy1" else 2):
                self.procs.append(subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True))
        elif kind == "compile":
            src = os.path.join(tmp, "load.cpp")
            with open(src, "w") as f:
                f.write(COMPILE_SOURCE)
            cxx = os.environ.get("CXX", "c++")
            loop = (f"while :; do {cxx} -std=c++17 -O2 -I/usr/include/eigen3 -c {src} -o /dev/null 2>/dev/null; "
                    f"sleep 0.3; done")
            for _ in range(2):
                self.procs.append(subprocess.Popen(["sh", "-c", loop], start_new_session=True))
        time.sleep(0.5 if self.procs else 0)

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.procs = []


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------
def parse(line):
    return {k: v for k, v in re.findall(r"(\w+)=([-\w./]+)", line)}


def run_one(cmd, env, timeout):
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "note": f">{timeout:.0f}s"}
    rows = [parse(l) for l in r.stdout.splitlines() if "seconds=" in l]
    if r.returncode != 0 or not rows:
        return {"seconds": float("nan"), "note": (r.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    res = {"seconds": float(rows[-1]["seconds"]), "test_elbo": float(rows[-1]["test_elbo"]),
           "peak_rss_mb": float(rows[-1]["peak_rss_mb"])}
    gov = re.search(r"course::parallel: (\d+) jobs, (\d+) on the caller alone", r.stderr)
    if gov and int(gov.group(1)) > 0:  # the governor's count (COURSE_PARALLEL_STATS=1)
        res["note"] = f"(governor: {100 * int(gov.group(2)) / int(gov.group(1)):.0f}% of jobs on one thread)"
    return res


def fmt(x):
    if x is None:
        return "     -"
    return "  fail" if x != x else (" >tmo" if x == float("inf") else f"{x:6.2f}")


def ratio(a, b):
    return "     -" if a is None or b is None or a != a or b != b else f"{a / b:6.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds per load (default 2)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="the CMake build directory")
    ap.add_argument("--loads", default="idle,busy1,busy2,compile")
    ap.add_argument("--timeout", type=float, default=45, help="seconds before one run counts as '>timeout'")
    ap.add_argument("--no-peer", action="store_true", help="C++ only")
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "vae_epoch", "bench_vae_epoch")
    if not os.access(exe, os.X_OK):
        sys.exit(f"error: {exe} not built (cmake --build {a.build} --target bench_vae_epoch)")
    loads = a.loads.split(",")
    bad = [l for l in loads if l not in ("idle", "busy1", "busy2", "compile")]
    if bad or a.rounds < 1:
        print(f"error: unknown load {bad} (idle, busy1, busy2, compile)" if bad else "error: --rounds >= 1", file=sys.stderr)
        sys.exit(2)
    start = time.time()
    log(f"# {os.uname().nodename}: {os.cpu_count()} cores; "
        + next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?'))

    env_peer, notes = (None, ["--no-peer: C++ only"]) if a.no_peer else configure_peer()
    log("\n## The PyTorch peer")
    for n in notes:
        log("  " + n)

    log("\n## GEMM: Eigen (C++) and torch on the VAE's shapes")
    g = subprocess.run([exe, "--gemm"], capture_output=True, text=True)
    sys.stdout.write(g.stdout)
    gemm = {}
    for line in g.stdout.splitlines():
        m = parse(line)
        if line.startswith("gemm_bound"):
            gemm[int(m["threads"])] = float(m["seconds"])
    if env_peer is not None:
        for t in (1, 2):
            rate, core = torch_gemm(dict(env_peer, OMP_NUM_THREADS=str(t)), t)
            log(f"torch_gemm shape=128x784x400 threads={t} gflops={rate:.1f} core={core}")

    programs = [("c++", 1), ("c++", 2)] + ([("torch", 1), ("torch", 2)] if env_peer is not None else [])
    results = {}  # (load, prog, threads) -> list of runs
    with tempfile.TemporaryDirectory() as tmp:
        for load in loads:
            log(f"\n## load: {load}")
            L = Load(load, tmp)
            try:
                for r in range(a.rounds):
                    order = programs[r % len(programs):] + programs[:r % len(programs)]  # rotate: alternate
                    for prog, t in order:
                        seed = 1 + r
                        if prog == "c++":
                            res = run_one([exe, "--threads", str(t), "--seed", str(seed)],
                                          dict(os.environ, COURSE_PARALLEL_STATS="1"), a.timeout)
                        else:
                            res = run_one([PY, os.path.join(HERE, "vae_epoch.py"), "--threads", str(t), "--seed", str(seed)],
                                          dict(env_peer, OMP_NUM_THREADS=str(t)), a.timeout)
                        results.setdefault((load, prog, t), []).append(res)
                        log(f"  round {r + 1} {prog:5} threads={t} s/epoch={fmt(res['seconds'])} {res.get('note', '')}")
            finally:
                L.stop()

    log("\n## Where the time of a 2-thread epoch goes (idle; seconds)")
    p = subprocess.run([exe, "--profile", "--threads", "2"], capture_output=True, text=True)
    prof = next((parse(l) for l in p.stdout.splitlines() if l.startswith("profile")), None)
    if prof:
        log("  " + "  ".join(f"{k} {float(prof[k]):.3f}" for k in
                             ("epoch", "gather", "forward", "backward", "optimiser", "products", "elementwise")))
        log("  (products: the model's partitioned products alone, hot; elementwise = forward + backward - products)")

    med = {k: statistics.median(x["seconds"] for x in v) for k, v in results.items()}
    log("\n## Seconds per epoch, median of %d round(s) per cell" % a.rounds)
    log(f"  {'load':8} {'C++ 1t':>7} {'C++ 2t':>7} {'torch 1t':>9} {'torch 2t':>9}   {'2t/1t':>6} {'C++2/torch best':>16}")
    for load in loads:
        c1, c2 = med.get((load, "c++", 1)), med.get((load, "c++", 2))
        t1, t2 = med.get((load, "torch", 1)), med.get((load, "torch", 2))
        finite = [t for t in (t1, t2) if t is not None and t == t]
        tb = min(finite) if finite else None  # the peer at its best thread count under this load
        log(f"  {load:8} {fmt(c1):>7} {fmt(c2):>7} {fmt(t1):>9} {fmt(t2):>9}   {ratio(c2, c1)} {ratio(c2, tb):>16}")
    if ("idle", "c++", 2) in med and 2 in gemm:
        e = med[("idle", "c++", 2)]
        log(f"\nGEMM bound of an epoch (2 cores): {gemm[2]:.3f} s; C++ 2-thread epoch / bound = {e / gemm[2]:.2f} (target <= 1.25)")
    if ("idle", "c++", 1) in med and 1 in gemm:
        log(f"GEMM bound of an epoch (1 core):  {gemm[1]:.3f} s; C++ 1-thread epoch / bound = {med[('idle', 'c++', 1)] / gemm[1]:.2f}")
    elbos = {k: [x["test_elbo"] for x in v if "test_elbo" in x] for k, v in results.items() if k[0] == "idle"}
    for (load, prog, t), e in sorted(elbos.items()):
        if e:
            log(f"test ELBO idle {prog} threads={t}: " + " ".join(f"{x:.2f}" for x in e))
    log(f"\nwall time of this benchmark: {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
