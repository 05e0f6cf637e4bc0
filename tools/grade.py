#!/usr/bin/env python3
"""./course grade: grade a class of submissions against the course's tests.

    tools/grade.py [options] SUBMISSION...      directories (copies of exercises/) or .zip/.tar.gz
    tools/grade.py --draft-rubric NN            print a draft tests/rubric/chNN.json (--write to save)
    tools/grade.py --gradescope-bundle [FILE]   write the Gradescope autograder bundle (.zip)
    tools/grade.py --autograder                 inside Gradescope: grade $AUTOGRADER_ROOT/submission

Only the exercise sources chNN_*.cpp are taken from a submission; headers, tests and the build
come from the course. Each source is compiled on its own against the prebuilt course build
(--build, default build/), each graded test case runs in its own contained process
(tools/grading/sandbox.py), points come from tests/rubric/chNN.json. Outputs (--out, default
grades/): gradebook.csv, junit.xml, and per student feedback.md, report.json, results.json
(Gradescope format) and junit.xml. See docs/instructors.md.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import os
import pathlib
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
try:
    from grading import build, draft, report, rubric, sandbox  # noqa: E402
except SystemExit as e:   # a bad COURSE_GRADE_* setting: one line, exit 2
    print(f"./course grade: {e}", file=sys.stderr)
    sys.exit(2)
from grading.course import Course, ROOT  # noqa: E402
from grading.grader import display_name, grade, unique_names  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="./course grade", description=__doc__.split("\n\n")[0])
    p.add_argument("submissions", nargs="*", type=pathlib.Path)
    p.add_argument("--out", type=pathlib.Path, default=ROOT / "grades", help="output directory (grades/)")
    p.add_argument("--build", type=pathlib.Path, default=ROOT / "build",
                   help="a configured and built course build directory (build/)")
    p.add_argument("--state", type=pathlib.Path, default=None,
                   help="the grader's own files: work directories, compiled remote calls, compiler "
                        "cache (default BUILD/grading; a user who may not write the build sets it)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2,
                   help="submissions graded in parallel (default: the number of cores)")
    p.add_argument("--time-limit", type=float, default=60, help="wall-clock seconds per test case (60)")
    p.add_argument("--cpu-limit", type=int, default=None, help="CPU seconds per test case (= time limit)")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per test process (2048)")
    p.add_argument("--nproc", type=int, default=16, help="process/thread limit per test case (16)")
    p.add_argument("--fsize-mb", type=int, default=64, help="largest file a test may write (64)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for the tests (1)")
    p.add_argument("--allow-weak-sandbox", action="store_true",
                   help="grade even where bubblewrap cannot isolate student code (it may then read "
                        "the course's files and use the network): see docs/instructors.md")
    p.add_argument("--submission-budget", type=float, default=1800,
                   help="wall-clock seconds for one submission's compiles and test cases (1800)")
    p.add_argument("--compile-cpu", type=int, default=120, help="CPU seconds per compiled file (120)")
    p.add_argument("--scratch-mb", type=int, default=64, help="size of a test's scratch tmpfs (64)")
    p.add_argument("--resume", action="store_true", help="skip students that already have a report")
    p.add_argument("--draft-rubric", metavar="NN", help="draft tests/rubric/chNN.json and print it")
    p.add_argument("--write", action="store_true", help="with --draft-rubric: write the file")
    p.add_argument("--gradescope-bundle", nargs="?", const=ROOT / "grades/gradescope_autograder.zip",
                   type=pathlib.Path, metavar="ZIP", help="write the Gradescope autograder bundle")
    p.add_argument("--autograder", action="store_true",
                   help="Gradescope mode: grade $AUTOGRADER_ROOT/submission (default /autograder) "
                        "into $AUTOGRADER_ROOT/results/results.json")
    return p.parse_args(argv)


def load_rubrics(course: Course, work: pathlib.Path) -> tuple[dict, list[str]]:
    rubrics, warnings = {}, []
    for ch in course.chapters:
        r, w = rubric.load(course, ch, lambda ch=ch: draft.stub_failures(course, ch.num, work))
        rubrics[ch.num] = r
        warnings += w
    return rubrics, warnings


def failed_report(sub: pathlib.Path, name: str, why: str) -> dict:
    return {"student": name, "name": display_name(sub), "submission": str(sub), "graded_at": "",
            "isolation": sandbox.isolation(), "files": {}, "notes": [why], "exercises": [],
            "tests": {}, "score": 0.0, "max_score": 0.0, "seconds": 0.0}


def refuse_without_isolation(args) -> str:
    """The sandbox's mode; where the host cannot isolate student code, a refusal naming what is
    missing unless --allow-weak-sandbox (then one warning line). Checked before anything else is
    printed or built, so the refusal is the command's one line of output."""
    mode = sandbox.isolation()
    if mode != "bubblewrap":
        missing = "; ".join(sandbox.MISSING) or "no namespaces"
        if not args.allow_weak_sandbox:
            raise SystemExit(f"refusing to grade: student code cannot be isolated on this host "
                             f"({missing}). Without isolation it could read the solutions and other "
                             f"students' files. Fix that, or pass --allow-weak-sandbox to grade "
                             f"with isolation '{mode}' (limits{' and a private uid' if mode == 'uid-only' else ''} only).")
        print(f"warning: grading with weak isolation '{mode}' (--allow-weak-sandbox): {missing}; "
              f"every report and the gradebook's isolation column say so", file=sys.stderr)
    return mode


def grade_class(args) -> int:
    refuse_without_isolation(args)
    course = Course(args.build)
    for w in course.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not course.chapters:
        raise SystemExit("no chapter is built: nothing to grade")
    limits = sandbox.Limits(wall=args.time_limit, cpu=args.cpu_limit or int(args.time_limit) + 1,
                            memory_mb=args.memory_mb, nproc=args.nproc, fsize_mb=args.fsize_mb,
                            threads=args.threads, scratch_mb=args.scratch_mb)
    build.COMPILE_LIMITS = dataclasses.replace(build.COMPILE_LIMITS, cpu=args.compile_cpu,
                                               wall=max(3 * args.compile_cpu, 300))
    subs = []
    for s in args.submissions:
        if not os.path.lexists(s):
            print(f"warning: {s} does not exist (skipped)", file=sys.stderr)
        else:
            subs.append(s.absolute())
    # A single directory holding submissions (not itself one) is expanded to its entries.
    wanted = {c.file for c in course.chapters}
    if not args.autograder and len(subs) == 1 and subs[0].is_dir() and not subs[0].is_symlink() and \
            not any(os.path.lexists(subs[0] / f) for f in wanted):
        subs = sorted(p for p in subs[0].iterdir() if not p.name.startswith("."))
    if not subs:
        raise SystemExit("no submissions to grade")
    args.out.mkdir(parents=True, exist_ok=True)
    # The work directory sits in the build tree, not /tmp (which the sandbox replaces).
    course.state.mkdir(parents=True, exist_ok=True)
    tmp_root = pathlib.Path(tempfile.mkdtemp(prefix="work-", dir=course.state))
    tmp_root.chmod(0o711)
    try:
        rubrics, warnings = load_rubrics(course, tmp_root)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        hook = build.hook_object(course)
        proxies, worker_obj = build.remote_objects(course)
        # The graded test programs are linked when a submission first needs one (a class that
        # submitted chapter 1 only links test_ch01 only), once per build (build.trusted_test).
        linked: dict = {}
        link_lock = threading.Lock()

        def trusted(num):
            with link_lock:
                if num not in linked:
                    ch = next(c for c in course.chapters if c.num == num)
                    exe, err = build.trusted_test(course, ch, proxies, hook)
                    linked[num] = exe
                    if exe is None:
                        print(f"warning: test_ch{num} does not link with the grader's proxies "
                              f"(its test cases are not graded):\n{err}", file=sys.stderr)
                return linked[num]
        remote = {"worker": worker_obj, "tests": trusted}
        memo_dir = tmp_root / "objects"
        memo_dir.mkdir()
        names = unique_names(subs)
        todo = [(s, n) for s, n in zip(subs, names)
                if not (args.resume and (args.out / n / "report.json").exists())]
        print(f"grading {len(todo)} submission(s), {args.jobs} at a time, chapters "
              f"{' '.join(c.num for c in course.chapters)}, isolation: {sandbox.isolation()}",
              file=sys.stderr)
        slots: queue.Queue = queue.Queue()
        for i in range(max(1, args.jobs)):
            slots.put(i)
        lock = threading.Lock()
        t0 = time.monotonic()

        def one(sub, name):
            slot = slots.get()
            try:
                try:
                    r = grade(sub, name, course, rubrics, tmp_root / f"slot{slot}" / name, slot, limits,
                              remote, memo_dir, budget=args.submission_budget)
                except Exception as e:   # noqa: BLE001 -- one submission never stops the batch
                    r = failed_report(sub, name, f"the grader failed on this submission "
                                      f"({type(e).__name__}: {e}); tell the instructor")
                r["warnings"] = warnings
                with lock:
                    report.write_student(args.out, r)
                    report.write_class(args.out)
                    print(f"{name}: {r['score']:g} / {r['max_score']:g}  ({r['seconds']:.1f} s)", flush=True)
                return r
            finally:
                slots.put(slot)

        with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(one, s, n) for s, n in todo]
            for f in cf.as_completed(futures):
                f.result()
        report.write_class(args.out)
        dt = time.monotonic() - t0
        if todo:
            print(f"graded {len(todo)} submission(s) in {dt:.1f} s ({dt / len(todo):.1f} s per "
                  f"submission with {args.jobs} job(s)); gradebook: {args.out / 'gradebook.csv'}",
                  file=sys.stderr)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return 0


def draft_rubric(args) -> int:
    course = Course(args.build)
    num = f"{int(args.draft_rubric):02d}"
    d = draft.draft_chapter(course, num)
    text = json.dumps(d, indent=2) + "\n"
    if args.write:
        path = rubric.rubric_path(course, num)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(course.root)}: review the points, then commit it", file=sys.stderr)
    else:
        print(text)
    return 0


def harden_for_uid_only(source: pathlib.Path, build: pathlib.Path, results: pathlib.Path) -> None:
    """Gradescope's guidance where bubblewrap cannot run (a container without namespaces): the
    student's code runs as a private unprivileged uid (sandbox 'uid-only'), so make everything it
    must not read unreadable to other users: the solutions, the grader, the tests, the built
    solution library and the solution-linked programs, and results/ (root-owned, 0755: it may not
    write results.json). What a compile and the worker need stays readable: the course's public
    headers, the precompiled header, the compiler cache (its group) and the work directories."""
    for d in ("solutions", "tools", "tests", ".git", "chapters", "bench", "docs"):
        if (source / d).exists():
            os.chmod(source / d, 0o700)
    os.chmod(source, 0o711)
    if build.exists():
        os.chmod(build, 0o711)
        for entry in build.iterdir():
            if entry.name == "CMakeFiles" and entry.is_dir():
                os.chmod(entry, 0o711)
                for e in entry.iterdir():
                    os.chmod(e, 0o755 if e.name == "course_pch.dir" else 0o700)
            elif entry.name == "grading" and entry.is_dir():
                os.chmod(entry, 0o711)
                for e in entry.iterdir():
                    if e.name.startswith("remote-") or e.name == "test-grades":
                        os.chmod(e, 0o700)
            elif not entry.is_symlink():
                os.chmod(entry, 0o700)
    results.mkdir(parents=True, exist_ok=True)
    os.chown(results, 0, 0)
    os.chmod(results, 0o755)


def autograder(args) -> int:
    """Gradescope's run_autograder calls this: one submission, results.json where Gradescope reads it."""
    root = pathlib.Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    if sandbox.isolation() != "bubblewrap":
        # Gradescope's container is the outer sandbox; inside it, a private uid and file modes.
        args.allow_weak_sandbox = True
        if os.geteuid() == 0:
            harden_for_uid_only(root / "source", args.build.resolve(), root / "results")
    out = pathlib.Path(tempfile.mkdtemp(prefix="course-autograder-"))
    args.submissions = [root / "submission"]
    args.out = out
    args.jobs = 1
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    try:
        grade_class(args)
        produced = next(out.glob("*/results.json"))
        shutil.copyfile(produced, results / "results.json")
    except (SystemExit, Exception) as e:   # Gradescope must always get a results.json
        (results / "results.json").write_text(json.dumps(
            {"score": 0, "output": f"The autograder failed: {e}", "tests": []}, indent=2))
        return 1
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


def interrupted(signum, frame):
    """Ctrl-C or SIGTERM: kill the contained test processes and stop at once. Every student
    finished so far has complete reports (written atomically); --resume continues."""
    sandbox.kill_all()
    print(f"\ninterrupted (signal {signum}): the reports written so far are complete; "
          "rerun with --resume to continue", file=sys.stderr)
    os._exit(128 + signum)


def main(argv) -> int:
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    args = parse_args(argv)
    if args.state:
        os.environ["COURSE_GRADE_STATE"] = str(args.state.absolute())
    if args.draft_rubric:
        return draft_rubric(args)
    if args.gradescope_bundle:
        from grading import gradescope
        return gradescope.write_bundle(args.gradescope_bundle)
    if args.autograder:
        return autograder(args)
    if not args.submissions:
        raise SystemExit("usage: ./course grade SUBMISSION... (directories or .zip/.tar.gz archives); "
                         "./course grade --help")
    return grade_class(args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SystemExit as e:
        if isinstance(e.code, str):   # a refusal or bad input: one line, exit status 2
            print(f"./course grade: {e.code}", file=sys.stderr)
            sys.exit(2)
        raise
