#!/usr/bin/env python3
"""The grader on a host that offers no isolation (no bubblewrap, or no namespaces: a fresh
chroot, a default Docker container), simulated three ways: COURSE_GRADE_ISOLATION=none (the
test switch: it can only take isolation away), a PATH without bwrap (detection: "not
installed"), and a PATH whose bwrap cannot create namespaces (detection: the probe fails).

- without --allow-weak-sandbox, ./course grade refuses: one line naming what is missing, exit
  status 2, nothing graded; a bad value of the test switch or of COURSE_GRADE_UID_BASE (0 would
  be root) is refused the same way;
- as root, the uid switch does not depend on namespaces: with isolation forced off, a contained
  command runs as the private uid with no capabilities, no_new_privs and no supplementary groups,
  and its process limit holds (the issue: student code ran as root, where RLIMIT_NPROC does not
  apply, and a fork flood filled the host's process table);
- with --allow-weak-sandbox it grades, and every report, feedback.md, results.json and the
  gradebook's isolation column say isolation was off; the corpus test (test_bad_submissions.py)
  run on such a host grades only the benign submissions and says why in one line.

    test_no_isolation.py --build BUILD_DIR        (exit 77 when chapter 1 is not built)
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import verdict  # tests/grading/verdict.py

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FILE = "ch01_linear_ae_pca.cpp"


def grade(build, out, sub, env_extra, *flags, path=None):
    env = dict(os.environ, **env_extra)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, str(ROOT / "tools/grade.py"), "--build", str(build),
                           "--out", str(out), *flags, str(sub)], env=env, capture_output=True,
                          text=True, timeout=600)


def path_without_bwrap(d: pathlib.Path, fake_bwrap: str | None) -> str:
    """A PATH holding every program of this one except bwrap (or a bwrap that fails as a host
    without namespaces makes it fail)."""
    bin_dir = d / "bin"
    bin_dir.mkdir(parents=True)
    for p in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            target = bin_dir / name
            if name != "bwrap" and not os.path.lexists(target):
                target.symlink_to(os.path.join(p, name))
    if fake_bwrap is not None:
        (bin_dir / "bwrap").write_text(f"#!/bin/sh\necho '{fake_bwrap}' >&2\nexit 1\n")
        (bin_dir / "bwrap").chmod(0o755)
    return str(bin_dir)


def refusal_problems(build: pathlib.Path) -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory(prefix="refuse-test-") as d:
        d = pathlib.Path(d)
        d.chmod(0o755)   # the fake bwrap is probed as the private uid too
        sub = d / "student"
        sub.mkdir()
        (sub / FILE).write_text((ROOT / "exercises" / FILE).read_text())
        cases = [
            ("COURSE_GRADE_ISOLATION=none", {"COURSE_GRADE_ISOLATION": "none"}, None,
             "refusing to grade", "COURSE_GRADE_ISOLATION=none"),
            ("no bwrap on PATH", {}, path_without_bwrap(d / "a", None),
             "refusing to grade", "bubblewrap is not installed"),
            ("a bwrap that cannot create namespaces", {},
             path_without_bwrap(d / "b", "bwrap: No permissions to creating new namespace"),
             "refusing to grade", "cannot create namespaces here"),
            ("COURSE_GRADE_ISOLATION=off", {"COURSE_GRADE_ISOLATION": "off"}, None,
             "COURSE_GRADE_ISOLATION='off'", "unset it to isolate"),
            ("COURSE_GRADE_UID_BASE=0", {"COURSE_GRADE_UID_BASE": "0"}, None,
             "COURSE_GRADE_UID_BASE='0'", "from 1000"),
        ]
        for what, env, path, starts, names in cases:
            out = d / "out"
            p = grade(build, out, sub, env, path=path)
            lines = [line for line in p.stderr.splitlines() if line.strip()]
            if p.returncode != 2:
                problems.append(f"{what}: exit status {p.returncode}, expected 2: {p.stderr[-800:]}")
            if len(lines) != 1 or starts not in lines[0] or names not in lines[0] or "Traceback" in p.stderr:
                problems.append(f"{what}: expected one line saying {starts!r} and {names!r}, got: "
                                f"{p.stderr[-800:]!r}")
            if (out / "student").exists():
                problems.append(f"{what}: refused, but graded the submission anyway")
            shutil.rmtree(out, ignore_errors=True)
            print(f"{what}: exit {p.returncode}: {lines[-1] if lines else ''}"[:300])
    return problems


# Run in a child Python (the isolation mode is probed once per process, from its environment).
UID_PROBE = r"""
import json, os, shutil, sys
sys.path.insert(0, sys.argv[1])
from grading import sandbox
scratch = sandbox.make_scratch(sys.argv[2], slot=1)
limits = sandbox.Limits(wall=20, cpu=5, nproc=5)
status = sandbox.run(["/bin/cat", "/proc/self/status"], scratch, limits, slot=1)
# Up to 30 children that sleep: with RLIMIT_NPROC 5 + 2 on the private uid, forks fail early.
# (The sandbox's python3, on its own PATH: this one may sit in a directory of root's.)
python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
flood = sandbox.run([python, "-c", '''
import os, time
n = 0
for _ in range(30):
    try:
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
        n += 1
    except OSError:
        break
print("forked", n)
'''], scratch, limits, slot=1)
print(json.dumps({"isolation": sandbox.isolation(), "expected_uid": sandbox.sandbox_ids(1)[0],
                  "status": status.output, "flood": flood.output}))
"""


def uid_switch_problems(build: pathlib.Path) -> list[str]:
    if os.geteuid() != 0:
        print("not root: the uid switch is root's (skipped)")
        return []
    problems = []
    scratch = build.resolve() / "grading" / "no-isolation-probe"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    # A PATH without bwrap and setpriv: the switch needs neither a namespace nor a helper.
    with tempfile.TemporaryDirectory(prefix="uid-test-") as d:
        path = path_without_bwrap(pathlib.Path(d), None)
        os.unlink(os.path.join(path, "setpriv"))
        p = subprocess.run([sys.executable, "-c", UID_PROBE, str(ROOT / "tools"), str(scratch / "s")],
                           env=dict(os.environ, PATH=path), capture_output=True, text=True, timeout=120)
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        r = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return [f"the uid probe failed: {p.stdout[-500:]} {p.stderr[-1500:]}"]
    fields = dict(line.split(":", 1) for line in r["status"].splitlines() if ":" in line)
    fields = {k: v.split() for k, v in fields.items()}
    uid = str(r["expected_uid"])
    print(f"isolation {r['isolation']}: Uid {fields.get('Uid')} Gid {fields.get('Gid')} Groups "
          f"{fields.get('Groups')} CapEff {fields.get('CapEff')} NoNewPrivs {fields.get('NoNewPrivs')}; "
          f"{r['flood'].strip()} under a limit of 5")
    if r["isolation"] != "uid-only":
        problems.append(f"as root without bwrap the isolation is {r['isolation']!r}, expected 'uid-only'")
    if r["expected_uid"] == 0 or fields.get("Uid") != [uid] * 4 or fields.get("Gid") != [uid] * 4:
        problems.append(f"the command did not run as the private uid {uid}: Uid {fields.get('Uid')} Gid {fields.get('Gid')}")
    if fields.get("Groups") not in ([], None) or fields.get("CapEff") != ["0000000000000000"] or \
            fields.get("CapPrm") != ["0000000000000000"] or fields.get("NoNewPrivs") != ["1"]:
        problems.append(f"the command kept privileges: Groups {fields.get('Groups')} CapEff "
                        f"{fields.get('CapEff')} NoNewPrivs {fields.get('NoNewPrivs')}")
    words = r["flood"].split()
    if len(words) != 2 or words[0] != "forked" or not 0 < int(words[1]) <= 7:
        problems.append(f"the process limit did not hold as root without namespaces: {r['flood']!r}")
    return problems


def corpus_problems(build: pathlib.Path) -> list[str]:
    """test_bad_submissions.py on a host without isolation (the switch): it must pass, grading the
    benign submissions only, and say so in exactly one line. (--only keeps it short: the benign
    part of the corpus is graded in full by grading_bad_submissions; this checks the reports
    say isolation was off, which that test checks say it was on.)"""
    env = dict(os.environ, COURSE_GRADE_ISOLATION="none")
    p = subprocess.run([sys.executable, str(HERE / "test_bad_submissions.py"), "--build", str(build),
                        "--expect-no-isolation", "--only", "correct,unmodified,compile_error,encrypted",
                        "--keep", str(build.resolve() / "grading" / "no-isolation-grades")],
                       env=env, capture_output=True, text=True, timeout=1200)
    print(p.stdout[-3000:])
    problems = []
    if p.returncode != 0:
        problems.append(f"test_bad_submissions.py without isolation exited {p.returncode}: {p.stderr[-1500:]}")
    said = [line for line in p.stdout.splitlines() if "hostile submissions are skipped" in line]
    if len(said) != 1:
        problems.append(f"expected one line saying the hostile submissions are skipped, got {said}")
    return problems


def main():
    build = verdict.build_dir_with_chapter_1()
    if build is None:
        return 77
    problems = refusal_problems(build) + uid_switch_problems(build) + corpus_problems(build)
    return verdict.finish(problems)


if __name__ == "__main__":
    sys.exit(main())
