"""CLI start time: `annotate --help`, the help of common commands and `annotate status NAME
--json`, beside `python -c pass`.

Each command runs ``--runs`` times in a fresh subprocess (the console script of the same
interpreter, so its imports are what a user pays); the median wall time is printed with its
ratio to ``python -c pass`` measured in the same run, and the median CPU time (user + system)
of the child, which other processes on a shared machine disturb less. The status command
reads a temporary SQLite database made (and migrated) once before the timing. Goal (issue #17
item 5): each < 0.3 s on this machine.

    .venv/bin/python benchmarks/cli_start.py [--runs 10] [--db URL]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = "clistart"


def annotate_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("annotate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "annotate.cli.main"]


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_seconds(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``command``."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu, start = child_cpu(), time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        cpus.append(child_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    annotate = annotate_command()
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or f"sqlite:///{Path(folder) / 'cli.db'}"
        subprocess.run([*annotate, "--db", db, "project", "create", PROJECT, "--kind",
                        "classification", "--labels", "a,b"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # may exist
        commands = {"python -c pass": [sys.executable, "-c", "pass"],
                    "annotate --help": [*annotate, "--help"],
                    "annotate run --help": [*annotate, "run", "--help"],
                    "annotate import --help": [*annotate, "import", "--help"],
                    "annotate project create --help": [*annotate, "project", "create",
                                                       "--help"],
                    f"annotate status {PROJECT} --json": [*annotate, "--db", db, "status",
                                                          PROJECT, "--json"]}
        baseline = None
        print(f"median of {args.runs} runs each, {db.split('://')[0]}")
        for name, command in commands.items():
            wall, cpu = median_seconds(command, args.runs)
            baseline = baseline or wall
            print(f"{name:<36} {wall:6.3f} s  {wall / baseline:5.1f}x python -c pass  "
                  f"(CPU {cpu:.3f} s)")


if __name__ == "__main__":
    main()
