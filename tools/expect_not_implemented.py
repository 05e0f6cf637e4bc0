#!/usr/bin/env python3
"""Run a chapter's tests linked against the generated exercise stubs. They must fail cleanly:
every failure says "exercise N.k ... not implemented yet", nothing crashes, nothing hangs."""
import subprocess
import sys

exe = sys.argv[1]
try:
    p = subprocess.run([exe, "--color_output=no", "--report_level=short"], capture_output=True,
                       text=True, timeout=240)
except subprocess.TimeoutExpired:
    sys.exit(f"{exe}: timed out against the exercise stubs")
out = p.stdout + p.stderr
problems = []
if p.returncode < 0:
    problems.append(f"killed by signal {-p.returncode}")
for crash in ("memory access violation", "signal: ", "SIGSEGV", "SIGABRT", "std::bad_alloc"):
    if crash in out:
        problems.append(f"crash: output contains '{crash}'")
if "not implemented yet" not in out:
    problems.append("no test reported 'not implemented yet'")
if p.returncode == 0:
    problems.append("every test passed against the stubs: the tests do not exercise the exercises")
for line in out.splitlines():
    if "error" in line and "not implemented yet" not in line and ("fatal error" in line):
        problems.append(f"a failure that is not 'not implemented': {line.strip()}")
if problems:
    print(out[-4000:])
    sys.exit("FAIL: " + "; ".join(problems))
n = out.count("not implemented yet")
print(f"OK: {exe} fails cleanly against the stubs ({n} 'not implemented yet' reports)")
