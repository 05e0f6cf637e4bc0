"""The rubric: points per exercise and the test cases that verify it, one JSON file per chapter
(tests/rubric/chNN.json), next to the tests and the single source of truth for points. A chapter's
helper adds its own file; no shared list to edit. Format:

    {"chapter": "01",
     "exercises": {"1.1": {"title": "PCA via the SVD", "function": "pca_via_svd", "points": 3,
                           "tests": ["ch01_linear_ae_pca/eq_1_1_...", ...],
                           "called_by": [...]}, ...}}

"tests" are the graded test cases; "called_by" (informational, measured by the draft) lists every
test case that calls the exercise, so a crash in it fails those too.

An exercise scores points * (its test cases passed) / (its test cases). A test case may verify
several exercises (it is run once). `./course grade --draft-rubric NN` writes a draft from the
tests themselves (see draft_rubric); review it, set the points, commit it.
A chapter without a rubric is graded with a default (1 point per test case, each test case
assigned to the exercise its stub failure names) and a warning.
"""
from __future__ import annotations

import json
import pathlib
import re

from .course import Chapter, Course

RUBRIC_DIR = "tests/rubric"
NOT_IMPLEMENTED_RE = re.compile(r"exercise (\d+\.\d+) \w+ not implemented yet")


def rubric_path(course: Course, num: str) -> pathlib.Path:
    return course.root / RUBRIC_DIR / f"ch{num}.json"


def load(course: Course, ch: Chapter, stub_failures) -> tuple[dict, list[str]]:
    """{number: {"title", "points", "tests"}} and warnings. stub_failures() -> {test: [numbers]}
    is called only when the chapter has no rubric."""
    warnings = []
    path = rubric_path(course, ch.num)
    if path.exists():
        data = json.loads(path.read_text())
        exercises = data["exercises"]
        for number, e in exercises.items():
            missing = [t for t in e.get("tests", []) if t not in ch.test_cases]
            if missing:
                warnings.append(f"{path.name}: exercise {number} names test cases that do not "
                                f"exist: {', '.join(missing)} (they count as failed)")
        known = {e.number for e in ch.exercises}
        for number in sorted(known - set(exercises)):
            warnings.append(f"{path.name}: exercise {number} has no rubric entry (not graded)")
        return exercises, warnings
    warnings.append(f"chapter {ch.num} has no rubric ({RUBRIC_DIR}/ch{ch.num}.json): graded with "
                    f"the default of 1 point per test case; write one with "
                    f"./course grade --draft-rubric {ch.num}")
    return default_rubric(ch, stub_failures()), warnings


def default_rubric(ch: Chapter, failures: dict) -> dict:
    """1 point per test case that fails against the stubs, under the exercise it names."""
    exercises = {e.number: {"title": e.title, "points": 0, "tests": []} for e in ch.exercises}
    for test, numbers in failures.items():
        for n in numbers[:1]:
            exercises.setdefault(n, {"title": "", "points": 0, "tests": []})
            exercises[n]["tests"].append(test)
            exercises[n]["points"] += 1
    return {n: e for n, e in exercises.items() if e["tests"]}


def not_implemented_numbers(text: str) -> list[str]:
    seen = []
    for m in NOT_IMPLEMENTED_RE.finditer(text):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def equations_of(text: str) -> set[str]:
    """The equation numbers an exercise title cites, '(eq. 5.7)' or '(eqs. 2.3 and 2.4)', or a test
    case is named after, 'eq_10_3_eq_10_4_whole_model...': {'5.7'}, {'2.3', '2.4'}, {'10.3', '10.4'}."""
    found = set(re.findall(r"(?<![A-Za-z0-9])eq_(\d+)_(\d+)", text))
    for m in re.finditer(r"\beqs?\.\s*((?:\d+\.\d+(?:\s*(?:,|and|&)\s*)?)+)", text):
        found |= {tuple(n.split(".")) for n in re.findall(r"\d+\.\d+", m.group(1))}
    return {f"{a}.{b}" for a, b in found}


def draft(ch: Chapter, depends: dict, passing_with_stubs: list[str]) -> dict:
    """A rubric from the measured dependencies {test: [exercise numbers]}.

    'called_by' lists every test case that calls the exercise. 'tests' (graded) keeps two kinds:
    - the test cases named after an equation the exercise's title cites (its own derivation), and
    - the most specific callers: a caller is dropped when another caller of the same exercise
      depends on a strict subset of its exercises.
    So an exercise is graded by the checks of its own equation and by its tests of its own, and a
    test that merely calls exercise A on the way to checking B does not also grade A. 1 point
    per graded test case as a start; review and set the points by hand."""
    exercises = {}
    for e in ch.exercises:
        calling = [t for t, ns in depends.items() if e.number in ns]
        own = equations_of(e.title)
        graded = [t for t in calling
                  if equations_of(t.split("/")[-1]) & own
                  or not any(set(depends[u]) < set(depends[t]) for u in calling)]
        exercises[e.number] = {"title": e.title, "function": e.function,
                               "points": max(1, len(graded)), "tests": graded, "called_by": calling}
    return {"chapter": ch.num,
            "comment": f"Points per exercise of chapter {ch.num} and the test cases that grade it "
                       "('tests'); 'called_by' lists every test case that calls the exercise "
                       f"(measured by ./course grade --draft-rubric {ch.num}), so a crash in it fails "
                       "those too. 'tests' keeps the checks named after the exercise's own equations "
                       "and its most specific callers (tools/grading/rubric.py, draft). Review the "
                       "points. An exercise scores points * passed / len(tests).",
            "exercises": exercises,
            "ungraded_tests": passing_with_stubs}
