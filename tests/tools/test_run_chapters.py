#!/usr/bin/env python3
"""tools/run_chapters.py (how ./course figures runs the chapters) on fake chapter programs.

A runner that interleaved two chapters' output, lost the end of one, reported a failed chapter as
passed, ran the chapters one after the other, or left each on all the cores would be worse than
the plain loop it replaced: each of those is a case here. No compiler, no course build."""
import os
import pathlib
import stat
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tools" / "run_chapters.py"

# A fake chapter: prints its name, its thread count and its arguments, line by line with pauses,
# then exits with the status it is told.
FAKE = """#!/bin/sh
name=$(basename "$0")
for i in 1 2 3 4; do echo "$name line $i threads=$OMP_NUM_THREADS args=$*"; sleep {pause}; done
exit {status}
"""


def fake(directory: pathlib.Path, name: str, pause: float, status: int = 0) -> str:
    path = directory / name
    path.write_text(FAKE.format(pause=pause, status=status))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, timeout=60)


class RunChapters(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_output_is_in_chapter_order_and_complete_while_chapters_overlap(self):
        # ch02 is faster than ch01: it finishes first, but its lines must come after all of ch01's.
        exes = [fake(self.dir, "ch01_a", 0.3), fake(self.dir, "ch02_b", 0.05), fake(self.dir, "ch03_c", 0.05)]
        start = time.monotonic()
        r = run("--jobs", "2", "--threads", "1", *exes, "--", "--out", "figs", "--quick")
        wall = time.monotonic() - start
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stdout.splitlines() if " line " in l]
        expected = [f"{n} line {i} threads=1 args=--out figs --quick"
                    for n in ("ch01_a", "ch02_b", "ch03_c") for i in range(1, 5)]
        self.assertEqual(lines, expected)
        # Each block sits between its own header and footer.
        out = r.stdout
        for n in ("ch01_a", "ch02_b", "ch03_c"):
            head, foot = out.index(f"######## {n} ########"), out.index(f"######## {n}: ")
            self.assertLess(head, out.index(f"{n} line 1"))
            self.assertLess(out.index(f"{n} line 4"), foot)
        # They overlapped: run one after the other they take 1.2 + 0.2 + 0.2 s at least.
        self.assertLess(wall, 1.2 + 0.4 - 0.05, r.stdout)
        self.assertIn("Wall time per chapter", out)
        self.assertIn("all chapters", out)

    def test_the_default_is_two_at_a_time_with_the_cores_shared(self):
        exes = [fake(self.dir, "ch01_a", 0.01), fake(self.dir, "ch02_b", 0.01)]
        r = run(*exes)
        self.assertEqual(r.returncode, 0, r.stderr)
        cores = len(os.sched_getaffinity(0))
        jobs = min(cores, 2)
        self.assertIn(f"threads={max(1, cores // jobs)} ", r.stdout)
        self.assertIn(f"running {jobs} chapter(s) at a time", r.stdout)

    def test_one_job_runs_them_one_after_the_other(self):
        exes = [fake(self.dir, "ch01_a", 0.1), fake(self.dir, "ch02_b", 0.1)]
        start = time.monotonic()
        r = run("--jobs", "1", "--threads", "2", *exes)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(time.monotonic() - start, 0.8)
        self.assertIn("threads=2 ", r.stdout)

    def test_a_failed_chapter_is_named_and_the_others_still_run(self):
        exes = [fake(self.dir, "ch01_a", 0.01, status=3), fake(self.dir, "ch02_b", 0.01)]
        r = run(*exes)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ch01_a: exited 3", r.stdout)
        self.assertIn("ch02_b line 4", r.stdout)
        self.assertIn("FAILED: ch01_a", r.stderr)
        self.assertNotIn("ch02_b", r.stderr)

    def test_bad_usage_is_one_line_and_exit_2(self):
        r = run(str(self.dir / "no_such_chapter"))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("not an executable", r.stderr)
        r = run("--jobs", "0", fake(self.dir, "ch01_a", 0.01))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
