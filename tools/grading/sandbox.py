"""Run one untrusted command (a compile, or one test case) in a contained process.

Containment, from strongest to weakest:
- as root: fresh mount, network (no network) and PID namespaces (`unshare --mount --net --pid
  --fork --kill-child --mount-proc`), with private empty /tmp, /var/tmp and /dev/shm; a tiny
  /bin/sh is PID 1 there, so when the command ends, or its process group is killed (the
  wall-clock limit, or kill_all on an interrupt), every process it left (a fork bomb's children,
  even those that called setsid) dies with the namespace. (--kill-child alone would not do: the
  uid switch clears the parent-death signal.) The command runs as a
  private unprivileged uid per worker slot (`setpriv --reuid`), so RLIMIT_NPROC, which counts per
  user, limits exactly this command, and it cannot write the grader's files (root-owned, 0644).
- everywhere: setrlimit CPU time, address space (memory), processes, file size, stack, no core
  files; a wall-clock kill of the whole process group; OMP_NUM_THREADS pinned; a fresh scratch
  directory as cwd, HOME and TMPDIR; a minimal environment.
- a watchdog adds up the CPU time of the command's whole process tree (its private uid's
  processes, or its session without root) and kills it past the CPU limit: RLIMIT_CPU counts per
  process, so without it a fork bomb of `nproc` spinning processes would get nproc times the limit.
Without root (no namespaces, no uid switch) the limits still hold, and the process limit is set
to the user's current process count plus `nproc`.
"""
from __future__ import annotations

import dataclasses
import os
import shlex
import resource
import shutil
import signal
import subprocess
import threading
import time

# Private uids for the sandboxed processes, one per worker slot (no passwd entry needed).
UID_BASE = int(os.environ.get("COURSE_GRADE_UID_BASE", "61000"))

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

    def describe(self, limits: Limits) -> str:
        """Why the process did not finish normally, or '' when it exited on its own."""
        if self.tree_cpu_exceeded:
            return (f"time or memory limit: its processes together used more than {limits.cpu:g} s "
                    f"of CPU time")
        if self.timed_out:
            return f"time or memory limit: killed after {limits.wall:g} s of wall-clock time"
        if self.signal is not None:
            return SIGNAL_REASONS.get(self.signal, f"crashed: killed by signal {self.signal}")
        return ""


_ISOLATION: str | None = None
_LIVE: set[int] = set()   # process groups of the commands running now


def kill_all() -> None:
    """Kill every contained command still running (the grader is being interrupted)."""
    for pgid in list(_LIVE):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def isolation() -> str:
    """'namespaces' when we can unshare net+pid and switch uid (root), else 'rlimits'."""
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = "rlimits"
        if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("setpriv"):
            try:
                p = subprocess.run(_namespace_prefix(UID_BASE, UID_BASE) + ["/bin/true"],
                                   capture_output=True, timeout=20)
                if p.returncode == 0:
                    _ISOLATION = "namespaces"
            except (OSError, subprocess.SubprocessError):
                pass
    return _ISOLATION


def _namespace_prefix(uid: int, gid: int, keep: tuple[str, ...] = ()) -> list[str]:
    """unshare new mount, network and PID namespaces; as root there, give /tmp, /var/tmp and
    /dev/shm private empty tmpfs mounts (so nothing written outside the scratch directory
    outlives the command), except where a path in `keep` (the command, its cwd) lives; then drop
    to `uid` and run the command under a /bin/sh as PID 1."""
    shared = ("/tmp", "/var/tmp", "/dev/shm")
    kept = [os.path.realpath(k) for k in keep]
    hide = [d for d in shared if os.path.isdir(d) and not any(k.startswith(d + "/") for k in kept)]
    # A shared directory that holds a kept path (the course checked out under /tmp) cannot be
    # hidden: it is made read-only instead, and the kept paths are bound back read-write (file
    # permissions still apply there), so nothing outside them can be written either way.
    readonly = [d for d in shared if os.path.isdir(d) and d not in hide]
    rebind = [k for k in kept if any(k.startswith(d + "/") for d in readonly) and os.path.isdir(k)]
    q = lambda paths: " ".join(shlex.quote(p) for p in paths)
    inner = (f'for d in {q(hide)}; do '
             'mount -t tmpfs -o size=64m,mode=1777,nosuid,nodev tmpfs "$d"; done; '
             f'for d in {q(readonly)}; do mount --bind "$d" "$d"; done; '
             f'for k in {q(rebind)}; do mount --bind "$k" "$k"; done; '
             f'for d in {q(readonly)}; do mount -o remount,bind,ro "$d"; done; '
             f'exec setpriv --reuid={uid} --regid={gid} --clear-groups --no-new-privs -- '
             '/bin/sh -c \'"$@"; exit $?\' sh "$@"')
    return ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--",
            "/bin/sh", "-c", inner, "sh"]


def kept_paths(cwd: str, command: str, extra_env: dict | None) -> tuple[str, ...]:
    """What a command keeps where it is inside its namespace (writable, as file permissions
    allow): its working directory, the command itself, and for a compile the compiler cache
    (writable by the compile uids only, see build.compiler_cache). Everything else in /tmp is
    hidden or read-only."""
    return (cwd, command) + tuple(v for k, v in (extra_env or {}).items() if k == "CCACHE_DIR")


# Compiles run as uid UID_BASE + 100 + slot in group COMPILE_GID, which alone may write the
# compiler cache; test processes run as uid = gid = UID_BASE + slot and cannot touch it.
COMPILE_GID = UID_BASE + 99


def sandbox_ids(slot: int, role: str = "test") -> tuple[int, int]:
    """(uid, gid) a sandboxed command of worker `slot` runs as; role is 'test' or 'compile'."""
    if isolation() != "namespaces":
        return os.geteuid(), os.getegid()
    if role == "compile":
        return UID_BASE + 100 + slot, COMPILE_GID
    return UID_BASE + slot, UID_BASE + slot


def _user_process_count() -> int:
    uid, n = os.geteuid(), 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    n += 1
            except OSError:
                pass
    return n


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(uid: int | None, session: int) -> float:
    """CPU seconds (user + system, plus reaped children's) of every process owned by `uid`, or,
    when uid is None, of every process in `session`; read from /proc/<pid>/stat."""
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
        # fields[0] is field 3 (state): session is field 6, utime..cstime are fields 14-17.
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
        channel: bool = False, output_cap: int = 20000, role: str = "test") -> Outcome:
    """Run argv contained (see the module doc). With channel=True the command gets the result
    channel of tools/grading/result_hook.cpp, and Outcome.records holds what it wrote."""
    mode = isolation()
    uid, gid = sandbox_ids(slot, role)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": cwd, "TMPDIR": cwd, "LANG": "C.UTF-8",
           "OMP_NUM_THREADS": str(limits.threads), "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OMP_THREAD_LIMIT": str(limits.threads)}
    env.update(extra_env or {})
    nonce = os.urandom(16).hex()
    pass_fds: tuple = ()
    nonce_r = nonce_w = result_r = result_w = -1
    if channel:
        nonce_r, nonce_w = os.pipe()
        result_r, result_w = os.pipe()
        os.write(nonce_w, nonce.encode())
        os.close(nonce_w)
        os.set_blocking(result_r, False)
        pass_fds = (nonce_r, result_w)
        env["COURSE_GRADE_CHANNEL"] = f"{nonce_r},{result_w}"

    nproc = limits.nproc if mode == "namespaces" else _user_process_count() + limits.nproc
    mb = 1 << 20

    def preexec():
        def lim(what, value):
            resource.setrlimit(what, (value, value))
        # SIGXCPU at the soft limit (reported as a CPU time limit), SIGKILL a second later.
        resource.setrlimit(resource.RLIMIT_CPU, (int(limits.cpu), int(limits.cpu) + 1))
        lim(resource.RLIMIT_AS, limits.memory_mb * mb)
        lim(resource.RLIMIT_FSIZE, limits.fsize_mb * mb)
        lim(resource.RLIMIT_STACK, limits.stack_mb * mb)
        lim(resource.RLIMIT_CORE, 0)
        lim(resource.RLIMIT_NPROC, nproc)

    if mode == "namespaces":
        # sh is PID 1 of the new namespace: the command is its child, so signals reach it as
        # usual, and its exit status comes back as 128 + signal for a signal death.
        cmd = _namespace_prefix(uid, gid, kept_paths(cwd, argv[0], extra_env)) + argv
    else:
        cmd = list(argv)

    owner = uid if uid != os.geteuid() else None
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
    # Anything of this uid that clear_uid could not remove is not this command's: only CPU time
    # added after the start counts.
    baseline = tree_cpu_seconds(owner, proc.pid) if owner is not None else 0.0

    def watchdog():
        # The wall-clock limit, and the CPU time of the whole process tree (checked 4 times a
        # second; the +1 s matches RLIMIT_CPU's hard limit).
        while not finished.wait(0.25):
            if time.monotonic() - start > limits.wall:
                kill()
                return
            if tree_cpu_seconds(owner, proc.pid) - baseline > limits.cpu + 1:
                tree_cpu_exceeded.set()
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
        data = b""
        try:
            while chunk := os.read(result_r, 65536):
                data += chunk
                if len(data) > 1 << 20:
                    break
        except BlockingIOError:
            pass
        os.close(result_r)
        for line in data.decode("utf-8", "replace").splitlines():
            if line.startswith(nonce + " "):
                records.append(line[len(nonce) + 1:])

    exit_code, sig = None, None
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
    else:
        exit_code = os.WEXITSTATUS(status)
        if mode == "namespaces" and exit_code > 128 and exit_code - 128 in SIGNAL_REASONS:
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
                   records, output, tree_cpu_exceeded.is_set())
