"""What every grading test script shares: its skip when chapter 1 is not built, and its end (its
problems, or OK: exit status 1 or 0)."""
import argparse
import pathlib


def chapter_1_missing(build: pathlib.Path) -> bool:
    """True, after one line saying so, when chapter 1's tests are not built in `build` (the
    script then exits 77, CTest's "skipped")."""
    if (build / "tests/ch01/test_ch01").exists():
        return False
    print(f"chapter 1 is not built in {build}: skipped")
    return True


def build_dir_with_chapter_1() -> pathlib.Path | None:
    """The script's one argument, --build BUILD_DIR; None (after the skip line) when chapter 1 is
    not built there."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", type=pathlib.Path, required=True)
    build = ap.parse_args().build
    return None if chapter_1_missing(build) else build


def finish(problems: list[str], ok: str = "OK") -> int:
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(ok)
    return 0
