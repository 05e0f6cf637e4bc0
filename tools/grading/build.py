"""Build a submission from prebuilt course objects: only the student's chNN_*.cpp are compiled.

The student's objects never enter a test executable. remote_objects() generates, from the exercise
headers, a proxy for every exercise function and a dispatcher (remote.py, remote.hpp):
trusted_test     test_chNN from the prebuilt test objects with the proxies in place of any
                 exercise code (the same executable for every student: linked once per build);
link_worker      the student's worker: the dispatcher, the student's objects (or the stubs), and
                 libcourse_common.a; it runs in the sandbox and answers the test's remote calls.

compile_student  one exercise source -> object, contained (sandbox.run), then two checks:
                 every header it included is a course or system header (-MD), and every global
                 symbol it defines lies in its chapter's namespace course::chNN (it cannot replace
                 a course function, operator new, exit(), or a Boost.Test function).
link_chapter     test_chNN from the prebuilt test objects, course_test_main, the result hook,
                 libcourse_common.a (whole archive, so the course's own definitions always win),
                 the student's objects, and the course stub object for each file that failed.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import threading

from . import remote, sandbox
from .course import HEADER_DIR, Chapter, Course, ROOT, _split_command

HOOK_SOURCE = ROOT / "tools/grading/result_hook.cpp"
# Eigen-heavy sources take a minute of CPU at -O3; a loaded machine stretches the wall clock.
COMPILE_LIMITS = sandbox.Limits(wall=900, cpu=600, memory_mb=4096, nproc=32, fsize_mb=256,
                                stack_mb=64)


def compiler_cache(course: Course) -> dict | None:
    """ccache settings for student compiles, or None without ccache. The cache lives in the
    build directory, writable only by the compile group (sandbox.COMPILE_GID), never by a test
    process: a resubmitted or duplicate file is not compiled again. COURSE_GRADE_NO_CCACHE=1
    turns it off (e.g. to time cold compiles)."""
    if os.environ.get("COURSE_GRADE_NO_CCACHE") or not shutil.which("ccache"):
        return None
    d = course.state / "ccache"
    d.mkdir(parents=True, exist_ok=True)
    uid, gid = sandbox.sandbox_ids(0, "compile")
    if uid != os.geteuid():
        if d.stat().st_gid != gid:   # made by an older grader with another group: hand it over
            for root, dirs, files in os.walk(d):
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), -1, gid)
        os.chown(d, 0, gid)
        os.chmod(d, 0o2770)
        os.chmod(d.parent, 0o755)
    # pch_defines,time_macros: without them ccache refuses a compile that uses the course's
    # precompiled header (-include in the compile command).
    return {"CCACHE_DIR": str(d), "CCACHE_UMASK": "007", "CCACHE_NOHASHDIR": "1",
            "CCACHE_MAXSIZE": "2G", "CCACHE_SLOPPINESS": "pch_defines,time_macros"}
FORBIDDEN_ANYWHERE = ("boost::unit_test", "boost::test_tools", "boost::execution", "boost::debug",
                      "boost::runtime")


def first_errors(text: str, lines: int = 25) -> str:
    """The first compiler errors, not the whole cascade."""
    out = text.splitlines()
    first = next((i for i, l in enumerate(out) if ": error:" in l or ": fatal error:" in l), 0)
    start = max(0, first - 3)
    chunk = out[start:start + lines]
    if len(out) > start + lines:
        chunk.append(f"[... {len(out) - start - lines} more lines ...]")
    return "\n".join(chunk)


def hook_object(course: Course) -> pathlib.Path:
    """tools/grading/result_hook.cpp compiled once with course_test_main's flags (cached)."""
    flags = course.test_main_flags
    key = hashlib.sha256(HOOK_SOURCE.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
    cache = course.state
    obj = cache / f"result_hook-{key}.o"
    if not obj.exists():
        cache.mkdir(exist_ok=True)
        tmp = obj.with_suffix(".tmp.o")
        p = subprocess.run(flags + ["-o", str(tmp), "-c", str(HOOK_SOURCE)], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise SystemExit(f"cannot compile {HOOK_SOURCE}:\n{p.stderr}")
        os.replace(tmp, obj)
    return obj


def forced_includes(command: list[str]) -> set[str]:
    """The files the compile command itself includes (-include FILE): the course's precompiled
    header, which is in the build directory."""
    return {os.path.realpath(command[i + 1]) for i, a in enumerate(command[:-1]) if a == "-include"}


def _check_dependencies(depfile: pathlib.Path, ch: Chapter, course: Course) -> str:
    """'' when every included file is allowed, else the reason."""
    text = depfile.read_text(errors="replace").replace("\\\n", " ")
    deps = text.split(":", 1)[1].split() if ":" in text else []
    allowed = course.allowed_include_roots()
    forced = forced_includes(ch.compile_command)
    for d in deps:
        if os.path.basename(d) == ch.file and "/" not in d.replace("./", ""):
            continue
        real = os.path.realpath(d)
        if real in forced:
            continue
        if not any(real.startswith(r) for r in allowed):
            return (f"it includes {d}, which is not a course header (exercises/include, "
                    f"common/include) or a system header; the grader uses only the course's own "
                    f"headers")
    return ""


def _check_symbols(obj: pathlib.Path, chapter: str) -> str:
    """'' when the object only defines symbols of namespace course::chNN (plus inline/template
    instantiations and type info, which the course's own definitions override), else the reason."""
    raw = subprocess.run(["nm", "-g", "--defined-only", "-P", str(obj)], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    dem = subprocess.run(["nm", "-g", "--defined-only", "-P", "-C", str(obj)], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    own = f"course::ch{chapter}::"
    bad = []
    for r, d in zip(raw, dem):
        mangled, kind = r.split()[0], r.split()[1]
        name = re.sub(r" [A-Za-z] [0-9a-f]*( [0-9a-f]*)?$", "", d)
        if any(f in name for f in FORBIDDEN_ANYWHERE):
            bad.append(name)
        elif name.startswith(own) or name.startswith(f"typeinfo for {own}") or \
                name.startswith(f"typeinfo name for {own}") or name.startswith(f"vtable for {own}"):
            continue
        elif kind in ("W", "V", "u") and (mangled.startswith("_Z") or mangled.startswith("DW.ref.")):
            continue  # an inline function or template instantiation: the course's copy wins
        else:
            bad.append(name)
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        return (f"it defines {shown} outside its namespace course::ch{chapter}; a submission may "
                f"only define its exercises (and helpers in course::ch{chapter} or an anonymous "
                f"namespace)")
    return ""


# {source path: (wall, cpu seconds)} of each compile that ran (a memoised file has none).
COMPILE_TIMES: dict[str, tuple] = {}
_MEMO: dict[str, tuple] = {}
_MEMO_LOCKS: dict[str, threading.Lock] = {}
_MEMO_GUARD = threading.Lock()


def compile_student(course: Course, ch: Chapter, source: pathlib.Path, work: pathlib.Path,
                    slot: int, memo_dir: pathlib.Path | None = None) -> tuple[pathlib.Path | None, str]:
    """compile_one, once per distinct file content in a run: a byte-identical file of another
    submission (a copy, or an unmodified stub) reuses the first one's object and verdict."""
    if memo_dir is None:
        return compile_one(course, ch, source, work, slot)
    key = hashlib.sha256(ch.file.encode() + b"\0" + source.read_bytes()).hexdigest()
    with _MEMO_GUARD:
        lock = _MEMO_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in _MEMO:
            obj, why = compile_one(course, ch, source, work, slot)
            if obj is not None:
                kept = memo_dir / f"{key[:20]}.o"
                shutil.copyfile(obj, kept)
                obj = kept
            _MEMO[key] = (obj, why)
        return _MEMO[key]


def compile_paths(command: list[str]) -> tuple[str, ...]:
    """What a compile reads besides /usr: the -I / -isystem directories and the directories of
    -include files (the course's public headers and precompiled header), bound read-only into its
    sandbox; nothing else of the course (no solutions, no tests, no build outputs)."""
    out = []
    for i, a in enumerate(command):
        for flag in ("-I", "-isystem", "-include"):
            if a == flag and i + 1 < len(command):
                path = command[i + 1]
            elif flag == "-I" and a.startswith("-I") and len(a) > 2:
                path = a[2:]
            else:
                continue
            path = os.path.realpath(path)
            if flag == "-include":
                path = os.path.dirname(path)
            if not path.startswith("/usr/") and path not in out:
                out.append(path)
    return tuple(out)


def compile_one(course: Course, ch: Chapter, source: pathlib.Path, work: pathlib.Path,
                slot: int) -> tuple[pathlib.Path | None, str]:
    """Compile one exercise source. Returns (object, '') or (None, reason with the first errors)."""
    cdir = pathlib.Path(sandbox.make_scratch(str(work / f"compile-{ch.num}"), slot, "compile"))
    src = cdir / ch.file
    shutil.copyfile(source, src)
    os.chmod(src, 0o644)
    obj_name, dep_name = ch.stem + ".o", ch.stem + ".d"
    # First only the list of included files (cheap): a forbidden include is refused before the
    # compiler has turned it into an object.
    pre = sandbox.run(ch.compile_command + ["-fdiagnostics-color=never", "-M", "-MF", dep_name,
                                            ch.file], str(cdir), COMPILE_LIMITS, slot=slot,
                      output_cap=200000, role="compile", ro_paths=compile_paths(ch.compile_command))
    if pre.exit_code == 0:
        why = _check_dependencies(cdir / dep_name, ch, course)
        if why:
            shutil.rmtree(cdir, ignore_errors=True)
            return None, f"{ch.file} is not accepted: {why}"
    argv = ch.compile_command + ["-fdiagnostics-color=never", "-MD", "-MF", dep_name,
                                 "-o", obj_name, "-c", ch.file]
    cache = compiler_cache(course)
    if cache:
        argv = ["ccache"] + argv
    out = sandbox.run(argv, str(cdir), COMPILE_LIMITS, slot=slot, output_cap=200000, role="compile",
                      extra_env=cache, ro_paths=compile_paths(ch.compile_command))
    COMPILE_TIMES[str(source)] = (round(out.wall, 1), round(out.cpu, 1))
    if out.exit_code != 0:
        why = out.describe(COMPILE_LIMITS)
        if why:
            return None, f"compiling {ch.file} hit a limit ({why})\n{first_errors(out.output)}"
        return None, f"{ch.file} does not compile:\n{first_errors(out.output)}"
    obj = work / f"{ch.stem}.o"
    shutil.copyfile(cdir / obj_name, obj)   # root-owned from here on
    deps = work / dep_name
    shutil.copyfile(cdir / dep_name, deps)
    shutil.rmtree(cdir, ignore_errors=True)
    why = _check_dependencies(deps, ch, course)
    if not why:
        why = _check_symbols(obj, ch.num)
    if why:
        return None, f"{ch.file} is not accepted: {why}"
    return obj, ""


REMOTE_SOURCE = ROOT / "tools/grading/remote.hpp"


def remote_objects(course: Course) -> tuple[pathlib.Path, pathlib.Path]:
    """(proxies.o, worker.o) generated from the exercise headers and compiled with the exercise
    files' flags, cached in <build>/grading/remote-<hash>/ (a changed header or flag recompiles)."""
    headers = remote.parse_headers(course.root / HEADER_DIR)
    source = remote.generate(headers)
    flags = list(course.chapters[0].compile_command) + ["-I", str(REMOTE_SOURCE.parent)]
    key = hashlib.sha256(source.encode() + REMOTE_SOURCE.read_bytes() + " ".join(flags).encode()
                         ).hexdigest()[:16]
    d = course.state / f"remote-{key}"
    objs = (d / "proxies.o", d / "worker.o")
    with _REMOTE_LOCK:
        if all(o.exists() for o in objs):
            return objs
        d.mkdir(parents=True, exist_ok=True)
        src = d / "remote_gen.cpp"
        src.write_text(source)
        for obj, side in zip(objs, ("PROXIES", "WORKER")):
            tmp = obj.with_suffix(".tmp.o")
            p = subprocess.run(flags + [f"-DCOURSE_GRADING_{side}", "-fdiagnostics-color=never",
                                        "-o", str(tmp), "-c", str(src)], capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"the grader's remote calls generated from {HEADER_DIR}/*.hpp do not "
                                 f"compile ({src}); see docs/instructors.md, 'Remote calls':\n"
                                 f"{first_errors(p.stderr)}")
            os.replace(tmp, obj)
    return objs


_REMOTE_LOCK = threading.Lock()
_TRUSTED_LOCK = threading.Lock()


def trusted_test(course: Course, ch: Chapter, proxies: pathlib.Path, hook: pathlib.Path) -> tuple[pathlib.Path | None, str]:
    """test_chNN with proxies for every exercise function (cached beside proxies.o)."""
    exe = proxies.parent / f"test_ch{ch.num}"
    with _TRUSTED_LOCK:
        if exe.exists() and exe.stat().st_mtime >= ch.test_exe.stat().st_mtime:
            return exe, ""
        tmp = exe.with_name(exe.name + ".tmp")
        ok, err = link_chapter(course, ch, [proxies], tmp, hook)
        if not ok:
            return None, err
        os.replace(tmp, exe)
        return exe, ""


_CHAPTER_RE = re.compile(r"\bcourse::ch(\d\d)::")
_SYMBOL_CHAPTERS: dict = {}


def _chapters_named(path: pathlib.Path, undefined: bool) -> set[str]:
    """The chapter numbers NN of the course::chNN:: symbols `path` defines (or, undefined=True,
    needs from elsewhere), from nm; remembered per (path, size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, undefined)
    if key not in _SYMBOL_CHAPTERS:
        p = subprocess.run(["nm", "-C", "--undefined-only" if undefined else "--defined-only", str(path)],
                           capture_output=True, text=True, errors="replace")
        _SYMBOL_CHAPTERS[key] = set(_CHAPTER_RE.findall(p.stdout))
    return _SYMBOL_CHAPTERS[key]


def worker_objects(course: Course, ch: Chapter, objects: dict) -> list[pathlib.Path]:
    """The objects of chapter ch's worker: the student's object for each chapter whose code
    test_chNN runs (its own, and those its tests call: chapter 9's use chapter 8's VAE), and for
    each chapter a student object needs (a helper of chapter 3 called from chapter 14's file),
    and so on; the stub for every other chapter. So a file of chapter 8 that crashes, exits or
    writes into every descriptor from a static constructor costs chapter 8's points (and those of
    the chapters that call it), never chapter 1's. test_chNN is the course's own test program,
    linked against the solution library: the linker took from it exactly the chapters it uses."""
    by_num = {c.num: c.file for c in course.chapters}
    uses = _chapters_named(ch.test_exe, undefined=False) if ch.test_exe else set()
    need, todo = set(), [ch.num] + sorted(uses)
    while todo:
        num = todo.pop()
        if num in need or num not in by_num:
            continue
        need.add(num)
        obj = objects.get(by_num[num])
        if obj is not None:
            todo += sorted(_chapters_named(obj, undefined=True))
    files = {by_num[n] for n in need}
    return [o if f in files else next(c.stub_object for c in course.chapters if c.file == f)
            for f, o in objects.items()]


_DIGESTS: dict = {}


def _digest(path: pathlib.Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime): the stub objects recur for every
    submission."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


def link_worker(course: Course, objects: list[pathlib.Path], worker: pathlib.Path,
                exe: pathlib.Path, memo_dir: pathlib.Path | None = None) -> tuple[bool, str]:
    """The student's worker: worker.o (dispatcher and main), one object per chapter file, the
    course's common library and the system libraries of a test's link line (no test objects, no
    test framework, no solution library). memo_dir: a worker linked in this run from the same
    objects (byte for byte: copies of one file, unmodified stubs) is reused, not linked again."""
    if memo_dir is None:
        return _link_worker(course, objects, worker, exe)
    key = hashlib.sha256(" ".join([_digest(worker)] + [_digest(o) for o in objects]).encode()).hexdigest()
    kept = memo_dir / f"worker-{key[:20]}"
    with _MEMO_GUARD:
        lock = _MEMO_LOCKS.setdefault("worker" + key, threading.Lock())
    with lock:
        if not kept.exists():
            ok, err = _link_worker(course, objects, worker, exe)
            if not ok:
                return ok, err
            shutil.copyfile(exe, kept)
            os.chmod(kept, 0o755)
            return ok, err
    shutil.copyfile(kept, exe)
    os.chmod(exe, 0o755)
    return True, ""


def _link_worker(course: Course, objects: list[pathlib.Path], worker: pathlib.Path,
                 exe: pathlib.Path) -> tuple[bool, str]:
    ch = course.chapters[0]
    out = []
    for t in _with_output(ch.link_line, exe):
        if (t.endswith(".o") and t != str(exe)) or re.search(r"libcourse_impl_\w+\.a$", t) or \
                "unit_test_framework" in t:
            continue
        if t.endswith("libcourse_common.a"):
            out += [str(worker)] + [str(o) for o in objects]
        out.append(t)
    return _link(out, ch, exe)


def _with_output(line: list[str], exe: pathlib.Path) -> list[str]:
    """A link line with its '-o X' replaced by '-o exe'."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "-o":
            out += ["-o", str(exe)]
            i += 2
        else:
            out.append(line[i])
            i += 1
    return out


def _link(cmd: list[str], ch: Chapter, exe: pathlib.Path) -> tuple[bool, str]:
    p = subprocess.run(cmd, cwd=ch.link_dir, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return False, first_errors(p.stderr + p.stdout, 15)
    os.chmod(exe, 0o755)
    return True, ""


def link_chapter(course: Course, ch: Chapter, objects: list[pathlib.Path], exe: pathlib.Path,
                 hook: pathlib.Path) -> tuple[bool, str]:
    """Link test_chNN against `objects` (one per chapter file: the student's or the stub)."""
    out, common = [], None
    for t in _with_output(ch.link_line, exe):
        if re.search(r"libcourse_impl_\w+\.a$", t):
            continue
        if t.endswith("libcourse_common.a"):
            common = t
        out.append(t)
    main_at = next(i for i, t in enumerate(out) if t.endswith("test_main.cpp.o"))
    extra = [str(hook)]
    if common:
        extra += ["-Wl,--whole-archive", common, "-Wl,--no-whole-archive"]
    extra += [str(o) for o in objects]
    out[main_at + 1:main_at + 1] = extra
    return _link(out, ch, exe)
