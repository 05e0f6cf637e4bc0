#!/usr/bin/env python3
"""Write the corpus of bad submissions the grader must grade correctly, generated at test time
from the chapter 1 solution (so it follows the solution as it changes).

    make_corpus.py OUT_DIR [--target FUNCTION] [--copies N] [--outputs GRADES_DIR]

Each submission is a copy of exercises/ holding ch01_linear_ae_pca.cpp: the reference solution
with one exercise function (--target, default pca_via_svd, which no other exercise's test calls)
sabotaged, or a whole-file case.
OUT_DIR/expected.json says, per submission, what the grader must report:
  "file":   the status of ch01_linear_ae_pca.cpp (compiled, missing, compile error, rejected)
  "broken": "none" (full marks), "all" (zero), "calls" (a crash or a kill in the target function:
            every test case that calls it fails, every other passes) or "verifies" (a wrong value:
            the test cases the rubric grades it by fail; those that only call it may pass)
  "reason": a regular expression the reason of each failed test case must match
--copies N adds N more correct submissions (for timing a class); --outputs names the grader's
output directory, which the "write_outside" submission tries to overwrite.
"""
import argparse
import io
import json
import pathlib
import re
import shutil
import tarfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FILE = "ch01_linear_ae_pca.cpp"

# The misbehaviours that happen at run time share ONE source file, so a class of them costs one
# compile (the grader's compiler cache serves the rest): the target function picks its
# misbehaviour from the name of the submission, which the grader's scratch directory contains
# (<work>/slotN/<student>/scratch). name: (file status, broken, reason regex)
RUNTIME = {
    "infinite_loop": ("compiled", "calls", r"^time or memory limit"),
    "stack_overflow": ("compiled", "calls", r"segmentation fault.*stack overflow"),
    "segfault": ("compiled", "calls", r"segmentation fault"),
    "abort": ("compiled", "calls", r"SIGABRT"),
    "huge_allocation": ("compiled", "calls", r"^time or memory limit"),
    "fork_bomb": ("compiled", "calls", r"^time or memory limit"),
    "exit0": ("compiled", "calls", r"exit\(\) was called from the exercise code"),
    "underscore_exit0": ("compiled", "calls", r"exit status 0 before the test case finished"),
    "fake_success": ("compiled", "verifies", r"wrong result"),
    "nan": ("compiled", "verifies", r"wrong result"),
    "write_outside": ("compiled", "verifies", r"wrong result"),
}
# What the target function does first, by its return type: misbehave() returns 1.0 to behave,
# else the wrong value to return (NaN, or 0.0 standing for a finite wrong answer).
MISBEHAVE = {
    "double": "if (const double wrong = misbehave(); wrong != 1.0) return wrong;",
    "Pca": ("if (const double wrong = misbehave(); wrong != 1.0) {\n"
            "    Pca bad;  // NaN everywhere, or the first k coordinate axes with unit variances\n"
            "    bad.mean = VecD::Constant(X.rows(), wrong);\n"
            "    bad.components = std::isnan(wrong) ? MatD(MatD::Constant(X.rows(), k, wrong)) : MatD(MatD::Identity(X.rows(), k));\n"
            "    bad.eigenvalues = VecD::Constant(std::min(X.rows(), X.cols()), std::isnan(wrong) ? wrong : 1.0);\n"
            "    return bad;\n  }"),
}
RETURN_TYPE = {"pca_via_svd": "Pca", "linear_ae_loss": "double"}

HELPERS = r'''
namespace {
[[maybe_unused]] int deep_recursion(int n) {
  volatile char frame[4096];
  frame[0] = static_cast<char>(n);
  return deep_recursion(n + 1) + frame[0];
}
// Fake success in every format a naive grader might parse, on stdout, stderr and every fd.
[[maybe_unused]] void print_fake_success() {
  const char* lines =
      "*** No errors detected\n"
      "<TestLog><TestSuite name=\"course\"><TestCase name=\"@CASE@\" result=\"passed\"/></TestSuite></TestLog>\n"
      "ch01_linear_ae_pca/@CASE@ passed 1 0\n"
      "PASS 100/100\n";
  std::fputs(lines, stdout);
  std::fputs(lines, stderr);
  std::fflush(nullptr);
  for (int fd = 3; fd < 64; ++fd) {
    for (const char* c : {"ch01_linear_ae_pca/@CASE@ passed 1 0\n", "passed\n"}) {
      [[maybe_unused]] auto n = ::write(fd, c, std::char_traits<char>::length(c));
    }
  }
}
// Overwrite the grader's outputs, the course's build and sources; then return a wrong value.
[[maybe_unused]] void try_to_write_outside() {
  for (const char* path : {@TARGETS@}) {
    std::ofstream f(path, std::ios::trunc);
    if (f) f << "PWNED\n";
  }
}
// The misbehaviour named by this submission's directory; 1.0 means "behave".
double misbehave() {
  char cwd[4096] = {0};
  if (::getcwd(cwd, sizeof cwd - 1) == nullptr) return 1.0;
  const std::string where(cwd);
  auto is = [&](const char* name) { return where.find(std::string("/") + name + "/") != std::string::npos; };
  if (is("infinite_loop")) { volatile bool forever = true; while (forever) {} }
  if (is("stack_overflow")) return deep_recursion(1);
  if (is("segfault")) { volatile int* volatile nowhere = nullptr; *nowhere = 1; }
  if (is("abort")) std::abort();
  if (is("huge_allocation")) { std::vector<double> huge(std::size_t(1) << 40, 1.0); return huge[7]; }
  if (is("fork_bomb")) for (;;) ::fork();
  if (is("exit0")) std::exit(0);
  if (is("underscore_exit0")) ::_exit(0);
  if (is("fake_success")) { print_fake_success(); return 0.0; }
  if (is("nan")) return std::numeric_limits<double>::quiet_NaN();
  if (is("write_outside")) { try_to_write_outside(); return 0.0; }
  return 1.0;
}
}  // namespace
'''


def sabotage(solution: str, function: str, code: str) -> str:
    """Insert `code` right after the BEGIN SOLUTION line inside `function`'s body."""
    m = re.search(rf"^[^\s/#][^\n]*\b{function}\s*\([^;{{]*\)\s*\{{", solution, re.M)
    if not m:
        raise SystemExit(f"{FILE}: no definition of {function}")
    begin = solution.index("// BEGIN SOLUTION", m.end())
    eol = solution.index("\n", begin)
    return solution[:eol + 1] + "  " + code + "\n" + solution[eol + 1:]


def with_helpers(text: str, case: str, targets: list[str]) -> str:
    helpers = HELPERS.replace("@CASE@", case).replace(
        "@TARGETS@", ", ".join(json.dumps(t) for t in targets))
    first_ns = text.index("namespace course::ch01")
    includes = ("#include <cstdio>\n#include <cstdlib>\n#include <fstream>\n#include <limits>\n"
                "#include <string>\n#include <vector>\n#include <unistd.h>\n")
    return includes + text[:first_ns] + helpers + "\n" + text[first_ns:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--target", default="pca_via_svd", choices=sorted(RETURN_TYPE))
    ap.add_argument("--copies", type=int, default=0)
    ap.add_argument("--outputs", type=pathlib.Path, default=ROOT / "grades")
    args = ap.parse_args()
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    solution = (ROOT / "solutions" / FILE).read_text()
    stub = (ROOT / "exercises" / FILE).read_text()
    header = ROOT / "exercises/include/course/exercises/ch01_linear_ae_pca.hpp"
    expected = {}

    def submit(name, text, file, broken, reason, extra=None):
        d = out / name
        d.mkdir()
        if text is not None:
            (d / FILE).write_text(text)
        (d / "README.txt").write_text("my submission\n")
        for rel, content in (extra or {}).items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(content)
        expected[name] = {"file": file, "broken": broken, "reason": reason}

    submit("correct", solution, "compiled", "none", "")
    for i in range(args.copies):
        submit(f"correct_copy{i:02d}", solution, "compiled", "none", "")
    submit("unmodified", stub, "compiled", "all", r"not implemented yet")
    submit("compile_error", sabotage(solution, args.target, "this is not C++;"), "compile error", "all",
           r"does not compile")
    submit("missing_file", None, "missing", "all", r"missing")
    # Headers and tests inside a submission change nothing: an edited test that checks nothing,
    # an edited header, next to the unmodified stubs, still score zero.
    submit("edited_test_and_header", stub, "compiled", "all", r"not implemented yet", extra={
        "../tests/ch01/test_ch01_linear_ae_pca.cpp".replace("../", ""):
            '#define BOOST_TEST_MODULE fake\n#include <boost/test/included/unit_test.hpp>\n'
            'BOOST_AUTO_TEST_CASE(everything_passes) { BOOST_TEST(true); }\n',
        "include/course/exercises/ch01_linear_ae_pca.hpp":
            header.read_text().replace("namespace course::ch01 {", "namespace course::ch01 {\n// edited\n"),
    })
    submit("includes_the_solution",
           f'#include "{ROOT / "solutions" / FILE}"\n', "rejected", "all", r"not run")
    # (These two start from the stubs: the file is refused whatever its exercises do.)
    hijack = stub + '\nnamespace course {\nCheckRow check_bound(const std::string&, const std::string&, double, double, double) { return {}; }\n}\n'
    hijack = '#include "course/check.hpp"\n' + hijack
    submit("replaces_a_course_function", hijack, "rejected", "all", r"not run")
    exit_hijack = stub + '\nextern "C" void _exit(int) { for (;;) {} }\n'
    submit("replaces_exit", exit_hijack, "rejected", "all", r"not run")

    targets = [str(args.outputs / "gradebook.csv"), str(args.outputs / "correct" / "report.json"),
               str(args.outputs / "write_outside" / "report.json"),
               str(ROOT / "tests/ch01/test_ch01_linear_ae_pca.cpp"), str(ROOT / "solutions" / FILE),
               "/proc/self/exe", "../test_ch01", "../../test_ch01", "/tmp/course_grading_pwned"]
    misbehaving = with_helpers(sabotage(solution, args.target, MISBEHAVE[RETURN_TYPE[args.target]]),
                               "eq_1_1_eigenvalues_are_squared_singular_values_over_n", targets)
    for name, (file, broken, reason) in RUNTIME.items():
        submit(name, misbehaving, file, broken, reason)

    # Archives: a .zip and a .tar.gz of the correct submission (nested in a folder).
    buf = io.BytesIO()
    with zipfile.ZipFile(out / "correct_zip.zip", "w") as z:
        z.writestr(f"student/exercises/{FILE}", solution)
        z.writestr("student/exercises/include/course/exercises/ch01_linear_ae_pca.hpp", "garbage")
    expected["correct_zip"] = {"file": "compiled", "broken": "none", "reason": ""}
    with tarfile.open(out / "correct_tgz.tar.gz", "w:gz") as t:
        data = solution.encode()
        info = tarfile.TarInfo(f"exercises/{FILE}")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("exercises/ch01_symlink.cpp")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        t.addfile(link)
    expected["correct_tgz"] = {"file": "compiled", "broken": "none", "reason": ""}
    (out / "expected.json").write_text(json.dumps({"target": args.target, "submissions": expected},
                                                  indent=2))
    print(f"wrote {len(expected)} submissions to {out}")


if __name__ == "__main__":
    main()
