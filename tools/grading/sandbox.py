"""Run one untrusted command (a compile, or a student's worker) in a contained process.

Isolation comes from bubblewrap (Debian's `bubblewrap`, `bwrap`), the same in every mode:
- new user (where needed), mount, PID, IPC, network and UTS namespaces: the command sees a root
  made of /usr and /etc/ld.so.cache read-only, a private /proc, a minimal /dev, fresh size-limited
  tmpfs mounts on /tmp, /dev/shm and /run (so /run/lock), /etc/alternatives, its own scratch (a size-limited tmpfs
  for a test; the compile directory for a compile) and the few paths it needs read-only (the
  worker executable; for a compile the course's public headers and precompiled header, and the
  compiler cache read-write). Not the solutions, the solution library, grades/, other slots, the
  grader, or the network. No SysV shared memory or message queue (a seccomp filter: shmget and
  msgget fail); other SysV IPC objects and files in /tmp, /dev/shm, /run/lock die with it;
  so does every process it started (a detached daemon too: the namespace's init is bwrap's).
- as root, the command first drops to a private unprivileged uid per worker slot (`setpriv`,
  no capabilities, no new privileges) and bubblewrap runs unprivileged inside a user namespace;
  where the kernel refuses user namespaces to that uid, bubblewrap runs as root and drops to the
  private uid inside. RLIMIT_NPROC, which counts per user, then limits exactly this command.
- everywhere: setrlimit CPU time, address space, processes, file size, stack, no core files, 64
  open files; a fresh scratch as cwd, HOME and TMPDIR; a minimal environment; OMP_NUM_THREADS.
- a watchdog adds up the CPU time and the resident memory of the command's whole process tree
  (every descendant of the bwrap process, 4 times a second) and kills the tree past the CPU or
  memory limit, and past the wall-clock limit: per-process rlimits alone let N processes use N
  times the limit. (Accounting, not cgroups: see docs/instructors.md.)
isolation() names the mode: "bubblewrap" (the above), or, where the host allows no namespaces,
"uid-only" (root: private uid and limits, but the file system and network are visible) or "none"
(not root: limits only). The grader refuses those two unless told --allow-weak-sandbox. The uid
switch of "uid-only" needs no namespace and no helper program: the child drops to the private uid
itself (setgroups, setresgid, setresuid, then no_new_privs) before it runs the command.
COURSE_GRADE_ISOLATION=uid-only|none (tests) forces the no-isolation path; it can only take
isolation away, never skip it, and as root it still switches uid (root always can).
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import pathlib
import shlex
import resource
import shutil
import signal
import subprocess
import threading
import time

# Private uids for the sandboxed processes, one per worker slot (no passwd entry needed). Each
# running grader takes a range of its own (a lock file held for its lifetime): two graders on one
# machine with the same uids would count each other's processes and kill each other's commands.
_UID_LOCK = None


def _uid_base() -> int:
    global _UID_LOCK
    if "COURSE_GRADE_UID_BASE" in os.environ:
        # (Tests hand the grader their own locked range.) A uid below 1000 could be a system
        # account's, 0 is root itself: refused, so the variable can never weaken the sandbox.
        value = os.environ["COURSE_GRADE_UID_BASE"]
        if not value.isdigit() or not 1000 <= int(value) <= 2**31 - 1024:
            raise SystemExit(f"COURSE_GRADE_UID_BASE={value!r}: expected a number from 1000 to "
                             f"{2**31 - 1024} (the first of the sandbox's private uids)")
        return int(value)
    if os.geteuid() != 0:
        return 0      # not root: commands run as the grader's own uid, no range needed
    import fcntl
    for n in range(64):
        f = open(f"/tmp/.course-grade-uids-{n}.lock", "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _UID_LOCK = f
        # (From 62000: graders of older versions of the course used 61000 + slot, unlocked.)
        return 62000 + 256 * n
    raise SystemExit("more than 64 graders are running on this machine")


UID_BASE = _uid_base()

SIGNAL_REASONS = {
    signal.SIGSEGV: "crashed: segmentation fault (SIGSEGV): an invalid memory access, or a stack "
                    "overflow from too deep recursion",
    signal.SIGABRT: "crashed: aborted (SIGABRT): abort(), a failed assert, or std::terminate",
    signal.SIGFPE: "crashed: arithmetic exception (SIGFPE), e.g. an integer division by zero",
    signal.SIGILL: "crashed: illegal instruction (SIGILL)",
    signal.SIGBUS: "crashed: bus error (SIGBUS)",
    signal.SIGXCPU: "time or memory limit: CPU time limit exceeded (SIGXCPU)",
    signal.SIGXFSZ: "output limit: wrote more than the file-size limit (SIGXFSZ)",
    signal.SIGKILL: "time or memory limit: killed (SIGKILL)",
}


@dataclasses.dataclass
class Limits:
    wall: float = 60.0        # seconds of wall-clock time, then SIGKILL
    cpu: int = 60             # seconds of CPU time (RLIMIT_CPU), then SIGXCPU
    memory_mb: int = 2048     # address space (RLIMIT_AS)
    nproc: int = 16           # processes and threads of the sandbox uid (RLIMIT_NPROC)
    fsize_mb: int = 64        # largest file it may write (RLIMIT_FSIZE), stdout included
    stack_mb: int = 64        # RLIMIT_STACK
    threads: int = 1          # OMP_NUM_THREADS
    scratch_mb: int = 64      # the size of a test's scratch (a tmpfs)


@dataclasses.dataclass
class Outcome:
    exit_code: int | None     # None when killed by a signal
    signal: int | None
    timed_out: bool           # killed by the wall-clock limit or the process tree's CPU limit
    wall: float
    cpu: float
    records: list[str]        # lines of the result channel that carry the nonce (nonce removed)
    output: str               # stdout + stderr, truncated (untrusted: shown, never believed)
    tree_cpu_exceeded: bool = False   # killed because its processes together used > limits.cpu
    tree_memory_exceeded: bool = False   # ... or held more than limits.memory_mb resident

    def describe(self, limits: Limits) -> str:
        """Why the process did not finish normally, or '' when it exited on its own."""
        if self.tree_memory_exceeded:
            return (f"time or memory limit: its processes together held more than "
                    f"{limits.memory_mb:g} MiB of memory")
        if self.tree_cpu_exceeded:
            return (f"time or memory limit: its processes together used more than {limits.cpu:g} s "
                    f"of CPU time")
        if self.timed_out:
            return f"time or memory limit: killed after {limits.wall:g} s of wall-clock time"
        if self.signal is not None:
            return SIGNAL_REASONS.get(self.signal, f"crashed: killed by signal {self.signal}")
        return ""


class Progress:
    """Where a batch of test cases is: the graded test writes a start mark on its result channel
    as each test case begins (result_hook.cpp), and the worker's watchdog starts that case's
    wall-clock and CPU budget afresh from there. So one worker serves a chapter's test cases one
    after the other, each within the per-case limits, as if each had a process of its own."""
    def __init__(self):
        self._lock = threading.Lock()
        self.generation = 0
        self.current = ""

    def mark(self, case: str) -> None:
        with self._lock:
            self.generation += 1
            self.current = case


_ISOLATION: str | None = None
_BWRAP_ROOT_INSIDE = False   # root without user namespaces: bwrap as root, setpriv inside
_LIVE: set[int] = set()   # process groups of the commands running now
# What isolation() found missing, for the refusal message.
MISSING: list[str] = []


def kill_all() -> None:
    """Kill every contained command still running (the grader is being interrupted)."""
    for pgid in list(_LIVE):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _probe(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return "" if p.returncode == 0 else (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)


def isolation() -> str:
    """'bubblewrap', 'uid-only' or 'none' (see the module doc); probed once."""
    global _ISOLATION, _BWRAP_ROOT_INSIDE
    if _ISOLATION is not None:
        return _ISOLATION
    root = os.geteuid() == 0
    # Tests: pretend the host has no namespaces. Only ever weakens towards what such a host
    # gives: as root that is still the private uid (root can always switch uid).
    forced = os.environ.get("COURSE_GRADE_ISOLATION")
    if forced is not None:
        if forced not in ("uid-only", "none"):
            raise SystemExit(f"COURSE_GRADE_ISOLATION={forced!r}: the only values are 'uid-only' "
                             f"and 'none' (pretend the host cannot isolate); unset it to isolate")
        MISSING.append(f"COURSE_GRADE_ISOLATION={forced}")
        _ISOLATION = "uid-only" if root else "none"
        return _ISOLATION
    if not shutil.which("bwrap"):
        MISSING.append("bubblewrap is not installed (Debian package bubblewrap)")
    elif root and not shutil.which("setpriv"):
        MISSING.append("setpriv is not installed (Debian package util-linux)")
    else:
        why = _probe(_prefix(UID_BASE, UID_BASE, "/", (), (), None) + ["/bin/true"])
        if not why:
            _ISOLATION = "bubblewrap"
            return _ISOLATION
        if root:
            _BWRAP_ROOT_INSIDE = True
            why2 = _probe(_prefix(UID_BASE, UID_BASE, "/", (), (), None) + ["/bin/true"])
            if not why2:
                _ISOLATION = "bubblewrap"
                return _ISOLATION
            _BWRAP_ROOT_INSIDE = False
            why = f"{why}; as root: {why2}"
        MISSING.append(f"bubblewrap cannot create namespaces here ({why}): a container without "
                       f"user namespaces or CAP_SYS_ADMIN?")
    _ISOLATION = "uid-only" if root else "none"
    return _ISOLATION


_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_NO_NEW_PRIVS = 38


def _drop_privileges(uid: int, gid: int) -> None:
    """In the child, before exec (uid-only mode): become uid/gid with no supplementary groups.
    Leaving uid 0 for a non-zero uid clears every capability; no_new_privs makes a set-user-ID
    program (su, mount, ...) or a file capability unable to give any back. No namespace and no
    helper program involved: root can always do this."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise OSError("the uid switch did not take")


# A seccomp filter bubblewrap installs for the command (--seccomp FD): shmget and msgget fail
# with EPERM. SysV shared memory and message queues hold memory that no process's resident set
# shows, so the tree's memory accounting would not see it (the sandbox's IPC namespace allows
# 4096 segments of any size); numerical code has no use for them. A system call of another ABI
# (i386 or x32 on x86_64, which would reach them under other numbers) fails the same way.
# Classic BPF over struct seccomp_data {int nr; u32 arch; ...}.
_SECCOMP_ARCH = {"x86_64": (0xC000003E, (29, 68)), "aarch64": (0xC00000B7, (194, 186))}


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The filter for this machine's architecture (None where it is not known: no filter)."""
    import platform
    import struct
    known = _SECCOMP_ARCH.get(machine or platform.machine())
    if known is None:
        return None
    audit_arch, (shmget, msgget) = known
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1

    def insn(code, jt, jf, k):
        return struct.pack("=HBBI", code, jt, jf, k)
    return b"".join([
        insn(ld_abs, 0, 0, 4),             # 0: A = arch
        insn(jeq, 1, 0, audit_arch),       # 1: native ABI: go on at 3
        insn(ret, 0, 0, eperm),            # 2: another ABI: refused
        insn(ld_abs, 0, 0, 0),             # 3: A = nr
        insn(jeq, 3, 0, shmget),           # 4: -> 8
        insn(jeq, 2, 0, msgget),           # 5: -> 8
        insn(jge, 1, 0, 0x40000000),       # 6: x32 numbers -> 8
        insn(ret, 0, 0, allow),            # 7
        insn(ret, 0, 0, eperm),            # 8
    ])


def _setpriv(uid: int, gid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


def _prefix(uid: int, gid: int, cwd: str, ro: tuple, rw: tuple, scratch_mb: int | None) -> list[str]:
    """The command line that runs a command contained (bubblewrap mode). cwd: a size-limited tmpfs
    when scratch_mb is given, else bound read-write; ro / rw: host paths bound at the same place."""
    root = os.geteuid() == 0
    mb = 1 << 20
    cmd = []
    if root and not _BWRAP_ROOT_INSIDE:
        cmd += _setpriv(uid, gid)
    cmd += ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if not (root and _BWRAP_ROOT_INSIDE):
        cmd += ["--unshare-user"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for d in ("bin", "lib", "lib64", "sbin"):
        target = os.path.join("/", d)
        if os.path.islink(target):
            cmd += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            cmd += ["--ro-bind", target, target]
    # The dynamic loader's cache, and Debian's alternatives (/usr/bin/c++ -> /etc/alternatives/c++).
    for path in ("/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(16 * mb), "--tmpfs", "/tmp", "--size", str(16 * mb), "--tmpfs", "/dev/shm",
            "--size", str(1 * mb), "--tmpfs", "/run", "--dir", "/run/lock", "--dir", "/var/tmp"]
    for path in ro:
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    for path in rw:
        if os.path.exists(path):
            cmd += ["--bind", path, path]
    if scratch_mb is not None:
        cmd += ["--size", str(scratch_mb * mb), "--perms", "0700", "--tmpfs", cwd]
    elif cwd != "/":
        cmd += ["--bind", cwd, cwd]
    cmd += ["--chdir", cwd]
    if root and _BWRAP_ROOT_INSIDE:
        cmd += ["--"] + _setpriv(uid, gid)
    else:
        cmd += ["--"]
    return cmd


# Compiles run as uid UID_BASE + 100 + slot in group COMPILE_GID, which alone may write the
# compiler cache; test processes run as uid = gid = UID_BASE + slot and cannot touch it.
# The group is the same for every grader on the machine (they share the build's compiler cache).
COMPILE_GID = int(os.environ.get("COURSE_GRADE_COMPILE_GID", "60999"))


def sandbox_ids(slot: int, role: str = "test") -> tuple[int, int]:
    """(uid, gid) a sandboxed command of worker `slot` runs as; role is 'test' or 'compile'."""
    if os.geteuid() != 0 or isolation() == "none":
        return os.geteuid(), os.getegid()
    if role == "compile":
        return UID_BASE + 100 + slot, COMPILE_GID
    return UID_BASE + slot, UID_BASE + slot


def _user_process_count() -> int:
    """Processes and threads of this uid now (RLIMIT_NPROC counts threads too: the grader's own
    threads are most of them)."""
    uid, n = os.geteuid(), 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{d}/task"))
            except OSError:
                pass
    return n


_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_usage(root_pid: int) -> tuple[float, int]:
    """(CPU seconds, resident bytes) of `root_pid` and all its descendants (user + system time,
    reaped children's included), from /proc/<pid>/stat. A process that double-forks is reparented
    to the namespace's init, itself a descendant: nothing escapes the count."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is field 3 (state): ppid is field 4, utime..cstime 14-17, rss 24.
        procs[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]), int(fields[21]))
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    cpu = rss = 0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        if pid in procs:
            cpu += procs[pid][1]
            rss += procs[pid][2]
        todo += children.get(pid, [])
    return cpu / _TICK, rss * _PAGE


def tree_cpu_seconds(uid: int | None, session: int) -> float:
    """CPU seconds of every process owned by `uid` (or, when uid is None, in `session`)."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if uid is not None and os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if uid is None and int(fields[3]) != session:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / _TICK


def _pids_of(uid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    pids.append(int(name))
            except OSError:
                pass
    return pids


def clear_uid(uid: int, timeout: float = 10.0) -> list[int]:
    """Kill what is left of an earlier command of this private uid and wait until it is gone
    (a fork bomb's processes take a moment to die with their namespace). Without this, the next
    command of the same worker slot would inherit them: they count against its process limit and
    its process tree's CPU time. Returns the pids still alive after `timeout` (normally none)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = _pids_of(uid)
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


def make_scratch(path: str, slot: int, role: str = "test") -> str:
    """A fresh, empty directory owned by the sandbox identity of `slot` and `role`."""
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    uid, gid = sandbox_ids(slot, role)
    if uid != os.geteuid():
        os.chown(path, uid, gid)
    return path


def run(argv: list[str], cwd: str, limits: Limits, slot: int = 0, extra_env: dict | None = None,
        channel: bool = False, output_cap: int = 20000, role: str = "test",
        pass_fds: tuple = (), contained: bool = True, ro_paths: tuple = (),
        scratch_mb: int | None = None, cases: int = 1, progress: Progress | None = None) -> Outcome:
    """Run argv contained (see the module doc). With channel=True the command gets the result
    channel of tools/grading/result_hook.cpp, and Outcome.records holds what it wrote.
    pass_fds: descriptors the command inherits (closed here once it has started).
    contained=False: a trusted command (a graded test executable, course code only): the same
    limits, but no namespace and no uid switch.
    ro_paths: host paths the command may read (argv[0] always); scratch_mb: cwd is a fresh tmpfs
    of that size inside the sandbox (the host directory is not used), else cwd is bound.
    cases: how many test cases the command serves one after the other (the per-process CPU
    rlimit covers them all); progress: with channel=True, each test case's start mark is passed
    to it; without a channel (the worker), the watchdog's wall-clock and CPU limits count from
    the latest mark, so they hold per test case."""
    mode = isolation() if contained else "rlimits"
    uid, gid = sandbox_ids(slot, role) if contained else (os.geteuid(), os.getegid())
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": cwd, "TMPDIR": cwd, "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": str(limits.threads), "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OMP_THREAD_LIMIT": str(limits.threads)}
    env.update(extra_env or {})
    nonce = os.urandom(16).hex()
    extra_fds, pass_fds = tuple(pass_fds), tuple(pass_fds)
    nonce_r = nonce_w = result_r = result_w = -1
    if channel:
        nonce_r, nonce_w = os.pipe()
        result_r, result_w = os.pipe()
        os.write(nonce_w, nonce.encode())
        os.close(nonce_w)
        pass_fds = pass_fds + (nonce_r, result_w)
        env["COURSE_GRADE_CHANNEL"] = f"{nonce_r},{result_w}"

    private_uid = uid != os.geteuid()
    # bwrap and its init count as processes too.
    # Not root: RLIMIT_NPROC counts every process of the grader's uid, so the limit is what runs
    # now plus this command's share, plus room for what the other worker slots start meanwhile
    # (weaker than a private uid: a fork bomb is then stopped by the tree's CPU limit).
    nproc = limits.nproc + 2 if private_uid else _user_process_count() + 3 * (limits.nproc + 8)
    mb = 1 << 20

    def preexec():
        def lim(what, value):
            resource.setrlimit(what, (value, value))
        # SIGXCPU at the soft limit (reported as a CPU time limit), SIGKILL a second later.
        cpu = int(limits.cpu) * max(1, cases) + max(1, cases) - 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        lim(resource.RLIMIT_AS, limits.memory_mb * mb)
        lim(resource.RLIMIT_FSIZE, limits.fsize_mb * mb)
        lim(resource.RLIMIT_STACK, limits.stack_mb * mb)
        lim(resource.RLIMIT_CORE, 0)
        lim(resource.RLIMIT_NPROC, nproc)
        lim(resource.RLIMIT_NOFILE, 64 + len(pass_fds))
        if mode == "uid-only" and private_uid:
            _drop_privileges(uid, gid)

    if mode == "bubblewrap":
        # bwrap's init is PID 1 of the new namespace; a signal death of the command comes back
        # as exit status 128 + signal.
        rw = tuple(v for k, v in (extra_env or {}).items() if k == "CCACHE_DIR")
        if scratch_mb is not None:
            # A test's worker sees neither its host path nor the grader's directories: its
            # scratch is /home/<student>/scratch, the executable /opt/course-worker.
            inner = "/home/" + "/".join(pathlib.PurePath(cwd).parts[-2:])
            env.update(HOME=inner, TMPDIR=inner)
            cmd = _prefix(uid, gid, inner, tuple(ro_paths), rw, scratch_mb)
            at = cmd.index("--chdir") + 2   # bwrap's own options end there
            cmd[at:at] = ["--ro-bind", argv[0], "/opt/course-worker"]
            cmd += ["/opt/course-worker"] + list(argv[1:])
        else:
            ro = tuple(ro_paths) + ((argv[0],) if os.path.isabs(argv[0]) else ())
            cmd = _prefix(uid, gid, cwd, ro, rw, scratch_mb) + argv
    else:   # uid-only: preexec drops to the private uid (_drop_privileges); none: as is
        cmd = list(argv)

    seccomp_fd = -1
    program = seccomp_program() if mode == "bubblewrap" else None
    if program is not None:
        seccomp_fd, w = os.pipe()
        os.write(w, program)
        os.close(w)
        at = cmd.index("bwrap") + 1
        cmd[at:at] = ["--seccomp", str(seccomp_fd)]
        pass_fds = pass_fds + (seccomp_fd,)

    owner = uid if private_uid else None
    if owner is not None:
        clear_uid(owner)
    out_path = os.path.join(os.path.dirname(cwd.rstrip("/")) or ".",
                            f".{os.path.basename(cwd.rstrip('/'))}.out")
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out_fd,
                                stderr=out_fd, pass_fds=pass_fds, close_fds=True,
                                start_new_session=True, preexec_fn=preexec)
    finally:
        os.close(out_fd)
        for fd in extra_fds:
            os.close(fd)
        if seccomp_fd >= 0:
            os.close(seccomp_fd)
        if channel:
            os.close(nonce_r)
            os.close(result_w)
    _LIVE.add(proc.pid)
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    finished = threading.Event()
    tree_cpu_exceeded = threading.Event()
    tree_memory_exceeded = threading.Event()
    channel_data = bytearray()

    def read_channel():
        # Records and start marks as they come (a mark starts the next test case's budget).
        pending = b""
        while True:
            try:
                chunk = os.read(result_r, 65536)
            except OSError:
                return
            if not chunk:
                return
            if len(channel_data) < 1 << 20:
                channel_data.extend(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode("utf-8", "replace")
                if progress is not None and text.startswith(nonce + " @start "):
                    progress.mark(text[len(nonce) + 8:])

    reader = None
    if channel:
        reader = threading.Thread(target=read_channel, daemon=True)
        reader.start()
    watch = progress if not channel else None

    def watchdog():
        # The wall-clock limit, and the CPU time and resident memory of the whole process tree
        # (checked 4 times a second; the +1 s matches RLIMIT_CPU's hard limit). With a progress
        # (a batch of test cases), time and CPU count from the current test case's start mark.
        seen, t0, cpu0 = 0, start, 0.0
        while not finished.wait(0.25):
            cpu, rss = tree_usage(proc.pid)
            if watch is not None and watch.generation != seen:
                seen, t0, cpu0 = watch.generation, time.monotonic(), cpu
            if time.monotonic() - t0 > limits.wall:
                kill()
                return
            if cpu - cpu0 > limits.cpu + 1:
                tree_cpu_exceeded.set()
                kill()
                return
            if rss > limits.memory_mb * mb:
                tree_memory_exceeded.set()
                kill()
                return

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        finished.set()
        guard.join()
    proc.returncode = 0  # reaped by wait4; stop Popen from waiting again
    wall = time.monotonic() - start
    try:  # whatever the command left in its process group
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _LIVE.discard(proc.pid)

    records: list[str] = []
    if channel:
        # The write end is the test process's alone (it is dead now): end of file follows at
        # once, unless something it started still holds it.
        reader.join(timeout=5)
        os.close(result_r)
        for line in bytes(channel_data).decode("utf-8", "replace").splitlines():
            if line.startswith(nonce + " ") and not line.startswith(nonce + " @start "):
                records.append(line[len(nonce) + 1:])

    exit_code, sig = None, None
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
    else:
        exit_code = os.WEXITSTATUS(status)
        if mode == "bubblewrap" and exit_code > 128 and exit_code - 128 in SIGNAL_REASONS:
            sig, exit_code = exit_code - 128, None
    if timed_out.is_set():
        sig = signal.SIGKILL
    with open(out_path, "rb") as f:
        raw = f.read(output_cap + 1)
    os.unlink(out_path)
    output = raw[:output_cap].decode("utf-8", "replace")
    if len(raw) > output_cap:
        output += "\n[... output truncated ...]"
    return Outcome(exit_code, sig, timed_out.is_set(), wall, usage.ru_utime + usage.ru_stime,
                   records, output, tree_cpu_exceeded.is_set(), tree_memory_exceeded.is_set())


def trusted_limits(limits: Limits, cases: int = 1) -> Limits:
    """Limits of a graded test executable (course code calling the student's through remote
    calls) running `cases` test cases: it outlives its worker by a margin, so a worker killed at a
    limit leaves the test time to report the failed call and finish; its own work is the
    course's, so it gets more CPU."""
    n = max(1, cases)
    return dataclasses.replace(limits, wall=n * limits.wall + 30, cpu=n * (limits.cpu + 60),
                               memory_mb=limits.memory_mb + 1024, nproc=limits.nproc + 8)


def run_remote(test_argv: list[str], test_cwd: str, worker_argv: list[str], worker_cwd: str,
               limits: Limits, slot: int = 0, cases: int = 1) -> tuple[Outcome, Outcome]:
    """Run a graded test executable (trusted, uncontained but limited, with the result channel)
    and the student's worker (contained), connected by two pipes: the test's remote calls go to
    the worker, the values come back (tools/grading/remote.hpp). Returns (test, worker) outcomes.
    The worker never sees the test's descriptors, environment or files. With cases > 1 the test
    runs that many test cases one after the other; the worker's time and CPU limits hold per
    test case (from each case's start mark, see Progress)."""
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    result: dict = {}
    progress = Progress()

    def worker():
        result["worker"] = run(worker_argv, worker_cwd, limits, slot=slot, pass_fds=(req_r, resp_w),
                               extra_env={"COURSE_GRADE_RPC": f"{req_r},{resp_w}"}, output_cap=20000,
                               scratch_mb=limits.scratch_mb, cases=cases, progress=progress)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    try:
        test = run(test_argv, test_cwd, trusted_limits(limits, cases), slot=slot, channel=True,
                   pass_fds=(req_w, resp_r), contained=False, progress=progress,
                   extra_env={"COURSE_GRADE_RPC": f"{req_w},{resp_r}"})
    finally:
        t.join()
    return test, result["worker"]
