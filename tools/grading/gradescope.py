"""The Gradescope autograder bundle: Gradescope runs it per submission on its own workers.

The zip holds setup.sh and run_autograder at its root and the course sources beside them
(Gradescope unpacks it to /autograder/source). setup.sh installs the Debian packages ./course
needs and builds the course once, when Gradescope builds the image; run_autograder grades
/autograder/submission with tools/grade.py --autograder, which writes
/autograder/results/results.json in Gradescope's format. AUTOGRADER_ROOT (default /autograder)
and COURSE_GRADE_BUILD (default <source>/build) relocate both for a local test.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import zipfile

from .course import ROOT

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
SRC="${AUTOGRADER_ROOT:-/autograder}/source"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends @PACKAGES@ bubblewrap util-linux ca-certificates
cd "$SRC"
cmake --preset default -DCOURSE_STUDENT_TWINS=OFF
cmake --build build -j "$(nproc)"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this per submission: the student's files are in /autograder/submission, the
# results go to /autograder/results/results.json. Per-test limits: see docs/instructors.md.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
BUILD="${COURSE_GRADE_BUILD:-$SRC/build}"
export AUTOGRADER_ROOT="$ROOT"
exec python3 "$SRC/tools/grade.py" --autograder --build "$BUILD" --time-limit "${COURSE_GRADE_TIME_LIMIT:-60}"
"""


def required_packages() -> str:
    text = (ROOT / "course").read_text()
    m = re.search(r"REQUIRED=\(([^)]*)\)", text, re.S)
    return " ".join(m.group(1).split()) if m else "g++ cmake make python3"


def course_files() -> list[pathlib.Path]:
    """The course as committed (git ls-files), else the source tree without build outputs."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
        files = [ROOT / f for f in out.stdout.decode().split("\0") if f]
        return [f for f in files if f.is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "build", "grades", "figures"}
        return [p for p in ROOT.rglob("*") if p.is_file() and
                not any(part in skip or part.startswith("build-") for part in p.relative_to(ROOT).parts)]


def write_bundle(path: pathlib.Path) -> int:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP_SH.replace("@PACKAGES@", required_packages())),
                           ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            z.writestr(info, text)
        for f in course_files():
            rel = f.relative_to(ROOT)
            if rel.parts[0] in ("setup.sh", "run_autograder"):
                continue
            z.write(f, str(rel))
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment "
          f"(Ubuntu/Debian base image); see docs/instructors.md", file=sys.stderr)
    return 0
