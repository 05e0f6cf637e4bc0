#!/usr/bin/env python3
"""The mutation runner (tools/mutate.py) on a tiny fake project: no compiler, no course build.

The fake "build" copies nothing; the fake "tests" check one formula in src/model.txt. A runner that
counted a survivor as killed, lost a file on an interrupt, or mutated two places at once would be
worse than none: each of those is a case here."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MUTATE = ROOT / "tools" / "mutate.py"

MODEL = "loss = 0.5 * r * r\ngrad = r\nshown = 3\n"
# The fake test kills a wrong loss or a wrong gradient; `shown` is checked by nothing.
TEST = """
import pathlib, sys, time, os
text = pathlib.Path("src/model.txt").read_text()
if os.environ.get("SLOW_TEST") and "loss = r * r" in text:  # the mutant's run, not the baseline
    pathlib.Path("started").write_text("x")
    time.sleep(30)
sys.exit(0 if "loss = 0.5 * r * r" in text and "grad = r" in text else 1)
"""
MUTANTS = """# a comment
[99.1] missing factor 1/2 in the loss
file src/model.txt
- loss = 0.5 * r * r
+ loss = r * r

[99.2] sign of the gradient
file src/model.txt
- grad = r
+ grad = -r

[99.3] a number that no check sees
file src/model.txt
- shown = 3
+ shown = 4

[99.4] a snippet that moved
file src/model.txt
- no such line
+ anything
"""


class MutateRunner(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.tmp.name)
        (self.root / "src").mkdir()
        (self.root / "src" / "model.txt").write_text(MODEL)
        (self.root / "test.py").write_text(TEST)
        (self.root / "mutants").mkdir()
        (self.root / "mutants" / "ch99.txt").write_text(MUTANTS)

    def tearDown(self):
        self.tmp.cleanup()

    def args(self, *extra, build="true"):
        return [sys.executable, str(MUTATE), "99", "--root", str(self.root), "--mutants-dir", str(self.root / "mutants"),
                "--build-dir", str(self.root / "build"), "--build-cmd", build,
                "--test-cmd", f"{sys.executable} test.py", *extra]

    def run_mutate(self, *extra, env=None):
        return subprocess.run(self.args(*extra), capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, **(env or {})))

    def test_reports_killed_survived_and_not_applicable_and_exits_1(self):
        r = self.run_mutate()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"\[99\.1\] KILLED")
        self.assertRegex(r.stdout, r"\[99\.2\] KILLED")
        self.assertRegex(r.stdout, r"\[99\.3\] SURVIVED")
        self.assertRegex(r.stdout, r"\[99\.4\] NOT APPLICABLE .*snippet not found")
        # kill rate over the mutants that applied: 2 of 3
        self.assertRegex(r.stdout, r"\n\s+99\s+4\s+2\s+1\s+1\s+0\s+67%")
        self.assertEqual((self.root / "src" / "model.txt").read_text(), MODEL)  # restored

    def test_all_killed_exits_0(self):
        r = self.run_mutate("--only", "99.1", "--only", "99.2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 of 2 mutants killed", r.stdout)

    def test_a_snippet_found_twice_is_not_applied(self):
        (self.root / "src" / "model.txt").write_text(MODEL + "grad = r\n")
        r = self.run_mutate("--only", "99.2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("found 2 times", r.stdout)

    def test_a_build_error_is_not_a_kill(self):
        r = subprocess.run(self.args("--only", "99.1", build="false"), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # the baseline does not build
        self.assertIn("does not build without any mutant", r.stderr)

    def test_sigterm_during_a_test_restores_the_file(self):
        p = subprocess.Popen(self.args("--only", "99.1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, SLOW_TEST="1"), cwd=self.root)
        # Wait until the tests of the mutated file run, then interrupt the runner.
        marker = self.root / "started"
        deadline = time.monotonic() + 40
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(marker.exists())
        self.assertIn("loss = r * r", (self.root / "src" / "model.txt").read_text())  # mutated now
        os.kill(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, out + err)
        self.assertEqual((self.root / "src" / "model.txt").read_text(), MODEL)
        self.assertFalse((self.root / "build" / "mutate-journal.json").exists())

    def test_a_journal_left_by_a_hard_kill_is_restored_first(self):
        (self.root / "build").mkdir()
        (self.root / "src" / "model.txt").write_text("loss = r * r\ngrad = r\nshown = 3\n")  # a mutant left behind
        (self.root / "build" / "mutate-journal.json").write_text(json.dumps({"src/model.txt": MODEL}))
        r = self.run_mutate("--restore")
        self.assertEqual(r.returncode, 0)
        self.assertIn("src/model.txt", r.stdout)
        self.assertEqual((self.root / "src" / "model.txt").read_text(), MODEL)

    def test_a_malformed_list_is_one_line_and_exit_2(self):
        (self.root / "mutants" / "ch99.txt").write_text("[99.1]\nfile x\n- a\n")
        r = self.run_mutate()
        self.assertEqual(r.returncode, 2)
        self.assertIn("has no description of its bug", r.stderr)


class CourseMutantLists(unittest.TestCase):
    """Every committed mutant list parses, names its bug, and every mutant applies to the sources."""

    def test_every_mutant_applies_exactly_once(self):
        r = subprocess.run([sys.executable, str(MUTATE), "--list"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        bad = [line for line in r.stdout.splitlines() if " ok " not in line]
        self.assertEqual(bad, [], "mutants whose snippet moved or is ambiguous (re-point them):\n" + "\n".join(bad))
        counts = {}
        for line in r.stdout.splitlines():
            counts[line[1:3]] = counts.get(line[1:3], 0) + 1
        for ch in [f"{n:02d}" for n in range(1, 11)]:
            self.assertGreaterEqual(counts.get(ch, 0), 8, f"chapter {ch} has fewer than 8 mutants")


if __name__ == "__main__":
    unittest.main()
