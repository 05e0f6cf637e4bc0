#!/usr/bin/env python3
"""Write the Gradescope autograder bundle, unpack it into a fake /autograder tree
(AUTOGRADER_ROOT), put a submission in submission/ as Gradescope does, run run_autograder
against this build tree (COURSE_GRADE_BUILD), and check results/results.json: full marks for
chapter 1's solution, zero for its unmodified exercises, the other chapters graded as missing,
Gradescope's documented format. (The submission holds chapter 1 only: compiling every chapter's
file twice took two minutes and tested nothing more of the bundle. That every rubric names real
test cases, which the solutions pass, is checked for every chapter by rubric_problems below.)

    test_gradescope_bundle.py --build BUILD_DIR        (exit 77 when chapter 1 is not built)
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FILE = "ch01_linear_ae_pca.cpp"
sys.path.insert(0, str(ROOT / "tools"))
from grading import course as course_mod, rubric as rubric_mod  # noqa: E402


def rubric_problems(build: pathlib.Path) -> list[str]:
    """Every chapter built here has a rubric whose test cases all exist in test_chNN (so the
    solutions, which pass test_chNN under CTest, get full marks), and every exercise has points.
    (Chapters left out by COURSE_CHAPTERS are not built and not checked.)"""
    course = course_mod.Course(build)
    problems = []
    for ch in course.chapters:
        exercises, warnings = rubric_mod.load(course, ch, lambda: {})
        problems += [f"chapter {ch.num}: {w}" for w in warnings]
        problems += [f"chapter {ch.num}: exercise {n} has no test cases or no points"
                     for n, e in exercises.items() if not e.get("tests") or e.get("points", 0) <= 0]
    if not course.chapters:
        problems.append(f"no chapter is built in {build}")
    return problems


def run_autograder(root: pathlib.Path, build: pathlib.Path, sources: pathlib.Path) -> dict:
    """Gradescope puts the student's uploaded files in submission/: here chapter 1's file of
    `sources` (solutions/ or exercises/)."""
    sub = root / "submission"
    shutil.rmtree(sub, ignore_errors=True)
    sub.mkdir()
    shutil.copyfile(sources / FILE, sub / FILE)
    shutil.rmtree(root / "results", ignore_errors=True)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), COURSE_GRADE_BUILD=str(build))
    p = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    print(p.stdout[-2000:], p.stderr[-2000:])
    return json.loads((root / "results" / "results.json").read_text())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", type=pathlib.Path, required=True)
    args = ap.parse_args()
    if not (args.build / "tests/ch01/test_ch01").exists():
        print("chapter 1 is not built: skipped")
        return 77
    problems = rubric_problems(args.build)
    with tempfile.TemporaryDirectory(prefix="fake-autograder-") as d:
        root = pathlib.Path(d)
        os.chmod(root, 0o711)
        bundle = root / "autograder.zip"
        subprocess.run([sys.executable, str(ROOT / "tools/grade.py"), "--gradescope-bundle", str(bundle)],
                       check=True)
        with zipfile.ZipFile(bundle) as z:
            names = set(z.namelist())
            for need in ("setup.sh", "run_autograder", "tools/grade.py", "tools/grading/result_hook.cpp",
                         "tests/rubric/ch01.json", "CMakeLists.txt"):
                if need not in names:
                    problems.append(f"the bundle lacks {need}")
            z.extractall(root / "source")
        for script in ("setup.sh", "run_autograder"):
            path = root / "source" / script
            path.chmod(0o755)
            if subprocess.run(["bash", "-n", str(path)]).returncode != 0:
                problems.append(f"{script} is not valid bash")
        setup = (root / "source" / "setup.sh").read_text()
        for pkg in ("libeigen3-dev", "libboost-test-dev", "cmake", "g++"):
            if pkg not in setup:
                problems.append(f"setup.sh does not install {pkg}")
        good = run_autograder(root, args.build, ROOT / "solutions")
        bad = run_autograder(root, args.build, ROOT / "exercises")
        for name, r in (("solution", good), ("stubs", bad)):
            if not isinstance(r.get("score"), (int, float)) or not r.get("tests"):
                problems.append(f"{name}: results.json lacks score or tests: {r}")
            for t in r.get("tests", []):
                if not {"name", "score", "max_score", "status", "output"} <= set(t):
                    problems.append(f"{name}: a test lacks Gradescope's fields: {t}")
        rubric = json.loads((ROOT / "tests/rubric/ch01.json").read_text())["exercises"]
        full = sum(e["points"] for e in rubric.values())
        ch01 = [t for t in good.get("tests", []) if str(t.get("number", "")).startswith("1.")]
        got = sum(t["score"] for t in ch01)
        if abs(good.get("score", -1) - full) > 0.011 or full <= 0 or abs(got - full) > 0.011:
            problems.append(f"the solution of chapter 1 scored {good.get('score')} ({got} on chapter 1's "
                            f"tests) of {full}")
            problems += [f"  {t['name']}: {t['score']} / {t['max_score']}: {t['output'][:1500]}"
                         for t in ch01 if t["score"] != t["max_score"]]
        others = [t for t in good.get("tests", []) if t not in ch01]
        if not others or any(t["score"] != 0 for t in others):
            problems.append("the chapters missing from the submission are not listed with 0 points")
        if bad.get("score") != 0:
            problems.append(f"the unmodified exercises scored {bad.get('score')}")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(f"OK: run_autograder gives chapter 1's solution {good['score']} / {full} and its stubs 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
