#!/usr/bin/env python3
"""Basic grader: ./course grade SUBMISSION... (directories holding chNN_*.cpp, or .zip/.tar.gz).

For each submission: take only its exercise sources (chNN_*.cpp; a missing one is replaced by the
course's stub), build the course's tests against them in grades/build/<name>, run each chapter's
test executable, and count the test cases that pass. Writes grades/gradebook.csv.
"""
import csv
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "grades"


def extract(sub: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    if sub.is_dir():
        return sub
    if zipfile.is_zipfile(sub):
        with zipfile.ZipFile(sub) as z:
            z.extractall(dest)
        return dest
    if tarfile.is_tarfile(sub):
        with tarfile.open(sub) as t:
            t.extractall(dest, filter="data")
        return dest
    raise SystemExit(f"{sub}: not a directory, .zip or .tar.gz")


def grade(sub: pathlib.Path):
    name = sub.name.split(".")[0]
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"grade-{name}-"))
    src = extract(sub, work / "unpacked")
    ex = work / "exercises"
    ex.mkdir()
    for stub in sorted((ROOT / "exercises").glob("ch[0-9][0-9]_*.cpp")):
        found = list(src.rglob(stub.name))
        shutil.copy(found[0] if found else stub, ex / stub.name)
    build = OUT / "build" / name
    cfg = subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCOURSE_IMPL=exercises",
                          f"-DCOURSE_EXERCISES_DIR={ex}", "-DCOURSE_STUDENT_TWINS=OFF"],
                         capture_output=True, text=True)
    chapters = sorted(p.name[2:] for p in (ROOT / "tests").glob("ch[0-9][0-9]"))
    results = {}
    built = cfg.returncode == 0 and subprocess.run(
        ["cmake", "--build", str(build), "-j", "2", "--target"] + [f"test_ch{c}" for c in chapters],
        capture_output=True, text=True).returncode == 0
    for c in chapters:
        exe = build / "tests" / f"ch{c}" / f"test_ch{c}"
        passed = total = 0
        if built and exe.exists():
            report = work / f"ch{c}.xml"
            try:
                subprocess.run([str(exe), "--report_format=XML", "--report_level=detailed",
                                f"--report_sink={report}"], capture_output=True, timeout=300, cwd=work)
                for tc in ET.parse(report).getroot().iter("TestCase"):
                    total += 1
                    passed += tc.get("result") == "passed"
            except (subprocess.TimeoutExpired, ET.ParseError, FileNotFoundError):
                pass
        results[c] = (passed, total)
    shutil.rmtree(work, ignore_errors=True)
    return name, results, built


def main(argv):
    OUT.mkdir(exist_ok=True)
    rows = [grade(pathlib.Path(a)) for a in argv]
    chapters = sorted({c for _, r, _ in rows for c in r})
    with open(OUT / "gradebook.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student"] + [f"ch{c}" for c in chapters] + ["total", "built"])
        for name, r, built in rows:
            w.writerow([name] + [f"{r[c][0]}/{r[c][1]}" for c in chapters] +
                       [sum(p for p, _ in r.values()), "yes" if built else "no"])
    print(f"wrote {OUT / 'gradebook.csv'}")


if __name__ == "__main__":
    main(sys.argv[1:])
