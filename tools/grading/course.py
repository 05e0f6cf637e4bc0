"""What the grader knows about the course: its chapters, exercises and test cases, discovered from
the source tree and a configured build directory (no list to maintain when a chapter is added).

- chapter files: solutions/chNN_topic.cpp (the single source), stub exercises/chNN_topic.cpp;
- exercises: the "// Exercise N.k -- title" comments of exercises/include/course/exercises/chNN_topic.hpp;
- test cases: `test_chNN --list_content` of the course build;
- prebuilt objects and flags: <build>/compile_commands.json, the OBJECT library test_chNN_objs,
  course_test_main, course_impl_stubs, libcourse_common.a (cmake/CourseTargets.cmake), and the
  link line CMake wrote for test_chNN (tests/chNN/CMakeFiles/test_chNN.dir/link.txt).
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import shlex
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HEADER_DIR = "exercises/include/course/exercises"
EXERCISE_RE = re.compile(r"//\s*Exercise\s+(\d+)\.(\d+)\s*(?:--|-|:)?\s*(.*)$")


@dataclasses.dataclass
class Exercise:
    number: str       # "1.2"
    title: str        # "the linear-autoencoder loss (eq. 1.3):"
    function: str     # "linear_ae_loss"
    file: str         # "ch01_linear_ae_pca.cpp"


@dataclasses.dataclass
class Chapter:
    num: str                      # "01"
    file: str                     # "ch01_linear_ae_pca.cpp"
    exercises: list[Exercise]
    test_exe: pathlib.Path | None = None
    link_dir: pathlib.Path | None = None
    link_line: list[str] | None = None
    test_cases: list[str] = dataclasses.field(default_factory=list)   # "suite/case"
    stub_object: pathlib.Path | None = None
    compile_command: list[str] | None = None   # flags for chNN_*.cpp, without -o/-c

    @property
    def stem(self) -> str:
        return self.file[:-4]


def parse_exercises(header: pathlib.Path, file: str) -> list[Exercise]:
    """Exercises in declaration order from '// Exercise N.k -- title' comment blocks."""
    out, pending = [], None
    for line in header.read_text(errors="replace").splitlines():
        m = EXERCISE_RE.search(line)
        if m:
            pending = (f"{int(m.group(1))}.{int(m.group(2))}", m.group(3).strip().rstrip("."))
            continue
        if pending and not line.strip().startswith("//") and "(" in line:
            name = re.search(r"([A-Za-z_]\w*)\s*\(", line)
            if name:
                out.append(Exercise(pending[0], pending[1], name.group(1), file))
                pending = None
    return out


def list_test_cases(exe: pathlib.Path) -> list[str]:
    """'suite/case' for every enabled test case, from Boost.Test's --list_content."""
    p = subprocess.run([str(exe), "--list_content"], capture_output=True, text=True, timeout=60)
    cases, stack = [], []
    for line in (p.stderr + p.stdout).splitlines():
        m = re.match(r"^(\s*)(\w+)(\*?)\s*$", line)
        if not m:
            continue
        depth = len(m.group(1)) // 4
        stack = stack[:depth] + [m.group(2)]
        cases.append(("/".join(stack), m.group(3) == "*"))
    # A unit is a case when the next unit is not deeper.
    result = []
    for i, (path, enabled) in enumerate(cases):
        nxt = cases[i + 1][0] if i + 1 < len(cases) else ""
        if not nxt.startswith(path + "/") and enabled:
            result.append(path)
    return result


def _command_entry(entries, source: pathlib.Path):
    for e in entries:
        if pathlib.Path(e["file"]).resolve() == source.resolve():
            return e
    return None


def _split_command(entry) -> tuple[list[str], pathlib.Path | None]:
    """Compiler and flags without '-o X' and '-c SRC'; also the object path."""
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    flags, obj, i = [], None, 0
    while i < len(args):
        if args[i] == "-o":
            obj = pathlib.Path(entry["directory"]) / args[i + 1]
            i += 2
        elif args[i] == "-c":
            i += 2
        else:
            flags.append(args[i])
            i += 1
    return flags, obj


def source_dir_of(build: pathlib.Path) -> pathlib.Path | None:
    """The course source tree a build directory was configured from (its CMakeCache.txt)."""
    try:
        for line in (build / "CMakeCache.txt").read_text(errors="replace").splitlines():
            if line.startswith("CMAKE_HOME_DIRECTORY:"):
                return pathlib.Path(line.split("=", 1)[1])
    except OSError:
        pass
    return None


class Course:
    def __init__(self, build: pathlib.Path, root: pathlib.Path | None = None):
        self.build = build.resolve()
        self.root = (root or source_dir_of(self.build) or ROOT).resolve()
        # The grader's own files (work directories, the compiled remote calls and graded test
        # programs, the compiler cache): BUILD/grading, or COURSE_GRADE_STATE (./course grade
        # --state DIR), e.g. for a grader whose user may read the build but not write it.
        self.state = pathlib.Path(os.environ.get("COURSE_GRADE_STATE") or self.build / "grading").absolute()
        cc_path = self.build / "compile_commands.json"
        if not cc_path.exists():
            raise SystemExit(f"{cc_path} not found: configure the course first "
                             "(cmake --preset default, or ./course grade builds it)")
        entries = json.loads(cc_path.read_text())
        self.chapters: list[Chapter] = []
        self.warnings: list[str] = []
        for sol in sorted((self.root / "solutions").glob("ch[0-9][0-9]_*.cpp")):
            num = sol.name[2:4]
            header = self.root / HEADER_DIR / (sol.stem + ".hpp")
            exercises = parse_exercises(header, sol.name) if header.exists() else []
            ch = Chapter(num, sol.name, exercises)
            stub_src = self.root / "exercises" / sol.name
            entry = _command_entry(entries, stub_src)
            exe = self.build / "tests" / f"ch{num}" / f"test_ch{num}"
            link_txt = self.build / "tests" / f"ch{num}" / "CMakeFiles" / f"test_ch{num}.dir" / "link.txt"
            if entry is None or not exe.exists() or not link_txt.exists():
                self.warnings.append(f"chapter {num}: not built in {self.build} (no stub object or "
                                     f"no test_ch{num}); its exercises are not graded")
                continue
            ch.compile_command, ch.stub_object = _split_command(entry)
            ch.test_exe = exe
            ch.link_dir = link_txt.parent.parent.parent
            ch.link_line = shlex.split(link_txt.read_text().splitlines()[0])
            ch.test_cases = list_test_cases(exe)
            self.chapters.append(ch)
        main_entry = _command_entry(entries, self.root / "tests/support/test_main.cpp")
        if main_entry is None:
            raise SystemExit(f"{self.build}: course_test_main is not configured")
        self.test_main_flags, _ = _split_command(main_entry)

    def chapter(self, num: str) -> Chapter | None:
        return next((c for c in self.chapters if c.num == num), None)

    def exercise_file(self, number: str) -> str | None:
        for c in self.chapters:
            for e in c.exercises:
                if e.number == number:
                    return c.file
        return None

    def allowed_include_roots(self) -> list[str]:
        """Where a student's source may include headers from: the course's public headers and
        the system's. Including anything else (a solution, a test, a file in the submission or
        /etc) rejects the file."""
        roots = [self.root / "exercises/include", self.root / "common/include"]
        return [str(r) + "/" for r in roots] + ["/usr/include/", "/usr/lib/gcc/", "/usr/local/include/"]
