"""The grader's outputs, all derived from one report dict per student (grader.grade):

<out>/<student>/report.json      everything: files, exercises, each test case's checks and reason
<out>/<student>/feedback.md      the same for the student to read
<out>/<student>/results.json     Gradescope's format (score, output, tests[{name, score, max_score,
                                 output, status}])
<out>/<student>/junit.xml        one <testcase> per (exercise, test case)
<out>/gradebook.csv              one row per student with a report in <out>, a column per exercise
<out>/junit.xml                  every student's test suite
Each file is written to a temporary name and renamed, so an interrupted run leaves only complete
files, and the gradebook always covers every student graded so far.
"""
from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import re
import xml.etree.ElementTree as ET


# Characters XML 1.0 cannot carry (a student's program may print any byte): replaced by U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(s) -> str:
    return _NOT_XML.sub("\ufffd", str(s))


def _csv_cell(s: str) -> str:
    """A display name for the gradebook, never a spreadsheet formula."""
    s = xml_text(s).replace("\n", " ").replace("\r", " ")
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t") else s


def _atomic_write(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", errors="replace")   # a lone surrogate cannot break a file
    os.replace(tmp, path)


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def weak_isolation_note(r: dict) -> str:
    """A sentence when the submission was graded without the sandbox (--allow-weak-sandbox on a
    host that cannot isolate), else ''. Reports older than the field count as isolated."""
    mode = r.get("isolation", "bubblewrap")
    if mode == "bubblewrap":
        return ""
    return (f"Isolation was off: this submission was graded with isolation '{mode}' "
            f"({'a private uid and limits' if mode == 'uid-only' else 'limits'} only, no sandbox), "
            f"so its code could read the course's files and use the network.")


def feedback_markdown(r: dict) -> str:
    out = [f"# Feedback for {r['student']}", "",
           f"**Score: {_num(r['score'])} / {_num(r['max_score'])}**  (graded {r['graded_at']})", ""]
    if weak_isolation_note(r):
        out += [weak_isolation_note(r), ""]
    out += ["## Files", "", "| file | status |", "|---|---|"]
    for f, s in r["files"].items():
        out.append(f"| {f} | {s['status']} |")
    for f, s in r["files"].items():
        if s["message"] and s["status"] != "missing":
            out += ["", f"### {f}: {s['status']}", "", "```", s["message"], "```"]
    for n in r.get("notes", []):
        out += ["", f"Note: {n}"]
    out += ["", "## Exercises", "", "| exercise | points | test cases passed |", "|---|---|---|"]
    for e in r["exercises"]:
        out.append(f"| {e['number']} {e['title']} | {_num(e['points'])} / {_num(e['max_points'])} | "
                   f"{e['passed']} / {len(e['tests'])} |")
    out += ["", "## Test cases", ""]
    for name, t in r["tests"].items():
        mark = "PASS" if t["status"] == "passed" else "FAIL"
        out += [f"### {mark} {name} (exercise {', '.join(t['exercises'])})", ""]
        if t["reason"]:
            out += [f"Reason: {t['reason']}", ""]
        own = [c for c in t["checks"] if not c["planted_wrong_formula"]]
        if own:
            out += ["| eq | claim | analytic | numeric | error | tol | verdict |", "|---|---|---|---|---|---|---|"]
            for c in own:
                out.append(f"| {c['id']} | {c['claim']} | {_num(c['analytic'])} | {_num(c['numeric'])} | "
                           f"{_num(c['error'])} | {_num(c['tol'])} | {c['verdict']} |")
            out.append("")
        if t["status"] != "passed" and t["failures"]:
            out += ["```", "\n\n".join(t["failures"][:3])[:3000], "```", ""]
        if t["status"] != "passed" and t["output"].strip():
            out += ["Program output (last lines):", "", "```", t["output"][-1500:], "```", ""]
    return "\n".join(out) + "\n"


def gradescope_results(r: dict) -> dict:
    tests = []
    for e in r["exercises"]:
        share = e["max_points"] / len(e["tests"]) if e["tests"] else 0
        for name in e["tests"]:
            t = r["tests"].get(name, {"status": "failed", "reason": "not run", "checks": []})
            lines = [t["reason"]] if t["reason"] else []
            lines += [f"[{c['id']}] {c['claim']}: analytic={_num(c['analytic'])} numeric={_num(c['numeric'])} "
                      f"error={_num(c['error'])} tol={_num(c['tol'])} {c['verdict']}"
                      for c in t["checks"] if not c["planted_wrong_formula"]]
            passed = t["status"] == "passed"
            tests.append({"name": f"Exercise {e['number']}: {name}", "number": e["number"],
                          "score": round(share if passed else 0.0, 4), "max_score": round(share, 4),
                          "status": "passed" if passed else "failed", "output": "\n".join(lines)})
    summary = [f"{f}: {s['status']}" + (f"\n{s['message']}" if s["message"] and s["status"] != "missing" else "")
               for f, s in r["files"].items()]
    weak = [weak_isolation_note(r)] if weak_isolation_note(r) else []
    return {"score": r["score"], "execution_time": int(r.get("seconds", 0)),
            "output": "\n\n".join(weak + summary + r.get("notes", [])), "tests": tests}


def junit_suite(r: dict) -> ET.Element:
    suite = ET.Element("testsuite", name=r["student"])
    if r.get("name"):
        suite.set("hostname", xml_text(r["name"]))
    n = failures = 0
    for e in r["exercises"]:
        for name in e["tests"]:
            t = r["tests"].get(name, {"status": "failed", "reason": "not run", "wall": 0, "failures": []})
            case = ET.SubElement(suite, "testcase", classname=f"{r['student']}.exercise_{e['number']}",
                                 name=name, time=str(t.get("wall", 0)))
            n += 1
            if t["status"] != "passed":
                failures += 1
                fail = ET.SubElement(case, "failure", message=xml_text(t["reason"][:500]))
                fail.text = xml_text("\n\n".join(t.get("failures", []))[:4000])
                if t.get("output"):
                    out = ET.SubElement(case, "system-out")
                    out.text = xml_text(t["output"][-2000:])
    suite.set("tests", str(n))
    suite.set("failures", str(failures))
    return suite


def write_student(out: pathlib.Path, r: dict) -> None:
    d = out / r["student"]
    d.mkdir(parents=True, exist_ok=True)
    _atomic_write(d / "feedback.md", feedback_markdown(r))
    _atomic_write(d / "results.json", json.dumps(gradescope_results(r), indent=2))
    _atomic_write(d / "junit.xml", ET.tostring(junit_suite(r), encoding="unicode"))
    _atomic_write(d / "report.json", json.dumps(r, indent=2))   # last: marks the student done


def load_reports(out: pathlib.Path) -> list[dict]:
    reports = []
    for p in sorted(out.glob("*/report.json")):
        try:
            reports.append(json.loads(p.read_text()))
        except (OSError, json.JSONDecodeError):
            pass
    return reports


def write_class(out: pathlib.Path) -> None:
    """gradebook.csv and junit.xml over every student report in `out`."""
    reports = load_reports(out)
    numbers = []
    maxima = {}
    for r in reports:
        for e in r["exercises"]:
            if e["number"] not in numbers:
                numbers.append(e["number"])
            maxima[e["number"]] = e["max_points"]
    numbers.sort(key=lambda n: tuple(int(x) for x in n.split(".")))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    # isolation: "bubblewrap" (the sandbox), or "uid-only" / "none" when --allow-weak-sandbox
    # graded without it (the column an instructor checks before trusting a row).
    w.writerow(["student", "name"] + [f"ex{n}" for n in numbers] + ["total", "max_total", "isolation"])
    for r in reports:
        pts = {e["number"]: e["points"] for e in r["exercises"]}
        w.writerow([r["student"], _csv_cell(r.get("name", r["student"]))] + [_num(pts.get(n, 0)) for n in numbers] +
                   [_num(r["score"]), _num(r["max_score"]), _csv_cell(r.get("isolation", "bubblewrap"))])
    _atomic_write(out / "gradebook.csv", buf.getvalue())
    suites = ET.Element("testsuites", name="course grading")
    for r in reports:
        suites.append(junit_suite(r))
    _atomic_write(out / "junit.xml", ET.tostring(suites, encoding="unicode"))
