#!/usr/bin/env python3
"""Unit tests of the grader's pure parts (no build needed): reading submissions, the Boost log,
the verdict, the rubric, the reports."""
import csv
import io
import json
import os
import pathlib
import sys
import tarfile
import tempfile
import unittest
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from grading import build, grader, remote, report, rubric, sandbox  # noqa: E402
from grading.course import parse_exercises  # noqa: E402

LINE = "[1.3] loss equals its trace form: analytic=0.25 numeric=0.5 error=0.2 tol=1e-10 (identity) FAIL"
LOG = f"""<TestLog><TestSuite name="course"><TestSuite name="ch01"><TestCase name="eq_1_3" file="t.cpp" line="3">
<Message file="t.cpp" line="4"><![CDATA[{LINE}]]></Message>
<Error file="t.cpp" line="4"><![CDATA[{LINE}
detail]]></Error>
<Message file="t.cpp" line="5"><![CDATA[rejects a missing 1/2: [1.3] : analytic=1 numeric=2 error=0.5 tol=1e-10 (identity) FAIL]]></Message>"""


def outcome(**kw):
    base = dict(exit_code=0, signal=None, timed_out=False, wall=0.1, cpu=0.1, records=[], output="")
    base.update(kw)
    return sandbox.Outcome(**base)


class Units(unittest.TestCase):
    def test_log_is_parsed_even_when_cut_short(self):
        checks, failures = grader.parse_log(LOG)
        self.assertEqual(len(checks), 2)
        self.assertEqual(checks[0]["analytic"], 0.25)
        self.assertEqual(checks[0]["numeric"], 0.5)
        self.assertIsNone(checks[0]["planted_wrong_formula"])
        self.assertEqual(checks[1]["planted_wrong_formula"], "a missing 1/2")
        self.assertEqual(len(failures), 1)

    def test_draft_grades_each_exercise_by_its_own_equation_and_most_specific_tests(self):
        from grading.course import Chapter, Exercise
        titles = {"2.1": "the loss (eq. 2.1)", "2.2": "its gradient (eqs. 2.2 and 2.3)", "2.3": "training"}
        ch = Chapter(num="02", file="ch02_x.cpp",
                     exercises=[Exercise(n, t, f"f{n[-1]}", "ch02_x.cpp") for n, t in titles.items()])
        depends = {"s/eq_2_1_loss": ["2.1"], "s/eq_2_3_grad": ["2.1", "2.2"],
                   "s/eq_2_2_grad_is_deterministic": ["2.2"],
                   "s/eq_2_4_train": ["2.1", "2.2", "2.3"], "s/eq_2_1_loss_again": ["2.1"]}
        r = rubric.draft(ch, depends, ["s/free"])["exercises"]
        # 2.1 has tests of its own: a mistake in 2.1 is not also graded through grad and train.
        self.assertEqual(r["2.1"]["tests"], ["s/eq_2_1_loss", "s/eq_2_1_loss_again"])
        self.assertEqual(r["2.1"]["called_by"], [t for t in depends if "2.1" in depends[t]])
        # 2.2: the check of its own equation 2.3 counts even though it also calls 2.1.
        self.assertEqual(r["2.2"]["tests"], ["s/eq_2_3_grad", "s/eq_2_2_grad_is_deterministic"])
        # 2.3 cites no equation and is only reached through train: that test grades it.
        self.assertEqual(r["2.3"]["tests"], ["s/eq_2_4_train"])
        self.assertEqual([r[n]["points"] for n in titles], [2, 2, 1])
        self.assertEqual(rubric.equations_of("eq_10_3_eq_10_4_whole_model"), {"10.3", "10.4"})
        self.assertEqual(rubric.equations_of("one draw of L_K (eq. 5.9; Burda et al. 2016)"), {"5.9"})

    def test_a_compile_sees_the_course_headers_and_nothing_else_of_the_course(self):
        cmd = ["/usr/bin/c++", "-I/c/exercises/include", "-I", "/c/common/include", "-isystem",
               "/usr/include/eigen3", "-include", "/c/build/CMakeFiles/course_pch.dir/cmake_pch.hxx"]
        self.assertEqual(build.compile_paths(cmd), ("/c/exercises/include", "/c/common/include",
                                                    "/c/build/CMakeFiles/course_pch.dir"))

    def test_verdicts_come_from_the_course_test_not_from_the_worker(self):
        lim = sandbox.Limits(wall=5)
        checks, failures = grader.parse_log(LOG)
        case = "ch01/eq_1_3"
        fine = outcome()
        ok = outcome(records=[f"{case} passed 3 0"])
        self.assertEqual(grader.classify(ok, fine, case, lim, [], []), (True, ""))
        # Whatever the worker did or printed, only the test's record passes a case.
        self.assertFalse(grader.classify(outcome(exit_code=201, records=[f"{case} failed 1 1"]),
                                         outcome(output=f"{case} passed 3 0"), case, lim, [], [])[0])
        wrong = outcome(exit_code=201, records=[f"{case} failed 1 1"])
        self.assertIn("wrong result", grader.classify(wrong, fine, case, lim, checks, failures)[1])
        died = ["course::grading::WorkerDied: the exercise code's process ended during a call of "
                "course::ch01::linear_ae_loss (a crash ...)"]
        self.assertIn("segmentation fault", grader.classify(wrong, outcome(exit_code=None, signal=11),
                                                             case, lim, [], died)[1])
        self.assertIn("(in course::ch01::linear_ae_loss)",
                      grader.classify(wrong, outcome(exit_code=None, signal=11), case, lim, [], died)[1])
        self.assertIn("time or memory limit", grader.classify(
            wrong, outcome(exit_code=None, signal=9, timed_out=True), case, lim, [], died)[1])
        self.assertIn("exit() or _exit()", grader.classify(wrong, outcome(exit_code=0), case, lim, [], died)[1])
        self.assertFalse(grader.classify(outcome(records=[f"{case} passed 0 0"]), fine, case, lim, [], [])[0])
        ni = outcome(exit_code=201, records=[f"{case} failed 0 1"])
        self.assertIn("1.2 is not implemented",
                      grader.classify(ni, fine, case, lim, [], ["exercise 1.2 linear_ae_loss not implemented yet"])[1])
        # No record at all: the course's test process itself failed (not the student's fault).
        self.assertIn("defect of the course", grader.classify(outcome(exit_code=None, signal=11), fine,
                                                               case, lim, [], [])[1])

    def test_a_batch_log_is_cut_into_its_test_cases(self):
        # Several test cases share one test process: each case's checks and failures are its own
        # (a wrong split would give one case's failure to every case of the batch).
        log = ('<TestLog><TestSuite name="course"><TestSuite name="ch01">'
               f'<TestCase name="a" file="t"><Message file="t" line="1"><![CDATA[{LINE}]]></Message></TestCase>'
               '<TestCase name="b"><Error file="t" line="2"><![CDATA[bad]]></Error></TestCase>'
               '<TestCase name="c"/></TestSuite><TestSuite name="ch01x">'
               '<TestCase name="b"><Error file="t" line="2"><![CDATA[other]]></Error></TestCase>')
        pieces = grader.split_log(log)
        self.assertEqual(sorted(pieces), ["course/ch01/a", "course/ch01/b", "course/ch01/c", "course/ch01x/b"])
        self.assertEqual(grader.parse_log(grader._case_log(pieces, "ch01/b"))[1], ["bad"])
        self.assertEqual(grader.parse_log(grader._case_log(pieces, "ch01x/b"))[1], ["other"])
        self.assertEqual(len(grader.parse_log(grader._case_log(pieces, "ch01/a"))[0]), 1)
        self.assertEqual(grader.parse_log(grader._case_log(pieces, "ch01/a"))[1], [])
        # In a batch, exit status 201 means another case failed: a passed record still passes
        # (alone, 201 with a passed record is not a pass).
        lim = sandbox.Limits(wall=5)
        rec = outcome(exit_code=201, records=["ch01/a passed 3 0", "ch01/b failed 1 1"])
        self.assertTrue(grader.classify(rec, outcome(), "ch01/a", lim, [], [], batch=2)[0])
        self.assertFalse(grader.classify(rec, outcome(), "ch01/b", lim, [], ["bad"], batch=2)[0])
        self.assertFalse(grader.classify(rec, outcome(), "ch01/a", lim, [], [], batch=1)[0])
        # A test process killed by a signal passes nothing, batch or not.
        self.assertFalse(grader.classify(outcome(exit_code=None, signal=9, records=["ch01/a passed 3 0"]),
                                         outcome(), "ch01/a", lim, [], [], batch=2)[0])

    def test_the_header_reader_finds_exercises_structs_and_in_out_arguments(self):
        with tempfile.TemporaryDirectory() as d:
            h = pathlib.Path(d) / "ch42_x.hpp"
            h.write_text("""#pragma once
// Exercise 42.1 -- f (eq. 42.1). A comment with f(x); inside.
namespace course::ch42 {
struct Pair {
  MatD a, b;            // two fields on one line
  double s = 1.0;       // a default
  static constexpr int kN = 3;
  Index size() const { return a.rows(); }
  MatD cov() const;
};
enum class Mode { A, B };
inline double helper(double x) { return 2 * x; }
template <class S> S twice(S x);
/* a block comment: double g(double); */
Pair f(const MatD& X, Index k, Rng& rng, std::vector<Pair>& out, Mode m = Mode::A);
void g(EmaCodebook& cb,
       const std::vector<Index>& codes);
}  // namespace course::ch42
""")
            got = remote.parse_header(h)
        self.assertEqual([(s.name, s.fields) for s in got.structs], [("Pair", ["a", "b", "s"])])
        self.assertEqual([f.name for f in got.functions], ["f", "g"])
        f = got.functions[0]
        self.assertEqual([(p.type, p.name, p.inout) for p in f.params],
                         [("const MatD&", "X", False), ("Index", "k", False), ("Rng&", "rng", True),
                          ("std::vector<Pair>&", "out", True), ("Mode", "m", False)])
        self.assertEqual(got.functions[1].params[0].inout, True)
        with tempfile.TemporaryDirectory() as d:
            h = pathlib.Path(d) / "ch43_x.hpp"
            h.write_text("namespace course::ch43 {\ndouble f(const double* p);\n}\n")
            with self.assertRaises(remote.HeaderError):
                remote.parse_header(h)

    def test_ids_are_safe_unique_and_stable(self):
        paths = [pathlib.Path(n) for n in ("...zip", "a b", "a_b", "a_b.zip", "gradebook.csv.zip",
                                           "Zoë", os.fsdecode(b"caf\xe9"), "", "bob")]
        ids = grader.unique_names(paths)
        self.assertEqual(len({i.lower() for i in ids}), len(ids))
        for i in ids:
            self.assertRegex(i, r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
            self.assertNotIn(i.lower(), ("gradebook.csv", "junit.xml", ".", ".."))
        self.assertEqual(ids, grader.unique_names(paths))     # stable
        self.assertEqual(ids[-1], "bob")                       # a clean name stays as it is
        self.assertEqual(grader.display_name(pathlib.Path("Zoë Ünal.zip")), "Zoë Ünal")

    def test_class_outputs_stay_valid_whatever_a_student_prints(self):
        import xml.etree.ElementTree as ET
        r = {"student": "s", "name": "=cmd|' /C calc'!A0\x01", "score": 0, "max_score": 1,
             "graded_at": "", "files": {}, "notes": [], "exercises": [
                 {"number": "1.1", "title": "t", "chapter": "01", "points": 0, "max_points": 1,
                  "tests": ["c"], "passed": 0}],
             "tests": {"c": {"status": "failed", "reason": "bad \x00\x1b[31m", "exercises": ["1.1"],
                             "checks": [], "failures": ["\x07bell"], "output": "\x01\x02\ud800x", "wall": 0}}}
        with tempfile.TemporaryDirectory() as d:
            d = pathlib.Path(d)
            report.write_student(d, r)
            report.write_class(d)
            ET.parse(d / "junit.xml")
            ET.parse(d / "s" / "junit.xml")
            self.assertIn("'=cmd", (d / "gradebook.csv").read_text())

    def test_sources_come_only_from_regular_exercise_files(self):
        with tempfile.TemporaryDirectory() as d:
            d = pathlib.Path(d)
            z = d / "s.zip"
            with zipfile.ZipFile(z, "w") as f:
                f.writestr("../../evil/ch01_a.cpp", "deep")
                f.writestr("x/ch01_a.cpp", "shallow")
                f.writestr("x/include/h.hpp", "header")
            got, _ = grader.collect_sources(z, {"ch01_a.cpp"}, d / "out1")
            self.assertEqual(got["ch01_a.cpp"].read_text(), "shallow")
            self.assertFalse((d.parent / "evil").exists())
            t = d / "s.tar.gz"
            with tarfile.open(t, "w:gz") as f:
                link = tarfile.TarInfo("ch01_a.cpp")
                link.type = tarfile.SYMTYPE
                link.linkname = "/etc/shadow"
                f.addfile(link)
            got, _ = grader.collect_sources(t, {"ch01_a.cpp"}, d / "out2")
            self.assertEqual(got, {})
            sub = d / "dir"
            sub.mkdir()
            (sub / "ch01_a.cpp").symlink_to("/etc/passwd")
            self.assertEqual(grader.collect_sources(sub, {"ch01_a.cpp"}, d / "out3")[0], {})

    def test_student_names(self):
        # A changed name gets a hash of the original: "Jo Doe" and "Jo_Doe" stay apart.
        self.assertRegex(grader.student_name(pathlib.Path("a/Jo Doe.tar.gz")), r"^Jo_Doe-[0-9a-f]{8}$")
        self.assertEqual(grader.student_name(pathlib.Path("x.zip")), "x")

    def test_exercises_are_read_from_the_headers(self):
        hdr = ROOT / "exercises/include/course/exercises/ch01_linear_ae_pca.hpp"
        ex = parse_exercises(hdr, "ch01_linear_ae_pca.cpp")
        self.assertEqual([e.number for e in ex], ["1.1", "1.2", "1.3", "1.4"])
        self.assertEqual(ex[1].function, "linear_ae_loss")

    def test_default_rubric_gives_a_point_per_test_case(self):
        class Ch:
            exercises = []
        r = rubric.default_rubric(Ch(), {"s/a": ["1.1"], "s/b": ["1.1", "1.2"], "s/c": ["1.2"]})
        self.assertEqual(r["1.1"]["points"], 2)
        self.assertEqual(r["1.2"]["tests"], ["s/c"])

    def test_reports_are_written(self):
        r = {"student": "s", "graded_at": "now", "score": 1.5, "max_score": 2, "files": {"f.cpp": {"status": "compiled", "message": ""}},
             "notes": [], "exercises": [{"number": "1.1", "title": "t", "chapter": "01", "points": 1.5,
                                         "max_points": 2, "tests": ["a", "b"], "passed": 1}],
             "tests": {"a": {"status": "passed", "reason": "", "exercises": ["1.1"], "checks": [], "failures": [], "output": "", "wall": 0.1},
                       "b": {"status": "failed", "reason": "wrong result", "exercises": ["1.1"], "checks": [], "failures": ["x"], "output": "", "wall": 0.1}},
             "seconds": 1.0}
        with tempfile.TemporaryDirectory() as d:
            d = pathlib.Path(d)
            report.write_student(d, r)
            report.write_class(d)
            self.assertIn("s,1.5,1.5,2", (d / "gradebook.csv").read_text())
            self.assertIn("wrong result", (d / "s" / "feedback.md").read_text())
            self.assertNotIn("Isolation was off", (d / "s" / "feedback.md").read_text())
            # Graded without the sandbox (--allow-weak-sandbox): every output says so.
            report.write_student(d, dict(r, student="t", isolation="uid-only"))
            report.write_class(d)
            rows = list(csv.DictReader(io.StringIO((d / "gradebook.csv").read_text())))
            self.assertEqual({x["student"]: x["isolation"] for x in rows}, {"s": "bubblewrap", "t": "uid-only"})
            self.assertIn("Isolation was off", (d / "t" / "feedback.md").read_text())
            self.assertIn("Isolation was off", json.loads((d / "t" / "results.json").read_text())["output"])


if __name__ == "__main__":
    unittest.main()
