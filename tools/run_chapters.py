#!/usr/bin/env python3
"""Run chapter programs, several at a time, and print their output in chapter order.

    python3 tools/run_chapters.py [--jobs N] [--threads T] EXE... -- [ARGS passed to every chapter]

This is how `./course figures` (and `./course book`, for the chapters without figures) runs the
chapters. On a machine with C cores it runs min(C, 2) chapters at once, each on C / jobs threads
(OMP_NUM_THREADS; the programs' results do not depend on their thread count, the tests check
that bit for bit). Most of a chapter's time is not in big matrix products: checks, small
networks, sampling, gnuplot. One thread on each core keeps both cores busy all the time, where one
chapter on two threads leaves a core idle in every serial stretch and waits at every join (bench/
README.md has the measurement). The output of the lowest-numbered chapter still running is
printed as it comes; the others' is kept (in memory) and printed, whole, when their turn comes,
so the log reads exactly as if the chapters had run one after the other. The wall time of each
chapter and of the whole run is printed at the end. Exit status 1 if any chapter failed (they
are named), 2 for bad usage.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def main() -> int:
    argv = sys.argv[1:]
    passed: list[str] = []
    if "--" in argv:
        k = argv.index("--")
        argv, passed = argv[:k], argv[k + 1:]
    ap = argparse.ArgumentParser(description="run chapter programs in parallel, output in order")
    ap.add_argument("--jobs", type=int, default=None, help="chapters at once (default: min(cores, 2))")
    ap.add_argument("--threads", type=int, default=None, help="threads per chapter (default: cores / jobs)")
    ap.add_argument("exe", nargs="+", help="chapter programs, in the order their output is printed")
    a = ap.parse_args(argv)
    n_cores = cores()
    jobs = min(n_cores, 2) if a.jobs is None else a.jobs
    if jobs < 1 or jobs > 64:
        print("run_chapters: --jobs must be between 1 and 64", file=sys.stderr)
        return 2
    threads = max(1, n_cores // jobs) if a.threads is None else a.threads
    if threads < 1 or threads > 256:
        print("run_chapters: --threads must be between 1 and 256", file=sys.stderr)
        return 2
    for exe in a.exe:
        if not os.access(exe, os.X_OK):
            print(f"run_chapters: {exe}: not an executable (build first)", file=sys.stderr)
            return 2

    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = sys.stdout.buffer
    logs = [tempfile.TemporaryFile() for _ in a.exe]
    procs: list[subprocess.Popen | None] = [None] * len(a.exe)
    start = [0.0] * len(a.exe)
    seconds = [0.0] * len(a.exe)
    failed: list[str] = []
    t0 = time.monotonic()

    def stop(signum, _frame):
        for p in procs:
            if p is not None and p.poll() is None:
                p.terminate()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"(running {jobs} chapter(s) at a time, {threads} thread(s) each; output in chapter order)", flush=True)

    next_start, shown, offset, headed = 0, 0, 0, False
    while shown < len(a.exe):
        running = sum(1 for p in procs if p is not None and p.poll() is None)
        while next_start < len(a.exe) and running < jobs:
            k = next_start
            start[k] = time.monotonic()
            procs[k] = subprocess.Popen([a.exe[k], *passed], stdout=logs[k], stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env)
            next_start += 1
            running += 1
        for k, p in enumerate(procs):
            if p is not None and seconds[k] == 0.0 and p.poll() is not None:
                seconds[k] = time.monotonic() - start[k]
        # The chapter whose turn it is: print what it has written so far.
        k = shown
        p = procs[k]
        if p is None:
            time.sleep(0.1)
            continue
        if not headed:
            headed = True
            out.write(f"\n######## {pathlib.Path(a.exe[k]).name} ########\n".encode())
        done = p.poll() is not None
        logs[k].seek(offset)
        chunk = logs[k].read()
        if chunk:
            out.write(chunk)
            offset += len(chunk)
        out.flush()
        if done:
            name = pathlib.Path(a.exe[k]).name
            if p.returncode != 0:
                failed.append(name)
                out.write(f"{name}: exited {p.returncode}\n".encode())
            out.write(f"######## {name}: {seconds[k]:.1f} s ########\n".encode())
            out.flush()
            logs[k].close()
            shown, offset, headed = shown + 1, 0, False
        elif not chunk:
            time.sleep(0.1)

    total = time.monotonic() - t0
    print("\nWall time per chapter (chapters ran %d at a time):" % jobs)
    for exe, s in zip(a.exe, seconds):
        print(f"  {pathlib.Path(exe).name:<28} {s:7.1f} s")
    print(f"  {'all chapters':<28} {total:7.1f} s")
    if failed:
        print("course: FAILED: " + " ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
