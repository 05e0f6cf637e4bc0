#!/usr/bin/env python3
"""The grader's remote calls (tools/grading/remote.py) for the course's own exercise headers:
the generated proxies and dispatcher compile, the proxies define exactly the exercise functions
the stub library defines (no exercise is left calling student code in-process, none is invented),
and a struct the header reader miscounts fails to compile with the struct named.

    test_remote_calls.py --build BUILD_DIR
Exit 77 (CTest: skipped) when no chapter is built in BUILD_DIR.
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from grading import build, remote  # noqa: E402
from grading.course import Course  # noqa: E402
import verdict  # noqa: E402  (tests/grading/verdict.py)


def defined(obj: pathlib.Path) -> set[str]:
    """Demangled global text symbols of namespace course::chNN that `obj` defines."""
    out = subprocess.run(["nm", "-g", "--defined-only", "-C", str(obj)], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] == "T" and parts[2].startswith("course::ch"):
            names.add(parts[2])
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", type=pathlib.Path, required=True)
    args = ap.parse_args()
    try:
        course = Course(args.build)
    except SystemExit as e:
        print(f"skipped: {e}")
        return 77
    if not course.chapters:
        print("no chapter is built: skipped")
        return 77
    problems = []
    proxies, worker = build.remote_objects(course)   # raises SystemExit with the compiler errors
    stubs = set()
    for ch in course.chapters:
        stubs |= defined(ch.stub_object)
    got = defined(proxies)
    for name in sorted(stubs - got):
        problems.append(f"no proxy for {name}: its calls would not reach the student's worker")
    for name in sorted(got - stubs):
        problems.append(f"a proxy for {name}, which no exercise file defines")
    print(f"{len(got)} proxies for {len(stubs)} exercise functions of {len(course.chapters)} chapters")

    # A struct the reader cannot count (a member declared through a macro) must not compile:
    # the structured binding of the fields it did read names the struct.
    with tempfile.TemporaryDirectory(prefix="remote-test-") as d:
        d = pathlib.Path(d)
        inc = d / "course/exercises"
        inc.mkdir(parents=True)
        header = inc / "ch99_planted.hpp"
        header.write_text('#pragma once\n#include "course/types.hpp"\n#define FIELD(T, n) T n\n'
                          "namespace course::ch99 {\nstruct Hidden {\n  MatD a;\n  FIELD(VecD, b);\n};\n"
                          "Hidden planted(const MatD& x);\n}  // namespace course::ch99\n")
        h = remote.parse_header(header)
        if [s.fields for s in h.structs] != [["a"]]:
            problems.append(f"the planted header was read as {[s.fields for s in h.structs]}")
        src = d / "gen.cpp"
        src.write_text(remote.generate([h]))
        flags = [f for f in course.chapters[0].compile_command if not f.startswith("-include")]
        flags = [f for i, f in enumerate(flags) if not (i > 0 and flags[i - 1] == "-include")]
        p = subprocess.run(flags + ["-I", str(d), "-I", str(build.REMOTE_SOURCE.parent),
                                    "-DCOURSE_GRADING_PROXIES", "-fsyntax-only", str(src)],
                           capture_output=True, text=True)
        if p.returncode == 0:
            problems.append("a struct with a field the reader missed compiled: its value would be lost")
        elif "course::ch99::Hidden" not in p.stderr and "Hidden" not in p.stderr:
            problems.append(f"the compile error does not name the struct:\n{p.stderr[:2000]}")
        # A header the reader refuses says where.
        bad = inc / "ch98_bad.hpp"
        bad.write_text("namespace course::ch98 {\nstruct Base {};\nstruct Derived : Base { double x; };\n}\n")
        try:
            remote.parse_header(bad)
            problems.append("a struct with a base class was accepted")
        except remote.HeaderError as e:
            if "ch98_bad.hpp:3" not in str(e):
                problems.append(f"the refusal does not name the line: {e}")
    return verdict.finish(problems)


if __name__ == "__main__":
    sys.exit(main())
