#!/usr/bin/env python3
"""Grade the corpus of bad submissions (make_corpus.py) with ./course grade's engine against this
build tree, and check that each is graded exactly as expected: the broken exercise's test cases
fail with the right reason, every other test case passes, the scores and the gradebook follow the
rubric, every report is written and well formed, no file outside the scratch directories was
touched, and no sandboxed process outlives the grader.

    test_bad_submissions.py --build BUILD_DIR [--keep DIR] [--copies N] [--jobs J]
Exit 77 (CTest: skipped) when chapter 1 is not built in BUILD_DIR.
"""
import argparse
import csv
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from grading import grader, sandbox  # noqa: E402

FILE = "ch01_linear_ae_pca.cpp"
sys.path.insert(0, str(HERE))
from make_corpus import HOSTILE  # noqa: E402
import verdict  # noqa: E402


def shm_segments() -> int:
    """SysV shared memory segments on the host (/proc/sysvipc/shm, one line each plus a header)."""
    try:
        return max(0, len(pathlib.Path("/proc/sysvipc/shm").read_text().splitlines()) - 1)
    except OSError:
        return 0


def unprivileged_grader(build: pathlib.Path):
    """(uid, home) for running the grader unprivileged: a uid of this test's own locked range
    (no passwd entry needed), a home it owns in the build tree (fixed, so the corpus sources stay
    the same from run to run), with the remote calls this build's root runs compiled copied into
    its state (they are the same files; the uid may read the build but not write it). A string
    says why it cannot be done here."""
    uid = sandbox.UID_BASE + 200
    as_user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    for path in (ROOT / "tools/grade.py", build / "tests/ch01/test_ch01", build / "compile_commands.json"):
        if subprocess.run(as_user + ["test", "-r", str(path)]).returncode != 0:
            return f"an unprivileged uid cannot read {path} (the course tree is not world-readable)"
    probe = subprocess.run(as_user + ["bwrap", "--unshare-user", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot run unprivileged here ({probe.stderr.strip()[:200]})"
    home = build / "grading" / "unprivileged"
    # Everything but its compiler cache is made afresh (the cache is this uid's own).
    if home.exists():
        for entry in list(home.iterdir()) + list((home / "state").glob("*")):
            if entry.name not in ("state", "ccache"):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    (home / "state").mkdir(parents=True, exist_ok=True)
    for entry in (build / "grading").glob("remote-*"):
        shutil.copytree(entry, home / "state" / entry.name, ignore=shutil.ignore_patterns("*.tmp*"))
    for entry in (build / "grading").glob("result_hook-*.o"):
        shutil.copyfile(entry, home / "state" / entry.name)
    for root, dirs, files in os.walk(home):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, uid, uid)
    os.chmod(home, 0o700)
    return uid, home


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", type=pathlib.Path, required=True)
    ap.add_argument("--keep", type=pathlib.Path, help="grade into this directory and keep it")
    ap.add_argument("--copies", type=int, default=0, help="extra correct submissions (timing)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--unprivileged", action="store_true",
                    help="(as root) run the grader as an unprivileged uid, as a non-root instructor "
                         "or a Gradescope container would, on the hostile part of the corpus")
    ap.add_argument("--only", help="grade only these submissions (comma-separated display names)")
    ap.add_argument("--expect-no-isolation", action="store_true",
                    help="fail unless this host (or COURSE_GRADE_ISOLATION) offers no isolation: "
                         "test_no_isolation.py runs this test so")
    # Wall clock per test case (counted from each case's start): chapter 1's cases take 0.4 s
    # each in a batch on the loaded machine (2026-12-01), 20 s is fifty times that; the
    # sleep_forever submission waits it out twice (its two test cases). The CPU
    # limit is what stops an infinite loop or a fork bomb (whose processes' CPU time the sandbox
    # adds up) quickly. Chapter 1's slowest graded test case needs 0.05 s of CPU (report.json of
    # the correct submission, 2026-11-30): 1 s is twenty times that, and each runaway test case of
    # the corpus burns the whole limit (3 s cost this test 8 s of its ~30).
    ap.add_argument("--time-limit", type=float, default=20)
    ap.add_argument("--cpu-limit", type=int, default=1)
    args = ap.parse_args()
    if verdict.chapter_1_missing(args.build):
        return 77
    rubric = json.loads((ROOT / "tests/rubric/ch01.json").read_text())["exercises"]
    protected = {p: p.read_bytes() for p in
                 [ROOT / "tests/ch01/test_ch01_linear_ae_pca.cpp", ROOT / "solutions" / FILE,
                  args.build / "tests/ch01/test_ch01"]}

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="grading-test-"))
    os.chmod(tmp, 0o755)
    # A fixed output path keeps the corpus sources identical from run to run (the write_outside
    # submission names it), so the grader's compiler cache makes a re-run cheap.
    out = args.keep or args.build.resolve() / "grading" / "test-grades"
    user = None        # the unprivileged grader: (uid, its home holding out/ and state/)
    extra_targets = []
    if args.unprivileged:
        if os.geteuid() != 0:
            print("not root: grading_bad_submissions itself runs the grader unprivileged; skipped")
            return 77
        user = unprivileged_grader(args.build.resolve())
        if isinstance(user, str):
            print(f"skipped: {user}")
            return 77
        out = user[1] / "out"
        # A file of the instructor's (owned by the grader's uid, so only the sandbox keeps the
        # student's code, which runs as that uid too, from overwriting it).
        notes = user[1] / "instructor_notes.txt"
        notes.write_text("notes\n")
        os.chown(notes, user[0], user[0])
        extra_targets.append(notes)
        protected[notes] = notes.read_bytes()
    if out.exists():
        shutil.rmtree(out)
    corpus = tmp / "corpus"
    target = "pca_via_svd"   # called by chapter 1's eq_1_1 tests only: breaking it touches nothing else
    isolated = sandbox.isolation() == "bubblewrap"
    if not isolated:
        print(f"no sandbox on this host ({'; '.join(sandbox.MISSING)}): the hostile submissions are "
              f"skipped, only the benign ones are graded")
    elif args.expect_no_isolation:
        print("FAIL: --expect-no-isolation, but bubblewrap isolates here (is COURSE_GRADE_ISOLATION set?)")
        return 1
    shm_before = shm_segments()
    problems = []
    subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(corpus), "--target", target,
                    "--copies", str(args.copies), "--outputs", str(out), "--build", str(args.build)]
                   + [a for t in extra_targets for a in ("--extra-target", str(t))]
                   + ([] if isolated else ["--benign-only"]), check=True)
    if not isolated:
        # Never run hostile code uncontained: not one of them may be in the corpus.
        hostile = set(json.loads((corpus / "expected.json").read_text())["submissions"]) & HOSTILE
        if hostile:
            problems.append(f"without isolation the corpus still holds hostile submissions: {sorted(hostile)}")
            for name in hostile:
                shutil.rmtree(corpus / name, ignore_errors=True)
    if args.only:
        keep = set(args.only.split(","))
        for entry in list(corpus.iterdir()):
            if entry.name != "expected.json" and grader.display_name(entry) not in keep:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        data = json.loads((corpus / "expected.json").read_text())
        data["submissions"] = {k: v for k, v in data["submissions"].items() if k in keep}
        (corpus / "expected.json").write_text(json.dumps(data))
    expected = json.loads((corpus / "expected.json").read_text())["submissions"]
    target_number = next(n for n, e in rubric.items() if e.get("function") == target)
    verifies = set(rubric[target_number]["tests"])
    calls = set(rubric[target_number].get("called_by", [])) | verifies
    all_tests = {t for e in rubric.values() for t in e["tests"]}

    entries = sorted(n for n in os.listdir(corpus) if n != "expected.json")
    # The ids the grader gives (grader.unique_names, in the order it is given them), by the
    # display name expected.json uses.
    ids = dict(zip((grader.display_name(corpus / n) for n in entries),
                   grader.unique_names([corpus / n for n in entries])))
    for shown, sid in ids.items():
        if sid in ("", ".", "..") or "/" in sid or sid.startswith(".") or \
                sid.lower() in ("gradebook.csv", "junit.xml"):
            problems.append(f"{shown!r}: unsafe id {sid!r}")
    if len(set(i.lower() for i in ids.values())) != len(ids):
        problems.append(f"ids are not unique: {sorted(ids.values())}")
    if set(ids) != set(expected):
        problems.append(f"corpus and expected.json disagree: {sorted(set(ids) ^ set(expected))}")
    t0 = time.monotonic()
    cmd = [sys.executable, str(ROOT / "tools/grade.py"), "--build", str(args.build), "--out", str(out),
           "--jobs", str(args.jobs), "--time-limit", str(args.time_limit), "--cpu-limit", str(args.cpu_limit),
           "--memory-mb", "384", "--nproc", "5", "--fsize-mb", "16"] + \
        ([] if isolated else ["--allow-weak-sandbox"]) + \
        [str(corpus / n) for n in entries]
    # The grader uses this test's own uid range (locked by this process for its lifetime), so
    # the check below looks at exactly the grader's sandbox uids.
    env = dict(os.environ, COURSE_GRADE_UID_BASE=str(sandbox.UID_BASE))
    if user:
        cmd = ["setpriv", f"--reuid={user[0]}", f"--regid={user[0]}", "--clear-groups",
               "--"] + cmd + ["--state", str(user[1] / "state")]
        env.update(HOME=str(user[1]))
        os.chmod(corpus.parent, 0o755)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.monotonic() - t0
    print(p.stdout)
    print(p.stderr[-3000:])
    if p.returncode != 0:
        problems.append(f"the grader exited with {p.returncode}")

    gradebook = {}
    try:
        with open(out / "gradebook.csv", newline="") as f:
            for row in csv.DictReader(f):
                gradebook[row["student"]] = row
    except (OSError, csv.Error) as e:
        problems.append(f"gradebook.csv unreadable: {e}")

    try:
        ET.parse(out / "junit.xml")
    except (OSError, ET.ParseError) as e:
        problems.append(f"the class junit.xml is malformed: {e}")
    for shown, exp in sorted(expected.items()):
        name = ids.get(shown, shown)
        d = out / name
        try:
            r = json.loads((d / "report.json").read_text())
            gs = json.loads((d / "results.json").read_text())
            ET.parse(d / "junit.xml")
            md = (d / "feedback.md").read_text()
        except (OSError, ValueError, ET.ParseError) as e:
            problems.append(f"{name}: missing or malformed report ({e})")
            continue
        # The isolation each student was graded with, in every output (the sandbox: nothing said).
        weak = "Isolation was off" in md
        if r.get("isolation") != sandbox.isolation() or weak == isolated or \
                ("Isolation was off" in gs.get("output", "")) == isolated:
            problems.append(f"{name}: report says isolation {r.get('isolation')!r}, feedback/results.json "
                            f"{'say' if weak else 'do not say'} it was off; the host's is {sandbox.isolation()!r}")
        if r.get("name") != shown:
            problems.append(f"{name}: display name {r.get('name')!r}, expected {shown!r}")
        if exp.get("note") and not any(exp["note"] in n for n in r["notes"]):
            problems.append(f"{name}: no note says {exp['note']!r} ({r['notes']})")
        status = r["files"].get(FILE, {}).get("status")
        if status != exp["file"]:
            problems.append(f"{name}: file status {status!r}, expected {exp['file']!r}")
        broken = {"none": set(), "all": all_tests, "calls": calls, "verifies": verifies}[exp["broken"]]
        may_fail = calls if exp["broken"] == "verifies" else broken
        broken = broken - set(exp.get("may_pass", []))
        for t in sorted(all_tests):
            res = r["tests"].get(t)
            if res is None:
                problems.append(f"{name}: {t} not graded")
                continue
            if t in may_fail and t not in broken:
                if res["status"] != "passed" and not re.search(exp["reason"], res["reason"]):
                    problems.append(f"{name}: {t}: reason {res['reason']!r} does not match {exp['reason']!r}")
                continue
            if t in broken:
                if res["status"] == "passed":
                    problems.append(f"{name}: {t} passed but must fail")
                elif not re.search(exp["reason"], res["reason"]):
                    problems.append(f"{name}: {t}: reason {res['reason']!r} does not match {exp['reason']!r}")
            elif res["status"] != "passed":
                problems.append(f"{name}: {t} failed ({res['reason']}) but must pass")
        failed = {t for t in all_tests if r["tests"].get(t, {}).get("status") != "passed"}
        score = sum(round(e["points"] * sum(t not in failed for t in e["tests"]) / len(e["tests"]), 2)
                    for e in rubric.values())
        max_score = sum(e["points"] for e in rubric.values())
        # Only chapter 1 is in the corpus: other chapters' files are missing and score 0.
        ch01 = [e for e in r["exercises"] if e["chapter"] == "01"]
        got = sum(e["points"] for e in ch01)
        got_max = sum(e["max_points"] for e in ch01)
        if abs(got - score) > 0.011 or abs(got_max - max_score) > 1e-9 or \
                abs(r["score"] - sum(e["points"] for e in r["exercises"])) > 0.011:
            problems.append(f"{name}: chapter 1 score {got} / {got_max}, expected {score:.2f} / {max_score}")
        # Another chapter's file (forged results, an exit before main, an .incbin): that chapter
        # scores 0 with the reason, whatever it tried; chapter 1 was checked above (full marks).
        for other, (other_status, other_reason) in exp.get("others", {}).items():
            num = other[2:4]
            if r["files"].get(other, {}).get("status") != other_status:
                problems.append(f"{name}: {other}: status {r['files'].get(other, {}).get('status')!r}, "
                                f"expected {other_status!r}")
            other_rubric = json.loads((ROOT / f"tests/rubric/ch{num}.json").read_text())["exercises"]
            for t in sorted({t for e in other_rubric.values() for t in e["tests"]}):
                res = r["tests"].get(t, {"status": "not graded", "reason": ""})
                if res["status"] == "passed" or not re.search(other_reason, res["reason"]):
                    problems.append(f"{name}: {t}: {res['status']} ({res['reason']!r}), expected a failure "
                                    f"matching {other_reason!r}")
            pts = sum(e["points"] for e in r["exercises"] if e["chapter"] == num)
            if pts != 0:
                problems.append(f"{name}: chapter {num} scored {pts}, expected 0")
        if abs(gs.get("score", -1) - r["score"]) > 1e-9 or not all(
                {"name", "score", "max_score", "status", "output"} <= set(t) for t in gs.get("tests", [])):
            problems.append(f"{name}: results.json is not in Gradescope's format or disagrees")
        row = gradebook.get(name)
        if row is None or abs(float(row["total"]) - r["score"]) > 1e-9 or row["isolation"] != r.get("isolation"):
            problems.append(f"{name}: gradebook row {row} disagrees with the report ({r['score']})")
        if exp["file"] == "compile error" and "error" not in md:
            problems.append(f"{name}: feedback.md does not quote the compiler error")
        print(f"{name:28s} {r['score']:6.2f} / {r['max_score']:g}   {status}")

    # SysV shared memory and message queues hold memory no process's resident set shows (the
    # tree's memory accounting would not see it): the sandbox refuses both (a seccomp filter).
    sysv = out / "sysv_ipc" / "report.json"
    if isolated and sysv.exists():
        outputs = " ".join(t["output"] for t in json.loads(sysv.read_text())["tests"].values())
        said = re.findall(r"sysv: .*", outputs)[:1]
        if "sysv: shmget=-1 msgget=-1" not in outputs:
            problems.append(f"sysv_ipc: the sandbox let it create SysV shared memory or a message "
                            f"queue: {said}")
    fake = out / "fake_success" / "report.json"
    if fake.exists():
        outputs = " ".join(t["output"] for t in json.loads(fake.read_text())["tests"].values())
        if "No errors detected" not in outputs:
            problems.append("fake_success: its fake lines were not captured as (untrusted) output")
    # Nothing secret reached a report: the solution's text, the listing of solutions/, other
    # students' reports (read_secrets printed everything it could open into its output).
    leaks = {"BEGIN SOLUTION": "the solution's text", "!<arch>": "the solution library",
             f"{ROOT / 'solutions'}/.": "the listing of solutions/", f"{out}/.": "the listing of grades/",
             f"{args.build.resolve() / 'grading'}/.": "the listing of the grader's work directory",
             "COURSE_GRADE_CHANNEL": "the result channel", "student,": "the gradebook"}
    for f in out.rglob("*"):
        if f.is_file() and f.name not in ("gradebook.csv", ".gradebook.csv.tmp"):
            text = f.read_text(errors="replace")
            for needle, what in leaks.items():
                if needle in text:
                    problems.append(f"{f}: a report shows {what}")
    # The daemon would write 3 s after its call; its namespace died with the call.
    if "daemon" in expected:
        time.sleep(3.5)
    for path in ("/tmp/course_grading_pwned", "/run/lock/course_grading_pwned", "/dev/shm/course_grading_pwned"):
        if os.path.exists(path):
            problems.append(f"a submission wrote {path} on the host")
    if shm_segments() > shm_before:
        problems.append(f"SysV shared memory segments outlived the sandbox ({shm_before} -> {shm_segments()})")
    for path, data in protected.items():
        if path.read_bytes() != data:
            problems.append(f"{path} was modified during grading")
    for f in out.rglob("*"):
        if f.is_file() and b"PWNED" in f.read_bytes()[:1 << 20]:
            problems.append(f"{f} was overwritten by a submission")
    if os.geteuid() == 0 and sandbox.isolation() != "none":
        uids = [user[0]] if user else [sandbox.sandbox_ids(slot, role)[0] for slot in range(args.jobs)
                                       for role in ("test", "compile")]
        for uid in uids:
            # A process killed with its namespace at the very end of the run may still be a
            # zombie for a moment (waiting for the host's init to reap it): it runs nothing.
            # Anything else, or a zombie still there 5 s later, outlived the grader.
            for _ in range(50):
                ps = subprocess.run(["ps", "-o", "pid=,stat=,comm=", "-u", str(uid)], capture_output=True,
                                    text=True).stdout.splitlines()
                running = [line.split()[0] for line in ps if not line.split()[1].startswith("Z")]
                if running or not ps:
                    break
                time.sleep(0.1)
            if ps:
                problems.append(f"processes of sandbox uid {uid} outlived the grader: {ps}")
    print(f"graded {len(expected)} submissions{' as uid %d' % user[0] if user else ''} in {dt:.1f} s ({dt / len(expected):.1f} s per submission, "
          f"{args.jobs} jobs, isolation {sandbox.isolation()})")
    shutil.rmtree(tmp, ignore_errors=True)
    return verdict.finish(problems, "OK: every submission graded as expected")


if __name__ == "__main__":
    sys.exit(main())
