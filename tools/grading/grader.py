"""Grade one submission: take its exercise sources, build them against the prebuilt course, run
every test case the rubric names in its own contained process, score, and return the report."""
from __future__ import annotations

import datetime
import html
import os
import pathlib
import re
import shutil
import tarfile
import zipfile

from . import build, sandbox
from .course import Course
from .rubric import not_implemented_numbers

MAX_SOURCE_BYTES = 1 << 20
SOURCE_RE = re.compile(r"^ch\d\d_\w+\.cpp$")
CHECK_LINE_RE = re.compile(r"^\[(?P<id>[^\]]*)\] (?P<claim>.*): analytic=(?P<analytic>\S+) "
                           r"numeric=(?P<numeric>\S+) error=(?P<error>\S+) tol=(?P<tol>\S+) "
                           r"\((?P<kind>[^)]*)\) (?P<verdict>PASS|FAIL)$")
LOG_ENTRY_RE = re.compile(r"<(Message|Info|Warning|Error|FatalError|Exception)\b[^>]*>(.*?)</\1>",
                          re.S)


def student_name(path: pathlib.Path) -> str:
    name = path.name
    for ext in (".tar.gz", ".tgz", ".zip", ".tar"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "submission"


def collect_sources(sub: pathlib.Path, wanted: set[str], dest: pathlib.Path) -> tuple[dict, list]:
    """Copy the exercise sources (regular files named chNN_*.cpp, at most 1 MiB, the shallowest
    one when several share a name) out of a directory or archive into dest. Nothing else is taken:
    headers, tests, build files and symlinks in a submission are ignored. Returns
    ({file name: path}, notes)."""
    found: dict[str, tuple[int, bytes]] = {}
    notes = []

    def offer(rel: str, read):
        base = rel.rsplit("/", 1)[-1]
        if base not in wanted:
            return
        depth = rel.count("/")
        if base in found and found[base][0] <= depth:
            notes.append(f"ignored a second {base} at {rel}")
            return
        data = read()
        if data is None or len(data) > MAX_SOURCE_BYTES:
            notes.append(f"ignored {rel}: larger than {MAX_SOURCE_BYTES} bytes")
            return
        found[base] = (depth, data)

    if sub.is_dir():
        for dirpath, dirnames, filenames in os.walk(sub):   # does not follow symlinked dirs
            for f in filenames:
                p = pathlib.Path(dirpath) / f
                if p.is_symlink() or not p.is_file():
                    continue
                rel = str(p.relative_to(sub))
                offer(rel, lambda p=p: p.read_bytes()[:MAX_SOURCE_BYTES + 1])
    elif zipfile.is_zipfile(sub):
        with zipfile.ZipFile(sub) as z:
            for info in z.infolist():
                if info.is_dir() or (info.external_attr >> 28) == 0o12:   # symlink
                    continue
                def read(info=info):
                    if info.file_size > MAX_SOURCE_BYTES:
                        return None
                    with z.open(info) as f:
                        return f.read(MAX_SOURCE_BYTES + 1)
                offer(info.filename.strip("/"), read)
    elif tarfile.is_tarfile(sub):
        with tarfile.open(sub) as t:
            for m in t.getmembers():
                if not m.isreg():
                    continue
                def read(m=m):
                    if m.size > MAX_SOURCE_BYTES:
                        return None
                    return t.extractfile(m).read(MAX_SOURCE_BYTES + 1)
                offer(m.name.strip("/"), read)
    else:
        raise ValueError(f"{sub}: not a directory, .zip or .tar.gz archive")
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for base, (_, data) in found.items():
        (dest / base).write_bytes(data)
        out[base] = dest / base
    return out, notes


def parse_log(text: str) -> tuple[list[dict], list[str]]:
    """Checks (each CheckRow line the tests logged) and failure messages from Boost's XML log.
    Lenient: a log cut short by a crash still yields what was written."""
    checks, failures = [], []
    for kind, body in LOG_ENTRY_RE.findall(text):
        body = body.replace("<![CDATA[", "").replace("]]>", "")
        body = html.unescape(re.sub(r"<[^>]+/>", "", body)).strip()
        if kind == "Message":
            planted = body.startswith("rejects ")
            line = body.split(": ", 1)[1] if planted and ": " in body else body
            m = CHECK_LINE_RE.match(line.splitlines()[0] if line else "")
            if m:
                row = m.groupdict()
                for k in ("analytic", "numeric", "error", "tol"):
                    try:
                        row[k] = float(row[k])
                    except ValueError:
                        pass
                row["planted_wrong_formula"] = body[len("rejects "):].split(": ", 1)[0] if planted else None
                checks.append(row)
        elif kind in ("Error", "FatalError", "Exception"):
            failures.append(body)
    return checks, failures


def classify(out: sandbox.Outcome, case: str, limits: sandbox.Limits, checks, failures) -> tuple[bool, str]:
    """(passed, reason) from what the grader measured."""
    record = next((r for r in out.records if r.split(" ")[0] == case), None)
    why = out.describe(limits)
    if why:
        return False, why
    if record is None:
        status = out.exit_code
        if status == 0:
            return False, ("the test process ended with exit status 0 before the test case "
                           "finished: exit() or _exit() was called from the exercise code")
        return False, (f"the test process ended with exit status {status} before the test case "
                       f"finished (exit() called from the exercise code?)")
    _, verdict, n_pass, n_fail = record.split(" ")[:4]
    if verdict == "exited":
        return False, ("exit() was called from the exercise code during the test case "
                       f"(exit status {out.exit_code}); the test could not finish")
    if verdict == "passed" and out.exit_code == 0 and int(n_pass) > 0:
        return True, ""
    if verdict == "passed" and out.exit_code != 0:
        return False, f"the test case passed, but the process then exited with status {out.exit_code}"
    if verdict == "passed":
        return False, "the test case checked nothing"
    text = "\n".join(failures)
    numbers = not_implemented_numbers(text)
    if numbers:
        return False, f"exercise {numbers[0]} is not implemented yet"
    if "std::bad_alloc" in text:
        return False, ("time or memory limit: an allocation failed (std::bad_alloc) under the "
                       f"{limits.memory_mb} MiB memory limit")
    bad = [c for c in checks if c["verdict"] == "FAIL" and not c["planted_wrong_formula"]]
    if bad:
        c = bad[0]
        return False, (f"wrong result: check [{c['id']}] {c['claim']}: analytic={c['analytic']} "
                       f"numeric={c['numeric']} error={c['error']} > tol={c['tol']}")
    if failures:
        first = failures[0].splitlines()[0][:300]
        return False, f"failed: {first}"
    return False, f"failed ({n_fail} failed assertion(s))"


def grade(sub: pathlib.Path, name: str, course: Course, rubrics: dict, work: pathlib.Path,
          slot: int, limits: sandbox.Limits, hook: pathlib.Path,
          memo_dir: pathlib.Path | None = None) -> dict:
    """The report of one submission (see report.py). memo_dir: where objects compiled in this
    run are kept, so identical files are compiled once."""
    started = datetime.datetime.now(datetime.timezone.utc)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o711)
    report = {"student": name, "submission": str(sub), "graded_at": started.isoformat(timespec="seconds"),
              "isolation": sandbox.isolation(), "files": {}, "notes": [], "exercises": [],
              "tests": {}}
    wanted = {c.file for c in course.chapters}
    try:
        sources, notes = collect_sources(sub, wanted, work / "sources")
    except (ValueError, OSError, tarfile.TarError, zipfile.BadZipFile) as e:
        sources, notes = {}, [f"could not read the submission: {e}"]
    report["notes"] += notes

    # 1. Compile each exercise file on its own.
    objects, failed_files = {}, {}
    for ch in course.chapters:
        if ch.file not in sources:
            failed_files[ch.file] = f"{ch.file} is missing from the submission"
            report["files"][ch.file] = {"status": "missing", "message": failed_files[ch.file]}
            objects[ch.file] = ch.stub_object
            continue
        obj, why = build.compile_student(course, ch, sources[ch.file], work, slot, memo_dir)
        wall, cpu = build.COMPILE_TIMES.pop(str(sources[ch.file]), (0.0, 0.0))
        if obj is None:
            failed_files[ch.file] = why
            status = "rejected" if "is not accepted" in why else "compile error"
            report["files"][ch.file] = {"status": status, "message": why}
            objects[ch.file] = ch.stub_object
        else:
            report["files"][ch.file] = {"status": "compiled", "message": ""}
            objects[ch.file] = obj
        report["files"][ch.file].update(compile_wall=wall, compile_cpu=cpu)

    # 2. Link each chapter's tests; a file that breaks the link is replaced by its stub.
    #    A chapter none of whose graded test cases can run (its files missing or broken) is not
    #    linked at all.
    exes = {}
    for ch in course.chapters:
        rubric = rubrics.get(ch.num, {})
        runnable = [t for n, e in rubric.items() for t in e["tests"]
                    if course.exercise_file(n) not in failed_files]
        if not runnable:
            exes[ch.num] = None
            continue
        exe = work / f"test_ch{ch.num}"
        ok, err = build.link_chapter(course, ch, list(objects.values()), exe, hook)
        if not ok:
            for f, obj in list(objects.items()):
                if f in failed_files:
                    continue
                trial = {g: (o if g == f else course_stub(course, g)) for g, o in objects.items()}
                if not build.link_chapter(course, ch, list(trial.values()), exe, hook)[0]:
                    failed_files[f] = f"{f} does not link:\n{err}"
                    report["files"][f] = {"status": "link error", "message": failed_files[f]}
                    objects[f] = course_stub(course, f)
            ok, err = build.link_chapter(course, ch, list(objects.values()), exe, hook)
        exes[ch.num] = exe if ok else None
        if not ok:
            report["notes"].append(f"test_ch{ch.num} does not link even with stubs:\n{err}")

    # 3. Run each test case the rubric names, once, in its own contained process.
    for ch in course.chapters:
        rubric = rubrics.get(ch.num, {})
        cases = []
        for e in rubric.values():
            cases += [t for t in e["tests"] if t not in cases]
        for case in cases:
            report["tests"][case] = run_case(course, ch, case, exes[ch.num], rubric,
                                             failed_files, work, slot, limits)

    # 4. Score.
    total = max_total = 0.0
    for ch in course.chapters:
        for number, e in rubrics.get(ch.num, {}).items():
            tests = e["tests"]
            passed = sum(report["tests"].get(t, {}).get("status") == "passed" for t in tests)
            pts = round(e["points"] * passed / len(tests), 2) if tests else 0.0
            total += pts
            max_total += e["points"]
            report["exercises"].append({"number": number, "title": e.get("title", ""),
                                        "chapter": ch.num, "points": pts, "max_points": e["points"],
                                        "tests": tests, "passed": passed})
    report["score"] = round(total, 2)
    report["max_score"] = round(max_total, 2)
    report["seconds"] = round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), 1)
    shutil.rmtree(work, ignore_errors=True)
    return report


def course_stub(course: Course, file: str) -> pathlib.Path:
    return next(c.stub_object for c in course.chapters if c.file == file)


def run_case(course, ch, case, exe, rubric, failed_files, work, slot, limits) -> dict:
    numbers = [n for n, e in rubric.items() if case in e["tests"]]
    files = {course.exercise_file(n) for n in numbers}
    broken = [f for f in files if f in failed_files]
    result = {"status": "failed", "reason": "", "exercises": numbers, "checks": [], "failures": [],
              "output": "", "wall": 0.0, "cpu": 0.0}
    if broken:
        result["reason"] = f"not run: {failed_files[broken[0]].splitlines()[0]}"
        return result
    if exe is None:
        result["reason"] = f"not run: test_ch{ch.num} could not be linked"
        return result
    if case not in ch.test_cases:
        result["reason"] = f"the rubric names {case}, which is not a test case of test_ch{ch.num}"
        return result
    scratch = sandbox.make_scratch(str(work / "scratch"), slot)
    argv = [str(exe), f"--run_test={case}", "--log_format=XML", "--log_level=test_suite",
            "--log_sink=boost_log.xml", "--report_level=no", "--catch_system_errors=no",
            "--color_output=no"]
    out = sandbox.run(argv, scratch, limits, slot=slot, channel=True)
    log = ""
    try:
        with open(os.path.join(scratch, "boost_log.xml"), "rb") as f:
            log = f.read(4 << 20).decode("utf-8", "replace")
    except OSError:
        pass
    shutil.rmtree(scratch, ignore_errors=True)
    checks, failures = parse_log(log)
    passed, reason = classify(out, case, limits, checks, failures)
    result.update(status="passed" if passed else "failed", reason=reason, checks=checks,
                  failures=[f[:4000] for f in failures[:5]], output=out.output[-4000:],
                  wall=round(out.wall, 3), cpu=round(out.cpu, 3))
    return result
