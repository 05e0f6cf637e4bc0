#!/usr/bin/env python3
"""Every \\tag{N.k} in docs/ must be verified by a test whose name contains eq_N_k, and every
test named eq_N_k must refer to a tag that exists. Exit 1 listing what is missing."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

tags = {}
for doc in sorted((ROOT / "docs").glob("[0-9][0-9]-*.md")):
    for m in re.finditer(r"\\tag\{(\d+)\.(\d+)\}", doc.read_text()):
        tags.setdefault(f"eq_{m.group(1)}_{m.group(2)}", doc.name)

tests = {}
for src in sorted((ROOT / "tests").rglob("*.cpp")):
    for m in re.finditer(r"BOOST_(?:AUTO|DATA|FIXTURE)_TEST_CASE\s*\(\s*(\w+)", src.read_text()):
        for eq in re.findall(r"eq_\d+_\d+(?=_|$)", m.group(1)):
            tests.setdefault(eq, []).append(f"{src.relative_to(ROOT)}:{m.group(1)}")

missing = sorted(set(tags) - set(tests), key=lambda s: [int(x) for x in s[3:].split("_")])
dangling = sorted(set(tests) - set(tags))
for eq in missing:
    print(f"{tags[eq]}: \\tag{{{eq[3:].replace('_', '.')}}} has no test named {eq}_...")
for eq in dangling:
    print(f"{tests[eq][0]}: names {eq} but no doc has \\tag{{{eq[3:].replace('_', '.')}}}")
print(f"{len(tags)} tagged equations, {sum(len(v) for v in tests.values())} equation tests, "
      f"{len(missing)} untested, {len(dangling)} dangling")
sys.exit(1 if missing or dangling or not tags else 0)
