"""The end of every grading test script: its problems, or OK (exit status 1 or 0)."""


def finish(problems: list[str], ok: str = "OK") -> int:
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(ok)
    return 0
