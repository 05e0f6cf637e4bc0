#!/usr/bin/env python3
"""Source-level mutation testing: are the checks strong enough to see a planted derivation bug?

    ./course mutate [NN ...]            every mutant of the chapters named (default: all)
    python3 tools/mutate.py 06 --list   the mutants of chapter 6, without running them
    python3 tools/mutate.py --restore   put back a file a killed run left mutated

Each chapter's mutants live in tools/mutants/chNN.txt (format below). For one mutant at a time the
runner replaces the exact original snippet in the file by the replacement, rebuilds that chapter's
test target incrementally, runs the test binary, and puts the file back. A mutant is

    killed          the tests fail (or time out): some check saw the bug
    survived        every test passes: a missing check, or an equivalent change (see below)
    not applicable  the snippet is not in the file (it moved: re-point the mutant)
    build error     the mutant does not compile (not a derivation bug: fix the mutant)

The run exits 0 only when every mutant is killed. A survivor is either a missing check (add one)
or an equivalent mutant, one that changes no number a check can see (delete it from the list and
say why in a one-line comment there).

The original is restored in a `finally` (Ctrl-C and SIGTERM included); the original text is also
journalled in <build>/mutate-journal.json before the file is touched, so that even after a hard
kill the next run (or --restore) puts it back first. The restored file gets a fresh mtime, so the
next build recompiles it (ccache makes that cheap).

File format of tools/mutants/chNN.txt:

    # a comment
    [01.3] missing factor 1/2 in the loss           <- id and the derivation bug, one line
    file solutions/ch01_linear_ae_pca.cpp           <- path from the repository root
    - return 0.5 * (X - X_hat).squaredNorm();        <- the exact original (several "- " lines
    + return (X - X_hat).squaredNorm();              <- join with newlines); "+ " the replacement
    test test_ch09                                  <- optional: another test target to run

The snippet must occur exactly once in the file. Each build+test of one mutant can be wrapped in a
command prefix, COURSE_MUTATE_WRAP (e.g. a semaphore on a shared machine), so a long run holds a
build slot per mutant, not for the whole run.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD_FAILED = 97  # exit code of the wrapped step when the build (not the tests) failed

HEADER_RE = re.compile(r"^\[([^\]]+)\]\s*(.*)$")


@dataclass
class Mutant:
    id: str
    bug: str
    file: str
    original: str
    replacement: str
    test: str | None
    line: int  # line of the header in the mutant list, for messages


class ListError(Exception):
    pass


def parse_mutants(path: pathlib.Path) -> list[Mutant]:
    mutants: list[Mutant] = []
    cur: dict | None = None

    def finish():
        if cur is None:
            return
        if not cur["file"] or not cur["minus"]:
            raise ListError(f"{path.name}:{cur['line']}: mutant [{cur['id']}] needs a 'file' line and '- ' lines")
        mutants.append(Mutant(cur["id"], cur["bug"], cur["file"], "\n".join(cur["minus"]),
                              "\n".join(cur["plus"]), cur["test"], cur["line"]))

    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = HEADER_RE.match(raw)
        if m:
            finish()
            if not m.group(2).strip():
                raise ListError(f"{path.name}:{n}: mutant [{m.group(1)}] has no description of its bug")
            cur = {"id": m.group(1), "bug": m.group(2).strip(), "file": "", "minus": [], "plus": [],
                   "test": None, "line": n}
            continue
        if cur is None:
            raise ListError(f"{path.name}:{n}: expected a '[id] description' line first")
        if raw.startswith("file "):
            cur["file"] = raw[5:].strip()
        elif raw.startswith("test "):
            cur["test"] = raw[5:].strip()
        elif raw.startswith("- ") or raw == "-":
            cur["minus"].append(raw[2:])
        elif raw.startswith("+ ") or raw == "+":
            cur["plus"].append(raw[2:])
        else:
            raise ListError(f"{path.name}:{n}: cannot read this line: {raw!r}")
    finish()
    ids = [m.id for m in mutants]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ListError(f"{path.name}: duplicate mutant ids: {', '.join(dup)}")
    return mutants


# ---- restoring files ---------------------------------------------------------------------------

class Journal:
    """The original text of every file being mutated, on disk before the file is touched."""

    def __init__(self, path: pathlib.Path):
        self.path = path

    def restore(self, root: pathlib.Path) -> list[str]:
        if not self.path.exists():
            return []
        saved = json.loads(self.path.read_text(encoding="utf-8"))
        for rel, text in saved.items():
            (root / rel).write_text(text, encoding="utf-8")
        self.path.unlink()
        return sorted(saved)

    def save(self, rel: str, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({rel: text}), encoding="utf-8")
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# ---- running -----------------------------------------------------------------------------------

@dataclass
class Result:
    mutant: Mutant
    status: str  # killed | survived | not applicable | build error
    note: str = ""
    seconds: float = 0.0


def default_build_cmd(build_dir: pathlib.Path, target: str) -> list[str]:
    return ["cmake", "--build", str(build_dir), "--target", target, "-j", os.environ.get("COURSE_JOBS", "2")]


def find_test_binary(build_dir: pathlib.Path, target: str) -> pathlib.Path:
    hits = [p for p in (build_dir / "tests").glob(f"*/{target}") if p.is_file()]
    if not hits:
        raise FileNotFoundError(f"no test binary {target} under {build_dir}/tests (built?)")
    return hits[0]


class Runner:
    def __init__(self, root: pathlib.Path, build_dir: pathlib.Path, wrap: list[str], timeout: float,
                 build_cmd=None, test_cmd=None, log=sys.stdout):
        self.root = root
        self.build_dir = build_dir
        self.wrap = wrap
        self.timeout = timeout
        self.build_cmd = build_cmd or (lambda target: default_build_cmd(build_dir, target))
        # None: the test binary of that target, found after it is built.
        self.test_cmd = test_cmd or (lambda target: {"binary_of": target, "build_dir": str(build_dir)})
        self.journal = Journal(build_dir / "mutate-journal.json")
        self.log = log

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def step(self, target: str, logfile: pathlib.Path) -> int:
        """Build `target`, then run its tests, as ONE wrapped command (one slot of the wrapper for
        both); returns the tests' exit code, or BUILD_FAILED when the build failed."""
        spec = {"build": self.build_cmd(target), "test": self.test_cmd(target), "log": str(logfile),
                "timeout": self.timeout, "cwd": str(self.root)}
        env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
        # Its own process group, so that an interrupt of the runner stops the build or the tests
        # it is waiting for (all of them) before the file is restored.
        proc = subprocess.Popen(self.wrap + [sys.executable, str(pathlib.Path(__file__).resolve()), "--step",
                                             json.dumps(spec)], env=env, cwd=self.root, start_new_session=True)
        try:
            return proc.wait()
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise

    def baseline(self, target: str) -> None:
        logfile = self.build_dir / f"mutate-{target}.log"
        self.build_dir.mkdir(parents=True, exist_ok=True)
        rc = self.step(target, logfile)
        if rc != 0:
            what = "does not build" if rc == BUILD_FAILED else "fails its tests"
            raise RuntimeError(f"{target} {what} without any mutant; fix that first (log: {logfile})")

    def run_one(self, m: Mutant, target: str) -> Result:
        path = self.root / m.file
        t0 = time.monotonic()
        if not path.is_file():
            return Result(m, "not applicable", f"no file {m.file}")
        text = path.read_text(encoding="utf-8")
        count = text.count(m.original)
        if count != 1:
            note = "snippet not found" if count == 0 else f"snippet found {count} times (make it unique)"
            return Result(m, "not applicable", note)
        logfile = self.build_dir / f"mutate-{m.id.replace('/', '_')}.log"
        self.journal.save(m.file, text)
        try:
            path.write_text(text.replace(m.original, m.replacement, 1), encoding="utf-8")
            rc = self.step(target, logfile)
        finally:
            path.write_text(text, encoding="utf-8")
            self.journal.clear()
        secs = time.monotonic() - t0
        if rc == BUILD_FAILED:
            return Result(m, "build error", f"log: {logfile}", secs)
        if rc == 0:
            return Result(m, "survived", f"log: {logfile}", secs)
        logtext = logfile.read_text(errors="replace") if logfile.exists() else ""
        failed = sorted(set(re.findall(r'error: in "([^"]+)"', logtext)))
        note = "timeout" if "\nTIMEOUT after" in logtext else (
            f"{len(failed)} test case(s) failed: " + ", ".join(f.split("/")[-1] for f in failed[:2])
            + (" ..." if len(failed) > 2 else "")
            if failed else f"exit code {rc}")
        return Result(m, "killed", note, secs)

    def run(self, chapters: dict[str, list[Mutant]]) -> list[Result]:
        restored = self.journal.restore(self.root)
        if restored:
            self.say(f"restored from an interrupted run: {', '.join(restored)}")
        old = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        results: list[Result] = []
        try:
            for num, mutants in chapters.items():
                targets = sorted({m.test or f"test_ch{num}" for m in mutants})
                self.say(f"chapter {num}: {len(mutants)} mutants; baseline build and tests of {', '.join(targets)}")
                for t in targets:
                    self.baseline(t)
                for m in mutants:
                    r = self.run_one(m, m.test or f"test_ch{num}")
                    results.append(r)
                    self.say(f"  [{m.id}] {r.status.upper():<14} {m.bug}" + (f"  ({r.note})" if r.note else "")
                             + (f"  {r.seconds:.0f}s" if r.seconds else ""))
                # Leave the build as the sources are: the last mutant's objects are stale now.
                for t in targets:
                    self.step(t, self.build_dir / f"mutate-{t}.log")
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        return results


def summarise(results: list[Result], out=sys.stdout) -> int:
    by_chapter: dict[str, list[Result]] = {}
    for r in results:
        by_chapter.setdefault(r.mutant.id.split(".")[0], []).append(r)
    print("\nchapter  mutants  killed  survived  not applicable  build error  kill rate", file=out)
    bad = 0
    for ch, rs in sorted(by_chapter.items()):
        c = {s: sum(r.status == s for r in rs) for s in ("killed", "survived", "not applicable", "build error")}
        tried = c["killed"] + c["survived"]
        rate = f"{100.0 * c['killed'] / tried:.0f}%" if tried else "-"
        print(f"{ch:>7}  {len(rs):>7}  {c['killed']:>6}  {c['survived']:>8}  {c['not applicable']:>14}  "
              f"{c['build error']:>11}  {rate:>9}", file=out)
        bad += len(rs) - c["killed"]
    for r in results:
        if r.status != "killed":
            print(f"{r.status.upper()}: [{r.mutant.id}] {r.mutant.bug} -- {r.mutant.file}"
                  + (f" ({r.note})" if r.note else ""), file=out)
    total = len(results)
    killed = sum(r.status == "killed" for r in results)
    print(f"\n{killed} of {total} mutants killed" + ("" if bad == 0 else f"; {bad} not killed"), file=out)
    return 0 if bad == 0 and total > 0 else 1


def step_main(spec_json: str) -> int:
    """The wrapped step: build, then test, output to the log; BUILD_FAILED if the build failed."""
    spec = json.loads(spec_json)
    with open(spec["log"], "w") as log:
        r = subprocess.run(spec["build"], stdout=log, stderr=subprocess.STDOUT, cwd=spec["cwd"])
        if r.returncode != 0:
            return BUILD_FAILED
        test = spec["test"]
        if isinstance(test, dict):
            test = [str(find_test_binary(pathlib.Path(test["build_dir"]), test["binary_of"])), "--color_output=no"]
        log.flush()
        try:
            return subprocess.run(test, stdout=log, stderr=subprocess.STDOUT, cwd=spec["cwd"],
                                  timeout=spec["timeout"]).returncode
        except subprocess.TimeoutExpired:
            print(f"\nTIMEOUT after {spec['timeout']} s", file=log)
            return 124


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--step"]:
        return step_main(argv[1])
    ap = argparse.ArgumentParser(description="Plant derivation bugs one at a time and see whether the tests catch them.")
    ap.add_argument("chapters", nargs="*", help="chapter numbers (default: every tools/mutants/chNN.txt)")
    ap.add_argument("--mutants-dir", default=str(ROOT / "tools" / "mutants"))
    ap.add_argument("--root", default=str(ROOT), help="the source tree the mutants' paths are relative to")
    ap.add_argument("--build-dir", default=None, help="default: <root>/build (configured with the default preset)")
    ap.add_argument("--only", action="append", default=[], help="run only these mutant ids (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and whether each applies; build nothing")
    ap.add_argument("--restore", action="store_true", help="restore files left mutated by a killed run, then exit")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per test run (a timeout kills the mutant)")
    ap.add_argument("--build-cmd", default=None, help="(for the runner's own test) build command; {target} is replaced")
    ap.add_argument("--test-cmd", default=None, help="(for the runner's own test) test command; {target} is replaced")
    a = ap.parse_args(argv)

    root = pathlib.Path(a.root).resolve()
    build_dir = pathlib.Path(a.build_dir).resolve() if a.build_dir else root / "build"
    wrap = shlex.split(os.environ.get("COURSE_MUTATE_WRAP", ""))
    mk = lambda tmpl: (lambda target: shlex.split(tmpl.replace("{target}", target))) if tmpl else None
    runner = Runner(root, build_dir, wrap, a.timeout, mk(a.build_cmd), mk(a.test_cmd))
    if a.restore:
        restored = runner.journal.restore(root)
        print("restored: " + (", ".join(restored) if restored else "nothing to restore"))
        return 0

    mdir = pathlib.Path(a.mutants_dir)
    if a.chapters:
        nums = []
        for c in a.chapters:
            if not re.fullmatch(r"\d{1,2}", c):
                print(f"mutate: expected a chapter number, got '{c}'", file=sys.stderr)
                return 2
            nums.append(f"{int(c):02d}")
    else:
        nums = sorted(p.stem[2:] for p in mdir.glob("ch[0-9][0-9].txt"))
    chapters: dict[str, list[Mutant]] = {}
    for num in nums:
        path = mdir / f"ch{num}.txt"
        if not path.exists():
            print(f"mutate: no mutant list {path}", file=sys.stderr)
            return 2
        try:
            ms = parse_mutants(path)
        except ListError as e:
            print(f"mutate: {e}", file=sys.stderr)
            return 2
        if a.only:
            ms = [m for m in ms if m.id in a.only]
        if ms:
            chapters[num] = ms

    if a.list:
        for num, ms in chapters.items():
            for m in ms:
                p = root / m.file
                n = p.read_text(encoding="utf-8").count(m.original) if p.is_file() else 0
                state = "ok" if n == 1 else ("NOT FOUND" if n == 0 else f"AMBIGUOUS ({n}x)")
                print(f"[{m.id}] {state:<10} {m.file}: {m.bug}")
        return 0
    if not chapters:
        print("mutate: no mutants selected", file=sys.stderr)
        return 2
    if not a.build_cmd and not (build_dir / "CMakeCache.txt").exists():
        print(f"mutate: configure first: cmake --preset default (no {build_dir}/CMakeCache.txt)", file=sys.stderr)
        return 2
    try:
        results = runner.run(chapters)
    except KeyboardInterrupt:
        print("\nmutate: interrupted; the mutated file was restored", file=sys.stderr)
        return 130
    except (RuntimeError, FileNotFoundError) as e:
        print(f"mutate: {e}", file=sys.stderr)
        return 2
    return summarise(results)


if __name__ == "__main__":
    sys.exit(main())
