#!/usr/bin/env python3
"""Every \\tag{N.k} in docs/ must be verified by a test whose name contains eq_N_k, and every
test named eq_N_k must refer to a tag that exists. Exit 1 listing what is missing.

tagged_equations() and equation_tests() are also what the course book (tools/book.py) uses to link
each tag to its tests."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def tagged_equations(root=ROOT):
    """{"eq_8_1": "08-vae.md", ...}: each tag of docs/NN-*.md and the doc that has it first."""
    tags = {}
    for doc in sorted((root / "docs").glob("[0-9][0-9]-*.md")):
        for m in re.finditer(r"\\tag\{(\d+)\.(\d+)\}", doc.read_text()):
            tags.setdefault(f"eq_{m.group(1)}_{m.group(2)}", doc.name)
    return tags


def equation_tests(root=ROOT):
    """{"eq_8_1": [(path relative to root, test name, line), ...]}: the tests naming each equation."""
    tests = {}
    for src in sorted((root / "tests").rglob("*.cpp")):
        text = src.read_text()
        for m in re.finditer(r"BOOST_(?:AUTO|DATA|FIXTURE)_TEST_CASE\s*\(\s*(\w+)", text):
            line = text.count("\n", 0, m.start()) + 1
            for eq in re.findall(r"eq_\d+_\d+(?=_|$)", m.group(1)):
                tests.setdefault(eq, []).append((str(src.relative_to(root)), m.group(1), line))
    return tests


def main():
    tags, tests = tagged_equations(), equation_tests()
    missing = sorted(set(tags) - set(tests), key=lambda s: [int(x) for x in s[3:].split("_")])
    dangling = sorted(set(tests) - set(tags))
    for eq in missing:
        print(f"{tags[eq]}: \\tag{{{eq[3:].replace('_', '.')}}} has no test named {eq}_...")
    for eq in dangling:
        path, name, _ = tests[eq][0]
        print(f"{path}:{name}: names {eq} but no doc has \\tag{{{eq[3:].replace('_', '.')}}}")
    print(f"{len(tags)} tagged equations, {sum(len(v) for v in tests.values())} equation tests, "
          f"{len(missing)} untested, {len(dangling)} dangling")
    return 1 if missing or dangling or not tags else 0


if __name__ == "__main__":
    sys.exit(main())
