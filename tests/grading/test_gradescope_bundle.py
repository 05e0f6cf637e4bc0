#!/usr/bin/env python3
"""Write the Gradescope autograder bundle, unpack it into a fake /autograder tree
(AUTOGRADER_ROOT), put a submission in submission/ as Gradescope does, run run_autograder
against this build tree (COURSE_GRADE_BUILD), and check results/results.json: full marks for
chapter 1's solution, zero for its unmodified exercises, the other chapters graded as missing,
Gradescope's documented format. Then the same without namespaces (COURSE_GRADE_ISOLATION=uid-only
pretends bubblewrap cannot run, as in a Gradescope container without user namespaces): the
student's code runs as a private uid on a hardened tree, so a submission that scores only if it
can open a secret (the solutions, the solution library, the tests, the grader) must score nothing
on that exercise, while the same probe of a world-readable file (the control: the probe works)
scores full marks. (The submission holds chapter 1 only: compiling every chapter's
file twice took two minutes and tested nothing more of the bundle. That every rubric names real
test cases, which the solutions pass, is checked for every chapter by rubric_problems below.)

    test_gradescope_bundle.py --build BUILD_DIR        (exit 77 when chapter 1 is not built)
"""
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
import verdict  # noqa: E402  (tests/grading/verdict.py)


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


def run_autograder(root: pathlib.Path, build: pathlib.Path, sources: pathlib.Path | str,
                   isolation: str | None = None) -> dict:
    """Gradescope puts the student's uploaded files in submission/: here chapter 1's file of
    `sources` (solutions/ or exercises/), or the text `sources` itself."""
    sub = root / "submission"
    shutil.rmtree(sub, ignore_errors=True)
    sub.mkdir()
    if isinstance(sources, str):
        (sub / FILE).write_text(sources)
    else:
        shutil.copyfile(sources / FILE, sub / FILE)
    shutil.rmtree(root / "results", ignore_errors=True)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), COURSE_GRADE_BUILD=str(build))
    if isolation:
        env["COURSE_GRADE_ISOLATION"] = isolation
    p = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    print(p.stdout[-2000:], p.stderr[-2000:])
    return json.loads((root / "results" / "results.json").read_text())


# The solution of chapter 1 with linear_ae_loss answering only when one of `paths` can be opened
# for reading (else NaN: exercise 1.x scores 0). With secrets as the paths, full marks on it would
# mean the student's code could read them.
HEADERS = "#include <fcntl.h>\n#include <unistd.h>\n"
PROBE = r'''
namespace {
bool can_read_any() {
  static const char* const paths[] = {PATHS};
  for (const char* p : paths) {
    const int fd = ::open(p, O_RDONLY);
    if (fd < 0) continue;
    char c;
    const bool ok = ::read(fd, &c, 1) == 1;
    ::close(fd);
    if (ok) return true;
  }
  return false;
}
}  // namespace
'''


def probing_submission(paths: list[str]) -> str:
    solution = (ROOT / "solutions" / FILE).read_text()
    at = solution.index("double linear_ae_loss(")
    begin = solution.index("// BEGIN SOLUTION", at)
    eol = solution.index("\n", begin)
    body = solution[:eol + 1] + "  if (!can_read_any()) return std::nan(\"\");\n" + solution[eol + 1:]
    probe = PROBE.replace("PATHS", ", ".join(json.dumps(p) for p in paths))
    return HEADERS + body[:at] + probe + body[at:]


def loss_points(r: dict) -> tuple[float, float]:
    """Score and maximum of the exercise whose function is linear_ae_loss (its number from the
    rubric), summed over its test cases, from a results.json; (-1, -1) when results.json does not list it."""
    rubric = json.loads((ROOT / "tests/rubric/ch01.json").read_text())["exercises"]
    number = next(n for n, e in rubric.items() if e["function"] == "linear_ae_loss")
    got = [(t["score"], t["max_score"]) for t in r.get("tests", []) if str(t.get("number", "")) == number]
    return (sum(g for g, _ in got), sum(m for _, m in got)) if got else (-1.0, -1.0)


def uid_only_problems(root: pathlib.Path, build: pathlib.Path) -> list[str]:
    """The no-namespace fallback (Gradescope without user namespaces). It hardens the file modes
    of the source and build trees as Gradescope's container would allow; the build tree here is
    the developer's own, so its modes are put back afterwards."""
    if os.geteuid() != 0:
        return []   # uid-only needs root (the switch to a private uid); the grader then refuses
    saved = {}
    for d in [build, build / "CMakeFiles", build / "grading"]:
        if d.is_dir():
            saved[d] = os.stat(d).st_mode & 0o7777
            for e in d.iterdir():
                if not e.is_symlink():
                    saved[e] = os.stat(e).st_mode & 0o7777
    problems = []
    try:
        src = root / "source"
        secrets = [src / "solutions" / FILE, build / "exercises/libcourse_impl_solutions.a",
                   src / "tests/ch01/test_ch01_linear_ae_pca.cpp", src / "tools/grading/grader.py",
                   build / "tests/ch01/test_ch01"]
        missing = [str(p) for p in secrets if not p.exists()]
        if missing:
            return [f"uid-only: the secrets to probe do not exist: {missing}"]
        control = run_autograder(root, build, probing_submission(["/etc/passwd"]), "uid-only")
        attack = run_autograder(root, build, probing_submission([str(p) for p in secrets]), "uid-only")
        c, cmax = loss_points(control)
        a, amax = loss_points(attack)
        if cmax <= 0 or c != cmax:
            problems.append(f"uid-only: the control probe (a world-readable file) scored {c} / {cmax} on the "
                            f"loss exercise: the probe or the fallback does not work ({control.get('output', '')[:300]})")
        if a != 0:
            problems.append(f"uid-only: a submission that answers only when it can read a secret scored "
                            f"{a} / {amax}: the student's code can read the solutions or the grader")
        if "BEGIN SOLUTION" in json.dumps(attack):
            problems.append("uid-only: the feedback contains solution source")
    finally:
        for path, mode in saved.items():
            os.chmod(path, mode)
    return problems


def main():
    build = verdict.build_dir_with_chapter_1()
    if build is None:
        return 77
    problems = rubric_problems(build)
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
        good = run_autograder(root, build, ROOT / "solutions")
        bad = run_autograder(root, build, ROOT / "exercises")
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
        problems += uid_only_problems(root, build)
    return verdict.finish(problems, f"OK: run_autograder gives chapter 1's solution {good.get('score')} / "
                          f"{full} and its stubs 0; without namespaces (uid-only) a probe of the secrets "
                          f"finds none{'' if os.geteuid() == 0 else ' (not run: needs root)'}")


if __name__ == "__main__":
    sys.exit(main())
