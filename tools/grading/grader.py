"""Grade one submission: take its exercise sources, build them against the prebuilt course, run
every test case the rubric names in its own contained process, score, and return the report."""
from __future__ import annotations

import bz2
import datetime
import gzip
import hashlib
import html
import io
import lzma
import os
import stat
import time
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


RESERVED_IDS = {"gradebook", "gradebook.csv", "junit", "junit.xml", "gradescope_autograder.zip",
                "objects", "ccache"}
ARCHIVE_EXTENSIONS = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")
# What is read out of one submission at most: its member count, and the bytes decompressed (a
# bomb stops there, reported for that student alone).
MAX_MEMBERS = 20000
MAX_ARCHIVE_BYTES = 64 << 20


def display_name(path: pathlib.Path) -> str:
    """The submission's name as the student wrote it (Unicode kept; bytes that are not UTF-8
    shown as U+FFFD), without its archive extension."""
    name = os.fsencode(path.name).decode("utf-8", "replace")
    for ext in ARCHIVE_EXTENSIONS:
        if name.lower().endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return name


def student_name(path: pathlib.Path) -> str:
    """A safe id for the submission: letters, digits, '.', '_', '-' only, never starting with a
    dot, never empty or one of the grader's own names. A name that had to be changed gets a short
    hash of the original bytes, so two names that clean up alike stay apart and a rerun gives the
    same id."""
    shown = display_name(path)
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", shown).lstrip(".")[:80]
    if clean != shown or not clean or clean.lower() in RESERVED_IDS:
        digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:8]
        clean = f"{clean or 'submission'}-{digest}"
    return clean


def unique_names(subs: list[pathlib.Path]) -> list[str]:
    """student_name of each submission, made unique (a second "bob" from bob/ and bob.zip gets the
    hash of its full file name), in the submissions' order."""
    names, seen = [], set()
    for s in subs:
        n = student_name(s)
        if n.lower() in seen:
            n = f"{n}-{hashlib.sha256(os.fsencode(s.name)).hexdigest()[:8]}"
        k = 2
        while n.lower() in seen:
            n = f"{student_name(s)}-{k}"
            k += 1
        seen.add(n.lower())
        names.append(n)
    return names


def _shown(rel: str) -> str:
    return os.fsencode(rel).decode("utf-8", "replace")


def open_regular(path, dir_fd=None) -> int:
    """A descriptor of `path` if it is a regular file: no symlink followed (O_NOFOLLOW), no
    blocking on a FIFO or a device (O_NONBLOCK), no controlling terminal. Raises OSError else."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
                 dir_fd=dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{_shown(str(path))} is not a regular file")
    return fd


def read_bounded(fd: int, limit: int) -> bytes:
    """At most limit + 1 bytes (one more shows that the file is too large)."""
    chunks, got = [], 0
    while got <= limit:
        b = os.read(fd, min(1 << 16, limit + 1 - got))
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


class Budget(io.RawIOBase):
    """A read-only stream that fails once more than `limit` bytes came through it."""
    def __init__(self, raw, limit: int):
        self.raw, self.left = raw, limit

    def readable(self):
        return True

    def readinto(self, b):
        n = self.raw.readinto(b) if hasattr(self.raw, "readinto") else None
        if n is None:
            data = self.raw.read(len(b))
            n = len(data)
            b[:n] = data
        self.left -= n
        if self.left < 0:
            raise ValueError(f"it unpacks to more than {MAX_ARCHIVE_BYTES >> 20} MiB")
        return n


def collect_sources(sub: pathlib.Path, wanted: set[str], dest: pathlib.Path) -> tuple[dict, list]:
    """Copy the exercise sources (regular files named chNN_*.cpp, at most 1 MiB, the shallowest
    one when several share a name) out of a directory or archive into dest. Nothing else is taken:
    headers, tests, build files, symlinks, FIFOs and devices in a submission are ignored; no file
    is opened in a way that follows a link or blocks; archives are read as streams under a byte
    and member budget. Raises ValueError (or OSError) when the submission cannot be read at all.
    Returns ({file name: path}, notes)."""
    found: dict[str, tuple[int, bytes]] = {}
    notes = []
    members = 0

    def offer(rel: str, read):
        nonlocal members
        members += 1
        if members > MAX_MEMBERS:
            raise ValueError(f"it holds more than {MAX_MEMBERS} files")
        base = rel.rsplit("/", 1)[-1]
        if base not in wanted:
            return
        depth = rel.count("/")
        if base in found and found[base][0] <= depth:
            notes.append(f"ignored a second {base} at {_shown(rel)}")
            return
        try:
            data = read()
        except OSError as e:
            notes.append(f"ignored {_shown(rel)}: {e.strerror or e}")
            return
        if data is None or len(data) > MAX_SOURCE_BYTES:
            notes.append(f"ignored {_shown(rel)}: larger than {MAX_SOURCE_BYTES} bytes")
            return
        found[base] = (depth, data)

    st = os.lstat(sub)
    if stat.S_ISDIR(st.st_mode):
        for dirpath, dirnames, filenames in os.walk(sub):   # does not follow symlinked dirs
            for f in filenames:
                p = os.path.join(dirpath, f)
                rel = os.path.relpath(p, sub)

                def read(p=p):
                    fd = open_regular(p)
                    try:
                        return read_bounded(fd, MAX_SOURCE_BYTES)
                    finally:
                        os.close(fd)
                offer(rel, read)
    else:
        fd = open_regular(sub)
        with os.fdopen(fd, "rb") as f:
            head = f.read(262)
            f.seek(0)
            if head.startswith(b"PK"):
                _from_zip(f, offer)
            elif head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or \
                    head[257:262] == b"ustar":
                _from_tar(f, head, offer)
            else:
                raise ValueError("not a directory, .zip or .tar(.gz/.bz2/.xz) archive")
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for base, (_, data) in found.items():
        (dest / base).write_bytes(data)
        out[base] = dest / base
    return out, notes


def _from_zip(f, offer) -> None:
    with zipfile.ZipFile(f) as z:
        for info in z.infolist():
            if info.is_dir() or (info.external_attr >> 28) == 0o12:   # symlink
                offer(info.filename.strip("/") + "/", lambda: None)
                continue
            def read(info=info):
                if info.flag_bits & 0x1:
                    raise OSError("it is encrypted")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                              zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
                    raise OSError(f"it uses a compression method Python cannot read "
                                  f"({info.compress_type}, e.g. PPMd)")
                if info.file_size > MAX_SOURCE_BYTES:
                    return None
                with z.open(info) as g:
                    return g.read(MAX_SOURCE_BYTES + 1)
            offer(info.filename.strip("/"), read)


def _from_tar(f, head: bytes, offer) -> None:
    if head[:2] == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=f)
    elif head[:3] == b"BZh":
        raw = bz2.BZ2File(f)
    elif head[:6] == b"\xfd7zXZ\x00":
        raw = lzma.LZMAFile(f)
    else:
        raw = f
    stream = io.BufferedReader(Budget(raw, MAX_ARCHIVE_BYTES))
    with tarfile.open(fileobj=stream, mode="r|") as t:   # a stream: one pass, no seeking
        for m in t:
            if not m.isreg():
                offer(m.name.strip("/") + "/", lambda: None)
                continue
            def read(m=m):
                if m.size > MAX_SOURCE_BYTES:
                    return None
                return t.extractfile(m).read(MAX_SOURCE_BYTES + 1)
            offer(m.name.strip("/"), read)


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


WORKER_DIED_RE = re.compile(r"the exercise code's process ended during a call of (\S+)")
MALFORMED_RE = re.compile(r"the exercise code's process sent a malformed reply to a call of (\S+)")


def classify(out: sandbox.Outcome, wout: sandbox.Outcome, case: str, limits: sandbox.Limits,
             checks, failures, batch: int = 1) -> tuple[bool, str]:
    """(passed, reason). The verdict is the course test's (out: a trusted process, which called
    the exercise functions remotely); the worker's outcome (wout: the student's process) only
    explains a failure: a crash, a limit, an exit. batch: how many test cases the test process
    ran (with several, its exit status 201 says that some other case failed)."""
    record = next((r for r in out.records if r.split(" ")[0] == case), None)
    text = "\n".join(failures)
    died = WORKER_DIED_RE.search(text)
    during = f" (in {died.group(1)})" if died else ""
    worker_why = wout.describe(limits)
    if record is not None:
        _, verdict, n_pass, n_fail = record.split(" ")[:4]
        exited_normally = out.exit_code == 0 or (batch > 1 and out.exit_code == 201)
        if verdict == "passed" and exited_normally and int(n_pass) > 0:
            return True, ""
        if verdict == "passed" and int(n_pass) == 0:
            return False, "the test case checked nothing"
    bad_reply = MALFORMED_RE.search(text)
    if bad_reply:
        return False, (f"wrong result: {bad_reply.group(1)} sent back something that is not a value of "
                       f"its type (the exercise code wrote into the grader's pipe?)")
    if died and worker_why:
        return False, worker_why + during
    if died:
        status = wout.exit_code
        return False, (f"the exercise code ended its process (exit status {status}){during}: exit() "
                       f"or _exit() was called from the exercise code, so the test could not finish")
    why = out.describe(sandbox.trusted_limits(limits, batch))
    if why or record is None:
        if worker_why:
            return False, worker_why
        return False, (f"the course's test process failed ({why or f'exit status {out.exit_code}'}): "
                       "a defect of the course, not of the submission; tell the instructor")
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
    return False, f"failed ({record.split(' ')[3]} failed assertion(s))"


def grade(sub: pathlib.Path, name: str, course: Course, rubrics: dict, work: pathlib.Path,
          slot: int, limits: sandbox.Limits, remote: dict,
          memo_dir: pathlib.Path | None = None, budget: float = 1800.0) -> dict:
    """The report of one submission (see report.py). remote: {"worker": worker.o, "tests":
    {chapter: trusted test executable or None}} (build.remote_objects, build.trusted_test).
    memo_dir: where objects compiled in this run are kept, so identical files are compiled once.
    budget: wall-clock seconds for the whole submission; what is left when it is used up is not
    run, and says so."""
    started = datetime.datetime.now(datetime.timezone.utc)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o711)
    report = {"student": name, "name": display_name(sub), "submission": _shown(str(sub)), "graded_at": started.isoformat(timespec="seconds"),
              "isolation": sandbox.isolation(), "files": {}, "notes": [], "exercises": [],
              "tests": {}}
    wanted = {c.file for c in course.chapters}
    t_start = time.monotonic()
    out_of_time = f"the time budget of the submission ({budget:g} s) was used up"

    def over_budget() -> bool:
        return time.monotonic() - t_start > budget

    try:
        sources, notes = collect_sources(sub, wanted, work / "sources")
    except Exception as e:   # noqa: BLE001 -- whatever the archive does, only this student is hit
        why = getattr(e, "strerror", None) or str(e) or type(e).__name__
        sources, notes = {}, [f"could not read the submission: {_shown(why)}"]
    report["notes"] += notes

    # 1. Compile each exercise file on its own.
    objects, failed_files = {}, {}
    for ch in course.chapters:
        if ch.file not in sources:
            failed_files[ch.file] = f"{ch.file} is missing from the submission"
            report["files"][ch.file] = {"status": "missing", "message": failed_files[ch.file]}
            objects[ch.file] = ch.stub_object
            continue
        if over_budget():
            failed_files[ch.file] = f"not compiled: {out_of_time}"
            report["files"][ch.file] = {"status": "not compiled", "message": failed_files[ch.file]}
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

    # 2. Link the student's worker; a file that breaks the link is replaced by its stub.
    worker = work / "worker"
    ok, err = build.link_worker(course, list(objects.values()), remote["worker"], worker, memo_dir)
    if not ok:
        for f in list(objects):
            if f in failed_files:
                continue
            trial = {g: (o if g == f else course_stub(course, g)) for g, o in objects.items()}
            if not build.link_worker(course, list(trial.values()), remote["worker"], worker)[0]:
                failed_files[f] = f"{f} does not link:\n{err}"
                report["files"][f] = {"status": "link error", "message": failed_files[f]}
                objects[f] = course_stub(course, f)
        ok, err = build.link_worker(course, list(objects.values()), remote["worker"], worker)
        if not ok:
            report["notes"].append(f"the exercise code does not link even with stubs:\n{err}")
            worker = None

    # 3. Run each test case the rubric names: the course's test executable (the same for every
    #    student) calls the exercise functions in the student's contained worker; a chapter's
    #    test cases share one test process and one worker (run_chapter). Each chapter has a
    #    worker of its own, holding only the student's objects that chapter uses (the rest are
    #    stubs: build.worker_objects), linked when the chapter has a case to run.
    def worker_of(ch):
        if worker is None:
            return None
        mine = work / f"worker-ch{ch.num}"
        ok, _ = build.link_worker(course, build.worker_objects(course, ch, objects), remote["worker"],
                                  mine, memo_dir)
        return mine if ok else None

    for ch in course.chapters:
        rubric = rubrics.get(ch.num, {})
        cases = []
        for e in rubric.values():
            cases += [t for t in e["tests"] if t not in cases]
        exe_of = lambda num=ch.num: remote["tests"](num)
        report["tests"].update(run_chapter(course, ch, cases, exe_of, lambda ch=ch: worker_of(ch), rubric,
                                           failed_files, work, slot, limits, over_budget, out_of_time))

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


def _result(numbers, reason="") -> dict:
    return {"status": "failed", "reason": reason, "exercises": numbers, "checks": [], "failures": [],
            "output": "", "wall": 0.0, "cpu": 0.0}


CASE_TAG_RE = re.compile(r"<(/?)(TestSuite|TestCase)\b([^>]*?)(/?)>")
NAME_RE = re.compile(r'\bname="([^"]*)"')


def split_log(text: str) -> dict[str, str]:
    """Boost's XML log of several test cases, cut into one piece per test case, keyed by the
    case's path of suite names ("master/suite/case"). Lenient like parse_log: a case cut short
    by a crash keeps what was written."""
    out, stack, current, begin = {}, [], None, 0
    for m in CASE_TAG_RE.finditer(text):
        closing, kind, attrs, empty = m.group(1), m.group(2), m.group(3), m.group(4)
        name = NAME_RE.search(attrs)
        if kind == "TestSuite":
            if closing:
                stack = stack[:-1]
            elif not empty:
                stack.append(name.group(1) if name else "")
        elif closing and current is not None:
            out[current] = text[begin:m.end()]
            current = None
        elif not closing:
            path = "/".join(stack + [name.group(1) if name else ""])
            if empty:
                out[path] = m.group(0)
            else:
                current, begin = path, m.start()
    if current is not None:
        out[current] = text[begin:]
    return out


def _case_log(pieces: dict[str, str], case: str) -> str:
    for path, piece in pieces.items():
        if path == case or path.endswith("/" + case):
            return piece
    return ""


def run_chapter(course, ch, cases, exe_of, worker, rubric, failed_files, work, slot, limits,
                over_budget, out_of_time) -> dict:
    """{case: result} for chapter ch's graded test cases. The cases that can run go to ONE
    test process and ONE worker, one after the other, each case within the per-case limits
    (sandbox.Progress). A case that fails there keeps its verdict, as in the course's own test
    run, except when an earlier case of the batch broke the worker (a crash, a limit, an exit or
    a malformed reply): the cases after that one run again, in a fresh worker. A batch that gave
    no verdict at all (the test process itself was killed) is split: its first case runs alone.
    So a correct submission costs one process start per chapter, and a failure still costs only
    the case where it happened. exe_of(): the graded test program (linked on first use), or
    None when it does not link; worker: the student's worker, or a function that links it (on
    first use), or None."""
    results, pending = {}, []
    for case in cases:
        numbers = [n for n, e in rubric.items() if case in e["tests"]]
        files = {course.exercise_file(n) for n in numbers}
        broken = [f for f in files if f in failed_files]
        if broken:
            results[case] = _result(numbers, f"not run: {failed_files[broken[0]].splitlines()[0]}")
        elif worker is None:
            results[case] = _result(numbers, "not run: the exercise code could not be linked")
        elif case not in ch.test_cases:
            results[case] = _result(numbers, f"the rubric names {case}, which is not a test case of "
                                             f"test_ch{ch.num}")
        else:
            pending.append(case)
    exe = exe_of() if pending else None
    if pending and callable(worker):
        worker = worker()
        if worker is None:
            for case in pending:
                results[case] = _result([n for n, e in rubric.items() if case in e["tests"]],
                                        "not run: the exercise code could not be linked")
            pending = []
    if pending and exe is None:
        for case in pending:
            results[case] = _result([n for n, e in rubric.items() if case in e["tests"]],
                                    f"not run: test_ch{ch.num} could not be linked with the grader's proxies")
        pending = []
    order = {c: i for i, c in enumerate(ch.test_cases)}
    pending.sort(key=order.get)
    while pending:
        if over_budget():
            for case in pending:
                results[case] = _result([n for n, e in rubric.items() if case in e["tests"]],
                                        f"not run: {out_of_time}")
            break
        got = run_cases(ch, pending, exe, worker, rubric, work, slot, limits)
        if not got:      # no verdict at all: the first case alone
            got = run_cases(ch, pending[:1], exe, worker, rubric, work, slot, limits)
        results.update(got)
        pending = [c for c in pending if c not in got]
    return results


def run_cases(ch, cases, exe, worker, rubric, work, slot, limits) -> dict:
    """Run `cases` in one test process with one worker; return {case: result} for every case
    whose verdict is final (see run_chapter); {} when the test process recorded nothing."""
    scratch = sandbox.make_scratch(str(work / "scratch"), slot)
    # The test's own directory (its Boost log) is the grader's: the worker cannot see or write it.
    trusted = work / "trusted"
    if trusted.exists():
        shutil.rmtree(trusted)
    trusted.mkdir(mode=0o700)
    argv = [str(exe), f"--run_test={':'.join(cases)}", "--log_format=XML", "--log_level=test_suite",
            "--log_sink=boost_log.xml", "--report_level=no", "--catch_system_errors=no",
            "--color_output=no"]
    out, wout = sandbox.run_remote(argv, str(trusted), [str(worker)], scratch, limits, slot=slot,
                                   cases=len(cases))
    log = ""
    try:
        with open(trusted / "boost_log.xml", "rb") as f:
            log = f.read(8 << 20).decode("utf-8", "replace")
    except OSError:
        pass
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(trusted, ignore_errors=True)
    ran = [r.split(" ")[0] for r in out.records]
    if len(cases) > 1 and not any(c in ran for c in cases):
        return {}
    pieces = split_log(log) if len(cases) > 1 else None
    results, broke = {}, False
    for case in ran + [c for c in cases if c not in ran]:
        if case not in cases or case in results:
            continue
        checks, failures = parse_log(_case_log(pieces, case) if pieces is not None else log)
        passed, reason = classify(out, wout, case, limits, checks, failures, batch=len(cases))
        if broke and not passed:
            continue     # failed after the worker broke: run again in a fresh worker
        text = "\n".join(failures)
        if not passed and (WORKER_DIED_RE.search(text) or MALFORMED_RE.search(text)):
            broke = True
        numbers = [n for n, e in rubric.items() if case in e["tests"]]
        r = _result(numbers, reason)
        r.update(status="passed" if passed else "failed", checks=checks,
                 failures=[f[:4000] for f in failures[:5]], output=wout.output[-4000:],
                 wall=round(out.wall / len(cases), 3), cpu=round((out.cpu + wout.cpu) / len(cases), 3))
        if len(cases) > 1:
            r["batch"] = len(cases)   # wall and cpu: the batch's, shared out evenly
        results[case] = r
    return results
