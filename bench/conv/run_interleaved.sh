#!/bin/sh
# Interleaved measurement of bench_conv (C++) and conv.py (PyTorch): ROUNDS rounds (default 5) of
# both programs at 1 and 2 threads, alternately, then the medians over rounds and the ratios.
# Usage (from the repository root, after building):
#   sh bench/conv/run_interleaved.sh [ROUNDS] [BUILD_DIR]
set -eu
rounds=${1:-5}
build=${2:-build}
here=$(dirname "$0")
log=$(mktemp)
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || echo "python3-torch not installed: measuring the C++ program only"
i=1
while [ "$i" -le "$rounds" ]; do
  for t in 1 2; do
    "$build/bench/conv/bench_conv" --threads "$t" | tee -a "$log"
    if [ $have_torch = 1 ]; then
      OMP_NUM_THREADS=$t /usr/bin/python3 "$here/conv.py" --threads "$t" | tee -a "$log"
    fi
  done
  i=$((i + 1))
done
/usr/bin/python3 - "$log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = dict(re.findall(r"(\w+)=([-\d.]+)", line))
    if "ms_per_batch" in m:
        rows.setdefault((line.split()[0], m["threads"]), []).append(float(m["ms_per_batch"]))
print(f"\n{'program':8} {'threads':>7} {'ms/batch':>9} {'images/s':>9}   (all rounds: ms/batch)")
med = {}
for (prog, t), v in sorted(rows.items()):
    med[(prog, t)] = statistics.median(v)
    print(f"{prog:8} {t:>7} {med[(prog, t)]:9.2f} {128000 / med[(prog, t)]:9.0f}   {' '.join(f'{x:.1f}' for x in v)}")
for t in ("1", "2"):
    if ("c++", t) in med and ("pytorch", t) in med:
        print(f"threads {t}: C++ / PyTorch time per batch = {med[('c++', t)] / med[('pytorch', t)]:.2f}")
PY
rm -f "$log"
