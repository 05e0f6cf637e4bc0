"""Draft a chapter's rubric by measuring which exercises each test case depends on.

For each exercise N.k of the chapter, build the chapter's tests against the reference solution
with only N.k's BEGIN/END SOLUTION regions replaced by the stub's `throw NotImplemented`, run
them, and record every test case that then reports "exercise N.k ... not implemented yet": those
test cases verify N.k (a test case may verify several exercises). A run against the full stubs
lists the test cases that pass without any exercise (not graded).
"""
from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

from . import build, rubric, sandbox
from .course import Course, HEADER_DIR, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import release  # noqa: E402  (the exercise generator: same parsing of solutions and headers)

DRAFT_LIMITS = sandbox.Limits(wall=300, cpu=300, memory_mb=4096, nproc=64)


def solution_with_one_stub(solution: pathlib.Path, number: str) -> str:
    header = ROOT / HEADER_DIR / (solution.stem + ".hpp")
    numbers = release.exercise_numbers(header)
    lines = solution.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)// BEGIN SOLUTION(?:\s+(\d+\.\d+))?\s*$", lines[i])
        if m:
            name = release.enclosing_function(lines, i)
            if (m.group(2) or numbers.get(name)) == number:
                j = i
                while "// END SOLUTION" not in lines[j]:
                    j += 1
                out.append(f'{m.group(1)}throw course::NotImplemented("{number} {name}");')
                i = j + 1
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


def _solution_object(course: Course, file: str) -> pathlib.Path:
    """The prebuilt reference object of a chapter file (course_impl_solutions)."""
    entries = json.loads((course.build / "compile_commands.json").read_text())
    src = (course.root / "solutions" / file).resolve()
    for e in entries:
        if pathlib.Path(e["file"]).resolve() == src:
            _, obj = build._split_command(e)
            return obj
    raise SystemExit(f"no prebuilt object for solutions/{file}")


def _run_all(exe: pathlib.Path, scratch: pathlib.Path) -> dict[str, str]:
    """{suite/case: failure text} from one run of the whole test executable."""
    sandbox.make_scratch(str(scratch), 0)
    out = sandbox.run([str(exe), "--log_format=XML", "--log_level=test_suite",
                       "--log_sink=log.xml", "--report_level=no", "--color_output=no"],
                      str(scratch), DRAFT_LIMITS, slot=0)
    text = (scratch / "log.xml").read_text(errors="replace") if (scratch / "log.xml").exists() else ""
    results = {}
    # <TestSuite name=..><TestCase name=..> ... </TestCase>: walk the nesting with a regex stack.
    stack = []
    for m in re.finditer(r"<(/?)(TestSuite|TestCase)(?: name=\"([^\"]*)\")?[^>]*?(/?)>|"
                         r"<!\[CDATA\[(.*?)\]\]>", text, re.S):
        closing, kind, name, selfclose, cdata = m.groups()
        if cdata is not None:
            if stack and stack[-1][0] == "TestCase":
                results[path] += cdata + "\n"
            continue
        if closing:
            stack.pop()
        elif not selfclose:
            stack.append((kind, name))
            if kind == "TestCase":
                path = "/".join(n for _, n in stack[1:])
                results[path] = ""
    if out.exit_code is None:
        print(f"warning: {exe.name} crashed during the draft run ({out.describe(DRAFT_LIMITS)})")
    return results


def draft_chapter(course: Course, num: str) -> dict:
    ch = course.chapter(num)
    if ch is None:
        raise SystemExit(f"chapter {num} is not built in {course.build}")
    hook = build.hook_object(course)
    course.state.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"draft-{num}-", dir=course.state))
    work.chmod(0o711)
    try:
        base = {c.file: _solution_object(course, c.file) for c in course.chapters}
        depends: dict[str, list[str]] = {t: [] for t in ch.test_cases}
        for e in ch.exercises:
            src = work / ch.file
            src.write_text(solution_with_one_stub(course.root / "solutions" / ch.file, e.number))
            obj = work / f"{ch.stem}-{e.number}.o"
            launcher = ["ccache"] if shutil.which("ccache") else []
            p = subprocess.run(launcher + ch.compile_command + ["-o", str(obj), "-c", str(src)],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"cannot compile the solution with {e.number} stubbed:\n{p.stderr[-3000:]}")
            objs = dict(base, **{ch.file: obj})
            exe = work / f"test_ch{num}"
            ok, err = build.link_chapter(course, ch, list(objs.values()), exe, hook)
            if not ok:
                raise SystemExit(f"cannot link test_ch{num}:\n{err}")
            for case, text in _run_all(exe, work / "scratch").items():
                if e.number in rubric.not_implemented_numbers(text) and case in depends:
                    depends[case].append(e.number)
            print(f"exercise {e.number} {e.function}: verified by "
                  f"{sum(e.number in v for v in depends.values())} test case(s)")
        # Which test cases pass against the full stubs (they test no exercise)?
        exe = work / f"test_ch{num}"
        objs = dict(base, **{ch.file: ch.stub_object})
        build.link_chapter(course, ch, list(objs.values()), exe, hook)
        stub_results = _run_all(exe, work / "scratch")
        passing = [t for t in ch.test_cases if not depends[t] and
                   not rubric.not_implemented_numbers(stub_results.get(t, ""))]
        depends = {t: v for t, v in depends.items() if v}
        return rubric.draft(ch, depends, passing)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stub_failures(course: Course, num: str, work: pathlib.Path) -> dict[str, list[str]]:
    """{test case: [exercise numbers its stub failure names]} for a chapter without a rubric."""
    ch = course.chapter(num)
    hook = build.hook_object(course)
    exe = work / f"stubs-test_ch{num}"
    objs = [c.stub_object for c in course.chapters]
    ok, err = build.link_chapter(course, ch, objs, exe, hook)
    if not ok:
        raise SystemExit(f"cannot link test_ch{num} against the stubs:\n{err}")
    results = _run_all(exe, work / f"stubs-scratch-{num}")
    return {t: rubric.not_implemented_numbers(results.get(t, "")) for t in ch.test_cases
            if rubric.not_implemented_numbers(results.get(t, ""))}
