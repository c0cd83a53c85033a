"""`make bench-instructions`: machine instructions the Python side of one payment executes.

CPU time on a shared virtual machine drifts with its neighbours: in one afternoon the same
code measured 2.2 and 2.8 ms per payment. Instructions do not drift. This runs `make
bench-cpu` twice under valgrind's callgrind (which counts instructions: ~40x slower, hence
few payments), with BENCH_FEW and BENCH_MANY payments, and divides the difference by the
payments between them, so start-up and warm-up cancel out. Repeat runs agree to ~1 %; use it
to see what a change to the hot path is worth. PostgreSQL's side is not counted (see `make
bench-cpu`). Needs valgrind and `make run`'s database.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAYMENT_CPU = Path(__file__).with_name("payment_cpu.py")


def _instructions(payments: int, output: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={output}.out",
            sys.executable,
            str(PAYMENT_CPU),
        ],
        env=os.environ | {"BENCH_PAYMENTS": str(payments)},
        cwd=ROOT,
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
    )


def _collected(log: Path) -> int:
    text = log.read_text()
    answers = re.search(r"answers: (.*)", text)
    if answers is None or "201" not in answers.group(1) or "," in answers.group(1):
        sys.exit(f"the payments did not all succeed:\n{text[-2000:]}")
    return int(re.search(r"Collected : (\d+)", text).group(1))  # type: ignore[union-attr]


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    few = int(os.environ.get("BENCH_FEW", "20"))
    many = int(os.environ.get("BENCH_MANY", "120"))
    with tempfile.TemporaryDirectory() as scratch:
        logs = [Path(scratch) / "few.log", Path(scratch) / "many.log"]
        runs = [_instructions(few, logs[0]), _instructions(many, logs[1])]  # two cores
        for run in runs:
            run.wait()
        per_payment = (_collected(logs[1]) - _collected(logs[0])) / (many - few)
    print(
        f"POST /api/v1/payments, Python side, {many - few} payments counted:\n"
        f"  {per_payment / 1e6:.2f} M instructions per payment"
    )


if __name__ == "__main__":
    main()
