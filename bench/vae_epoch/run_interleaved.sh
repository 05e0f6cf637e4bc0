#!/bin/sh
# Interleaved measurement of one training epoch: C++ and PyTorch alternately, 1 and 2 threads,
# RUNS rounds (default 5), then the medians. Usage (from the repository root, after building):
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
    "$build/bench/vae_epoch/bench_vae_epoch" --threads "$t" | tee -a "$log"
    if [ $have_torch = 1 ]; then
      OMP_NUM_THREADS=$t /usr/bin/python3 "$here/vae_epoch.py" --threads "$t" | tee -a "$log"
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
PY
rm -f "$log"
