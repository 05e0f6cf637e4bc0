#!/bin/sh
# Interleaved measurement of one training epoch: C++ and PyTorch alternately, 1 and 2 threads,
# RUNS rounds (default 5), then the medians. Round i uses seed i in both programs (initialisation,
# shuffling, noise), so the test ELBOs form a sample over seeds: their mean +- standard error per
# program, and the C++ - PyTorch difference with a 95% interval, are printed at the end.
# Usage (from the repository root, after building):
#   sh bench/vae_epoch/run_interleaved.sh [RUNS] [BUILD_DIR]
# PyTorch runs only when Debian's python3-torch is importable by /usr/bin/python3.
set -eu
runs=${1:-5}
build=${2:-build}
here=$(dirname "$0")
log=$(mktemp)
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || echo "python3-torch not installed: measuring the C++ program only"
i=1
while [ "$i" -le "$runs" ]; do
  for t in 1 2; do
    "$build/bench/vae_epoch/bench_vae_epoch" --threads "$t" --seed "$i" | tee -a "$log"
    if [ $have_torch = 1 ]; then
      OMP_NUM_THREADS=$t /usr/bin/python3 "$here/vae_epoch.py" --threads "$t" --seed "$i" | tee -a "$log"
    fi
  done
  i=$((i + 1))
done
/usr/bin/python3 - "$log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = dict(re.findall(r"(\w+)=([-\d.]+)", line))
    if "seconds" in m:
        rows.setdefault((line.split()[0], m["threads"]), []).append(m)
print("\nmedians over %s" % ", ".join(f"{k[0]} t={k[1]}: {len(v)} runs" for k, v in sorted(rows.items())))
print(f"{'program':8} {'threads':>7} {'s/epoch':>8} {'img/s':>8} {'test ELBO':>10} {'peak MB':>8}   (all runs: s/epoch)")
med = {}
for (prog, t), v in sorted(rows.items()):
    s = statistics.median(float(r["seconds"]) for r in v)
    med[(prog, t)] = s
    print(f"{prog:8} {t:>7} {s:8.2f} {60000 / s:8.0f} {statistics.median(float(r['test_elbo']) for r in v):10.2f} "
          f"{statistics.median(float(r['peak_rss_mb']) for r in v):8.1f}   {' '.join(r['seconds'] for r in v)}")
for t in ("1", "2"):
    if ("c++", t) in med and ("pytorch", t) in med:
        print(f"threads {t}: C++ / PyTorch seconds per epoch = {med[('c++', t)] / med[('pytorch', t)]:.2f}")
# PyTorch's fastest thread count here may not be 2 (OpenBLAS's own threads and torch's OpenMP
# threads compete for the 2 cores): compare with whichever of its medians is lower, too.
torch_medians = [(s, t) for (prog, t), s in med.items() if prog == "pytorch"]
if torch_medians and ("c++", "2") in med:
    fastest = min(torch_medians)
    print(f"C++ 2 threads / PyTorch's fastest (threads {fastest[1]}, {fastest[0]:.2f} s) = {med[('c++', '2')] / fastest[0]:.2f}")
# Test ELBO over seeds (one run per seed and program): mean +- SE, and the difference of the means
# with a 95% interval (normal approximation, SE of a difference of two independent means).
for t in ("1", "2"):
    if ("c++", t) in rows and ("pytorch", t) in rows and len(rows[("c++", t)]) > 1 and len(rows[("pytorch", t)]) > 1:
        stats = {}
        for prog in ("c++", "pytorch"):
            e = [float(r["test_elbo"]) for r in rows[(prog, t)]]
            stats[prog] = (statistics.mean(e), statistics.stdev(e) / len(e) ** 0.5, len(e))
        d = stats["c++"][0] - stats["pytorch"][0]
        se = (stats["c++"][1] ** 2 + stats["pytorch"][1] ** 2) ** 0.5
        print(f"threads {t}: test ELBO over seeds: C++ {stats['c++'][0]:.2f} +- {stats['c++'][1]:.2f}, "
              f"PyTorch {stats['pytorch'][0]:.2f} +- {stats['pytorch'][1]:.2f} (n = {stats['c++'][2]}, {stats['pytorch'][2]}); "
              f"C++ - PyTorch = {d:+.2f} nats, 95% interval [{d - 1.96 * se:+.2f}, {d + 1.96 * se:+.2f}]")
PY
rm -f "$log"
