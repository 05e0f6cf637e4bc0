#!/usr/bin/env python3
"""Write the corpus of bad submissions the grader must grade correctly, generated at test time
from the chapter 1 solution (so it follows the solution as it changes).

    make_corpus.py OUT_DIR [--target FUNCTION] [--copies N] [--outputs GRADES_DIR]

Each submission is a copy of exercises/ holding ch01_linear_ae_pca.cpp: the reference solution
with one exercise function (--target, default pca_via_svd, which no other exercise's test calls)
sabotaged, or a whole-file case.
OUT_DIR/expected.json says, per submission, what the grader must report:
  "file":   the status of ch01_linear_ae_pca.cpp (compiled, missing, compile error, rejected)
  "broken": "none" (full marks), "all" (zero), "calls" (a crash or a kill in the target function:
            every test case that calls it fails, every other passes) or "verifies" (a wrong value:
            the test cases the rubric grades it by fail; those that only call it may pass)
  "reason": a regular expression the reason of each failed test case must match
--copies N adds N more correct submissions (for timing a class); --outputs names the grader's
output directory, which the "write_outside" submission tries to overwrite.
"""
import argparse
import io
import json
import os
import pathlib
import sys
import re
import shutil
import tarfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FILE = "ch01_linear_ae_pca.cpp"
sys.path.insert(0, str(ROOT / "tools"))
from grading.grader import display_name  # noqa: E402

# The misbehaviours that happen at run time share ONE source file, so a class of them costs one
# compile (the grader's compiler cache serves the rest): the target function picks its
# misbehaviour from the name of the submission, which the grader's scratch directory contains
# (<work>/slotN/<student>/scratch). name: (file status, broken, reason regex)
RUNTIME = {
    "infinite_loop": ("compiled", "calls", r"^time or memory limit"),
    "stack_overflow": ("compiled", "calls", r"segmentation fault.*stack overflow"),
    "segfault": ("compiled", "calls", r"segmentation fault"),
    "abort": ("compiled", "calls", r"SIGABRT"),
    "huge_allocation": ("compiled", "calls", r"^time or memory limit"),
    "fork_bomb": ("compiled", "calls", r"^time or memory limit"),
    "exit0": ("compiled", "calls", r"exit\(\) or _exit\(\) was called from the exercise code"),
    "underscore_exit0": ("compiled", "calls", r"exit\(\) or _exit\(\) was called from the exercise code"),
    "fake_success": ("compiled", "calls", r"wrong result"),
    "nan": ("compiled", "verifies", r"wrong result"),
    "write_outside": ("compiled", "verifies", r"wrong result"),
    # Reads the solutions, the solution library, grades/ and the other slots at run time and
    # prints what it finds into its feedback; test_bad_submissions checks none of it got out.
    "read_secrets": ("compiled", "verifies", r"wrong result"),
    # Three processes of 150 MB each under a 384 MiB limit (each alone is within it).
    "multi_process_memory": ("compiled", "calls", r"^time or memory limit: its processes together held"),
    # Fills its scratch (a 64 MiB tmpfs) with files, then returns a wrong value.
    "fill_scratch": ("compiled", "verifies", r"wrong result"),
    # A detached daemon (setsid, double fork) that outlives the call, writing the gradebook.
    "daemon": ("compiled", "verifies", r"wrong result"),
    # SysV shared memory and a file in /run/lock and /dev/shm, left behind.
    "sysv_ipc": ("compiled", "verifies", r"wrong result"),
    # kill(-1, SIGKILL): every process it can signal (the grader, the other slot's test...),
    # then a wrong value: nothing but its own answer may change.
    "kill_everything": ("compiled", "verifies", r"wrong result"),
    # Sleeps forever without using CPU: only the wall-clock limit stops it.
    "sleep_forever": ("compiled", "calls", r"^time or memory limit: killed after \S+ s of wall-clock time"),
}
# The submissions whose code attacks the grader (run-time misbehaviours, forged results) or whose
# grade holds only inside the sandbox (a compile that could read solutions/ would succeed): on a
# host without isolation they are never graded (--benign-only; test_bad_submissions checks it).
HOSTILE = set(RUNTIME) | {"forge_constructor", "incbin_solution", "includes_the_solution",
                          "forge_ch08", "exit_at_start_ch08", "incbin_ch12"}
# What the target function does first, by its return type: misbehave() returns 1.0 to behave,
# else the wrong value to return (NaN, or 0.0 standing for a finite wrong answer).
MISBEHAVE = {
    "double": "if (const double wrong = misbehave(); wrong != 1.0) return wrong;",
    "Pca": ("if (const double wrong = misbehave(); wrong != 1.0) {\n"
            "    Pca bad;  // NaN everywhere, or the first k coordinate axes with unit variances\n"
            "    bad.mean = VecD::Constant(X.rows(), wrong);\n"
            "    bad.components = std::isnan(wrong) ? MatD(MatD::Constant(X.rows(), k, wrong)) : MatD(MatD::Identity(X.rows(), k));\n"
            "    bad.eigenvalues = VecD::Constant(std::min(X.rows(), X.cols()), std::isnan(wrong) ? wrong : 1.0);\n"
            "    return bad;\n  }"),
}
RETURN_TYPE = {"pca_via_svd": "Pca", "linear_ae_loss": "double"}

HELPERS = r'''
namespace {
[[maybe_unused]] int deep_recursion(int n) {
  volatile char frame[4096];
  frame[0] = static_cast<char>(n);
  return deep_recursion(n + 1) + frame[0];
}
// Fake success in every format a naive grader might parse, on stdout, stderr and every fd.
[[maybe_unused]] void print_fake_success() {
  const char* lines =
      "*** No errors detected\n"
      "<TestLog><TestSuite name=\"course\"><TestCase name=\"@CASE@\" result=\"passed\"/></TestSuite></TestLog>\n"
      "ch01_linear_ae_pca/@CASE@ passed 1 0\n"
      "PASS 100/100\n"
      "control characters: \x01\x02\x1b[31m\x7f\x0c\x0b end\n";
  std::fputs(lines, stdout);
  std::fputs(lines, stderr);
  std::fflush(nullptr);
  for (int fd = 3; fd < 64; ++fd) {
    for (const char* c : {"ch01_linear_ae_pca/@CASE@ passed 1 0\n", "passed\n"}) {
      [[maybe_unused]] auto n = ::write(fd, c, std::char_traits<char>::length(c));
    }
  }
}
// Overwrite the grader's outputs, the course's build and sources; then return a wrong value.
[[maybe_unused]] void try_to_write_outside() {
  for (const char* path : {@TARGETS@}) {
    std::ofstream f(path, std::ios::trunc);
    if (f) f << "PWNED\n";
  }
}
// Everything secret it can find, printed into its output.
[[maybe_unused]] void print_secrets() {
  for (const char* path : {@SECRETS@}) {
    std::ifstream f(path, std::ios::binary);
    if (!f) continue;
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::printf("%s: %zu bytes\n%s\n", path, s.size(), s.substr(0, 20000).c_str());
  }
  for (const char* dir : {@SECRET_DIRS@}) {
    if (DIR* d = ::opendir(dir)) {
      while (const dirent* e = ::readdir(d)) std::printf("%s/%s\n", dir, e->d_name);
      ::closedir(d);
    }
  }
  std::fflush(stdout);
}
[[maybe_unused]] void hold_memory(int mb) {
  const std::size_t n = std::size_t(mb) << 20;
  // volatile: stores into memory that is never read again are otherwise removed by the compiler
  volatile char* p = static_cast<char*>(std::malloc(n));
  for (std::size_t i = 0; p && i < n; i += 4096) p[i] = 1;
}
[[maybe_unused]] void fill_scratch() {
  for (int i = 0; i < 64; ++i) {
    std::ofstream f("fill" + std::to_string(i), std::ios::binary);
    const std::string mb(1 << 20, 'x');
    for (int k = 0; k < 8 && f; ++k) f << mb;
    if (!f) break;
  }
}
[[maybe_unused]] void start_daemon() {
  if (::fork() == 0) {
    ::setsid();
    if (::fork() == 0) {
      ::sleep(3);
      for (const char* path : {@TARGETS@}) {
        std::ofstream f(path, std::ios::app);
        if (f) f << "PWNED,100\n";
      }
      ::_exit(0);
    }
    ::_exit(0);
  }
}
[[maybe_unused]] void leave_ipc() {
  // (SysV memory is no process's resident memory: the sandbox refuses shmget and msgget, and
  // test_bad_submissions checks this line says so.)
  const int id = ::shmget(IPC_PRIVATE, 1 << 20, IPC_CREAT | 0666);
  const int queue = ::msgget(IPC_PRIVATE, IPC_CREAT | 0666);
  std::printf("sysv: shmget=%d msgget=%d\n", id < 0 ? -1 : 0, queue < 0 ? -1 : 0);
  std::fflush(stdout);
  for (const char* path : {"/run/lock/course_grading_pwned", "/dev/shm/course_grading_pwned",
                           "/tmp/course_grading_pwned"}) {
    std::ofstream f(path);
    f << "PWNED\n";
  }
}
// The misbehaviour named by this submission's directory; 1.0 means "behave".
double misbehave() {
  char cwd[4096] = {0};
  if (::getcwd(cwd, sizeof cwd - 1) == nullptr) return 1.0;
  const std::string where(cwd);
  auto is = [&](const char* name) { return where.find(std::string("/") + name + "/") != std::string::npos; };
  if (is("infinite_loop")) { volatile bool forever = true; while (forever) {} }
  if (is("stack_overflow")) return deep_recursion(1);
  if (is("segfault")) { volatile int* volatile nowhere = nullptr; *nowhere = 1; }
  if (is("abort")) std::abort();
  if (is("huge_allocation")) { std::vector<double> huge(std::size_t(1) << 40, 1.0); return huge[7]; }
  if (is("fork_bomb")) for (;;) ::fork();
  if (is("exit0")) std::exit(0);
  if (is("underscore_exit0")) ::_exit(0);
  if (is("fake_success")) { print_fake_success(); return 0.0; }
  if (is("nan")) return std::numeric_limits<double>::quiet_NaN();
  if (is("write_outside")) { try_to_write_outside(); return 0.0; }
  if (is("read_secrets")) { print_secrets(); return 0.0; }
  if (is("multi_process_memory")) {
    for (int i = 0; i < 3; ++i)
      if (::fork() == 0) { hold_memory(150); for (;;) ::pause(); }
    hold_memory(1);
    for (;;) ::pause();
  }
  if (is("fill_scratch")) { fill_scratch(); return 0.0; }
  if (is("daemon")) { start_daemon(); return 0.0; }
  if (is("sysv_ipc")) { leave_ipc(); return 0.0; }
  if (is("kill_everything")) { ::kill(-1, SIGKILL); return 0.0; }
  if (is("sleep_forever")) for (;;) ::pause();
  return 1.0;
}
}  // namespace
'''


def sabotage(solution: str, function: str, code: str) -> str:
    """Insert `code` right after the BEGIN SOLUTION line inside `function`'s body."""
    m = re.search(rf"^[^\s/#][^\n]*\b{function}\s*\([^;{{]*\)\s*\{{", solution, re.M)
    if not m:
        raise SystemExit(f"{FILE}: no definition of {function}")
    begin = solution.index("// BEGIN SOLUTION", m.end())
    eol = solution.index("\n", begin)
    return solution[:eol + 1] + "  " + code + "\n" + solution[eol + 1:]


def with_helpers(text: str, case: str, targets: list[str], secrets: list[str] = (),
                 secret_dirs: list[str] = ()) -> str:
    quoted = lambda paths: ", ".join(json.dumps(str(t)) for t in paths) or '""'
    helpers = HELPERS.replace("@CASE@", case).replace("@TARGETS@", quoted(targets)).replace(
        "@SECRETS@", quoted(secrets)).replace("@SECRET_DIRS@", quoted(secret_dirs))
    first_ns = text.index("namespace course::ch01")
    includes = ("#include <csignal>\n#include <cstdio>\n#include <cstdlib>\n#include <fstream>\n"
                "#include <iterator>\n#include <limits>\n#include <string>\n#include <vector>\n"
                "#include <dirent.h>\n#include <sys/ipc.h>\n#include <sys/msg.h>\n#include <sys/shm.h>\n#include <unistd.h>\n")
    return includes + text[:first_ns] + helpers + "\n" + text[first_ns:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--target", default="pca_via_svd", choices=sorted(RETURN_TYPE))
    ap.add_argument("--copies", type=int, default=0)
    ap.add_argument("--outputs", type=pathlib.Path, default=ROOT / "grades")
    ap.add_argument("--build", type=pathlib.Path, default=ROOT / "build")
    ap.add_argument("--extra-target", action="append", default=[], type=pathlib.Path,
                    help="another file the write_outside and daemon submissions try to overwrite")
    ap.add_argument("--benign-only", action="store_true",
                    help="only the submissions that run no hostile code (for a host without a sandbox)")
    args = ap.parse_args()
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    solution = (ROOT / "solutions" / FILE).read_text()
    stub = (ROOT / "exercises" / FILE).read_text()
    header = ROOT / "exercises/include/course/exercises/ch01_linear_ae_pca.hpp"
    expected = {}

    def submit(name, text, file, broken, reason, extra=None):
        d = out / name
        d.mkdir()
        if text is not None:
            (d / FILE).write_text(text)
        (d / "README.txt").write_text("my submission\n")
        for rel, content in (extra or {}).items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(content)
        expected[name] = {"file": file, "broken": broken, "reason": reason}

    submit("correct", solution, "compiled", "none", "")
    for i in range(args.copies):
        submit(f"correct_copy{i:02d}", solution, "compiled", "none", "")
    submit("unmodified", stub, "compiled", "all", r"not implemented yet")
    submit("compile_error", sabotage(solution, args.target, "this is not C++;"), "compile error", "all",
           r"does not compile")
    submit("missing_file", None, "missing", "all", r"missing")
    # Headers and tests inside a submission change nothing: an edited test that checks nothing,
    # an edited header, next to the unmodified stubs, still score zero.
    submit("edited_test_and_header", stub, "compiled", "all", r"not implemented yet", extra={
        "../tests/ch01/test_ch01_linear_ae_pca.cpp".replace("../", ""):
            '#define BOOST_TEST_MODULE fake\n#include <boost/test/included/unit_test.hpp>\n'
            'BOOST_AUTO_TEST_CASE(everything_passes) { BOOST_TEST(true); }\n',
        "include/course/exercises/ch01_linear_ae_pca.hpp":
            header.read_text().replace("namespace course::ch01 {", "namespace course::ch01 {\n// edited\n"),
    })
    submit("includes_the_solution",
           f'#include "{ROOT / "solutions" / FILE}"\n', "compile error", "all", r"not run")
    # (These two start from the stubs: the file is refused whatever its exercises do.)
    hijack = stub + '\nnamespace course {\nCheckRow check_bound(const std::string&, const std::string&, double, double, double) { return {}; }\n}\n'
    hijack = '#include "course/check.hpp"\n' + hijack
    submit("replaces_a_course_function", hijack, "rejected", "all", r"not run")
    exit_hijack = stub + '\nextern "C" void _exit(int) { for (;;) {} }\n'
    submit("replaces_exit", exit_hijack, "rejected", "all", r"not run")

    # Forged results (issue: a constructor that read the nonce and wrote "passed" lines scored
    # 100/100): the unmodified stubs plus a constructor, a static initialiser and a destructor
    # that look for any channel (environment of every visible process, every descriptor) and
    # write fake passes and fake remote replies into everything they can. Must score 0.
    forge = r"""
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
namespace {
void forge_everything() {
  std::string lines;
  for (const char* c : {"eq_1_1_eigenvalues_are_squared_singular_values_over_n",
                        "eq_1_3_loss_equals_its_trace_form", "eq_1_4_gradient_matches_central_differences"})
    lines += std::string("ch01_linear_ae_pca/") + c + " passed 1 0\n";
  std::string with_nonce = lines;
  // The nonce, wherever it might be: the environment of every process it can see.
  if (DIR* d = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(d)) {
      const std::string env = std::string("/proc/") + e->d_name + "/environ";
      const int fd = ::open(env.c_str(), O_RDONLY | O_NONBLOCK);
      if (fd < 0) continue;
      char buf[65536];
      const ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      for (ssize_t i = 0; i < n; i += std::strlen(buf + i) + 1) {
        buf[n] = 0;
        if (std::strncmp(buf + i, "COURSE_GRADE", 12) == 0) with_nonce += std::string(buf + i) + "\n";
      }
    }
    ::closedir(d);
  }
  // A forged reply frame: status 0 and a double 0.0 (a "passed" of any kind it can imagine).
  char frame[13] = {9, 0, 0, 0, 0};
  for (int fd = 0; fd < 1024; ++fd) {
    [[maybe_unused]] auto a = ::write(fd, frame, sizeof frame);
    [[maybe_unused]] auto b = ::write(fd, lines.data(), lines.size());
    [[maybe_unused]] auto c = ::write(fd, with_nonce.data(), with_nonce.size());
  }
  std::puts("*** No errors detected");
}
__attribute__((constructor)) void forge_at_start() { forge_everything(); }
struct ForgeAtExit { ForgeAtExit() { forge_everything(); } ~ForgeAtExit() { forge_everything(); } } forge_at_exit;
}  // namespace
"""
    # (Its forged reply frames, read as the first call's answer, make that a wrong result.)
    submit("forge_constructor", forge + stub, "compiled", "all", r"not implemented yet|^wrong result")
    # The solution embedded at compile time (.incbin): the compile sees no solutions/.
    incbin = (stub + f'\nasm(".section .rodata\\n.incbin \\"{ROOT / "solutions" / FILE}\\"\\n.previous");\n')
    submit("incbin_solution", incbin, "compile error", "all", r"not run")

    # Beyond chapter 1: the same attacks from another chapter's file, next to a correct chapter 1
    # that must keep its full marks (one chapter's file cannot change another chapter's grade).
    # "others": per other file, its status and the reason every test case of its rubric fails.
    def other_chapter(num):
        files = sorted((ROOT / "exercises").glob(f"ch{num}_*.cpp"))
        built = (args.build / f"tests/ch{num}/test_ch{num}").exists()
        return (files[0].name, files[0].read_text()) if files and built else (None, None)

    ch08_file, ch08_stub = other_chapter("08")
    if ch08_file:
        # Forged results from chapter 8's static constructor, destructor and initialiser (fake
        # passes and reply frames into every descriptor): chapter 8 scores 0, chapter 1 full.
        submit("forge_ch08", solution, "compiled", "none", "", extra={ch08_file: forge + ch08_stub})
        expected["forge_ch08"]["others"] = {ch08_file: ["compiled", r"not implemented yet|^wrong result"]}
        # A static constructor that ends the process before main: chapter 8's worker never
        # answers; chapter 1's worker does not hold chapter 8's file.
        exit_early = ("#include <unistd.h>\nnamespace {\n__attribute__((constructor)) void quit_at_start() "
                      "{ ::_exit(0); }\n}  // namespace\n")
        submit("exit_at_start_ch08", solution, "compiled", "none", "", extra={ch08_file: exit_early + ch08_stub})
        expected["exit_at_start_ch08"]["others"] = {ch08_file: ["compiled", r"ended its process"]}
    ch12_file, ch12_stub = other_chapter("12")
    if ch12_file:
        # A solution embedded with .incbin from chapter 12's file: it does not compile.
        inc = ch12_stub + (f'\nasm(".section .rodata\\n.incbin \\"{ROOT / "solutions" / ch12_file}\\"'
                           f'\\n.previous");\n')
        submit("incbin_ch12", solution, "compiled", "none", "", extra={ch12_file: inc})
        expected["incbin_ch12"]["others"] = {ch12_file: ["compile error", r"not run"]}

    targets = [str(args.outputs / "gradebook.csv"), str(args.outputs / "correct" / "report.json"),
               str(args.outputs / "write_outside" / "report.json"),
               str(ROOT / "tests/ch01/test_ch01_linear_ae_pca.cpp"), str(ROOT / "solutions" / FILE),
               "/proc/self/exe", "../test_ch01", "../../test_ch01", "/tmp/course_grading_pwned"] + \
        [str(t) for t in args.extra_target]
    secrets = [ROOT / "solutions" / FILE, args.build / "exercises/libcourse_impl_solutions.a",
               args.outputs / "gradebook.csv", args.outputs / "correct" / "report.json",
               ROOT / "tools/grading/grader.py", "/proc/1/environ", "/proc/self/environ"]
    secret_dirs = [ROOT / "solutions", args.outputs, args.build / "grading",
                   args.build / "grading" / "test-grades", "/proc/1/fd"]
    misbehaving = with_helpers(sabotage(solution, args.target, MISBEHAVE[RETURN_TYPE[args.target]]),
                               "eq_1_1_eigenvalues_are_squared_singular_values_over_n", targets,
                               secrets, secret_dirs)
    for name, (file, broken, reason) in RUNTIME.items():
        submit(name, misbehaving, file, broken, reason)

    # Archives: a .zip and a .tar.gz of the correct submission (nested in a folder).
    buf = io.BytesIO()
    with zipfile.ZipFile(out / "correct_zip.zip", "w") as z:
        z.writestr(f"student/exercises/{FILE}", solution)
        z.writestr("student/exercises/include/course/exercises/ch01_linear_ae_pca.hpp", "garbage")
    expected["correct_zip"] = {"file": "compiled", "broken": "none", "reason": ""}
    with tarfile.open(out / "correct_tgz.tar.gz", "w:gz") as t:
        data = solution.encode()
        info = tarfile.TarInfo(f"exercises/{FILE}")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("exercises/ch01_symlink.cpp")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        t.addfile(link)
    expected["correct_tgz"] = {"file": "compiled", "broken": "none", "reason": ""}
    # Hostile files and archives, and names that must become safe, unique, stable ids.
    def zip_with(path, patch=None):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"exercises/{FILE}", solution)
        if patch:
            data = bytearray(path.read_bytes())
            patch(data)
            path.write_bytes(bytes(data))

    def set_flag_encrypted(data):   # general purpose bit 0, local header (+6) and central (+8)
        data[6] |= 1
        c = data.index(b"PK\x01\x02")
        data[c + 8] |= 1

    def set_ppmd(data):             # compression method 98 (PPMd), local (+8) and central (+10)
        data[8:10] = (98).to_bytes(2, "little")
        c = data.index(b"PK\x01\x02")
        data[c + 10:c + 12] = (98).to_bytes(2, "little")

    zip_with(out / "encrypted.zip", set_flag_encrypted)
    expected["encrypted"] = {"file": "missing", "broken": "all", "reason": r"missing", "note": "encrypted"}
    zip_with(out / "ppmd.zip", set_ppmd)
    expected["ppmd"] = {"file": "missing", "broken": "all", "reason": r"missing", "note": "PPMd"}
    (out / "not_an_archive.zip").write_bytes(b"this is not a zip file\n" * 10)
    expected["not_an_archive"] = {"file": "missing", "broken": "all", "reason": r"missing",
                                  "note": "could not read the submission"}
    # 80 MiB of zeros before the solution: over the 64 MiB budget, stopped while streaming.
    with tarfile.open(out / "bomb.tar.gz", "w:gz", compresslevel=1) as t:
        info = tarfile.TarInfo("exercises/zeros.bin")
        info.size = 80 << 20
        class Zeros(io.RawIOBase):
            left = info.size
            def readable(self):
                return True
            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n
        t.addfile(info, io.BufferedReader(Zeros()))
        data = solution.encode()
        info = tarfile.TarInfo(f"exercises/{FILE}")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    expected["bomb"] = {"file": "missing", "broken": "all", "reason": r"missing", "note": "unpacks to more than"}
    # A FIFO and a symlink planted where the grader looks for the exercise file.
    d = out / "fifo_plant"
    d.mkdir()
    os.mkfifo(d / FILE)
    os.symlink("/etc/shadow", d / "ch01_symlink.cpp")
    expected["fifo_plant"] = {"file": "missing", "broken": "all", "reason": r"missing"}
    # A planted FIFO as the submission itself.
    os.mkfifo(out / "fifo_submission.zip")
    expected["fifo_submission"] = {"file": "missing", "broken": "all", "reason": r"missing",
                                   "note": "could not read the submission"}
    # Names: '..' after its extension, the gradebook's own name, two that clean up alike,
    # Unicode, and bytes that are not UTF-8.
    for name in ("...zip", "gradebook.csv.zip"):
        zip_with(out / name)
    for name in ("a b", "a_b", "Zoë Ünal"):
        (out / name).mkdir()
        (out / name / FILE).write_text(solution)
    odd = os.fsdecode(b"caf\xe9")
    (out / odd).mkdir()
    (out / odd / FILE).write_text(solution)
    for path in ("...zip", "gradebook.csv.zip", "a b", "a_b", "Zoë Ünal", odd):
        expected[display_name(out / path)] = {"file": "compiled", "broken": "none", "reason": ""}

    if args.benign_only:
        benign = {"correct", "unmodified", "compile_error", "missing_file", "correct_zip", "correct_tgz",
                  "replaces_a_course_function", "replaces_exit",
                  "edited_test_and_header", "encrypted", "ppmd", "not_an_archive", "bomb",
                  "fifo_plant", "fifo_submission"} | {f"correct_copy{i:02d}" for i in range(args.copies)}
        benign |= {display_name(out / p) for p in ("...zip", "gradebook.csv.zip", "a b", "a_b", "Zoë Ünal",
                                                     os.fsdecode(b"caf\xe9"))}
        for entry in list(out.iterdir()):
            if display_name(entry) not in benign:
                expected.pop(display_name(entry), None)
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
    (out / "expected.json").write_text(json.dumps({"target": args.target, "submissions": expected},
                                                  indent=2))
    print(f"wrote {len(expected)} submissions to {out}")


if __name__ == "__main__":
    main()
