#!/usr/bin/env python3
"""expect_exit.py CODE PATTERN -- CMD...: run CMD; pass when it exits with CODE and its stderr is
one line containing PATTERN (a bad flag or file gets one clear line, never a crash or a trace)."""
import subprocess
import sys

code, pattern = int(sys.argv[1]), sys.argv[2]
cmd = sys.argv[sys.argv.index("--") + 1:]
try:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
except subprocess.TimeoutExpired:
    sys.exit(f"FAIL: {' '.join(cmd)} did not finish in 120 s")
err = [l for l in p.stderr.splitlines() if l.strip()]
problems = []
if p.returncode != code:
    problems.append(f"exit code {p.returncode}, expected {code}")
if len(err) != 1:
    problems.append(f"stderr has {len(err)} lines, expected 1")
if pattern not in p.stderr:
    problems.append(f"stderr lacks '{pattern}'")
if problems:
    print(p.stdout[-2000:])
    print(p.stderr[-2000:])
    sys.exit("FAIL: " + "; ".join(problems))
print(f"OK: exit {code}: {err[0]}")
