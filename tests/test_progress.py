"""Long commands show progress on stderr: live on a terminal (a pseudo-terminal here), a
plain line per phase in a log, nothing with `--quiet`; stdout stays parseable JSON."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from annotate.cli import progress
from annotate.cli.main import main
from annotate.cli.progress import CommandProgress
from tests.dbs import SqliteTemplate

ANNOTATE = [sys.executable, "-m", "annotate.cli.main"]
ROOT = Path(__file__).resolve().parents[1]
ROWS = 20_000
PILOT = ("--models", "dry-run", "-n", "30", "--bootstrap", "100", "--json")
LABELS = "not_abusive,ambiguous,mildly_abusive,strongly_abusive,very_strongly_abusive"


@pytest.fixture
def env(tmp_path: Path, sqlite_template: SqliteTemplate) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    environment.update(ANNOTATE_DB=sqlite_template.clone(tmp_path), TERM="xterm-256color",
                       COLUMNS="120", LINES="40")
    return environment


@pytest.fixture
def big_csv(tmp_path: Path) -> Path:
    path = tmp_path / "big.csv"
    path.write_text("id,text\n" + "".join(f"r{i},review number {i} of a product\n"
                                          for i in range(ROWS)), encoding="utf-8")
    return path


def annotate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ANNOTATE, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def on_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (120x40): exit code, stdout, what the terminal
    got."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    with subprocess.Popen([*ANNOTATE, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=slave) as process:
        os.close(slave)
        terminal = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            terminal += chunk
        os.close(master)
        stdout = process.stdout.read() if process.stdout else b""
        code = process.wait(timeout=300)
    return code, stdout.decode(), terminal.decode(errors="replace")


def make_project(env: dict[str, str], name: str = "reviews") -> None:
    result = annotate(env, "project", "create", name, "--kind", "classification",
                      "--labels", "pos,neg")
    assert result.returncode == 0, result.stderr


def test_import_of_a_large_file_shows_a_live_bar_on_a_terminal(env: dict[str, str],
                                                               big_csv: Path) -> None:
    make_project(env)
    code, stdout, terminal = on_terminal(env, "import", "reviews", str(big_csv), "--json")
    assert code == 0, terminal
    assert json.loads(stdout)["items"] == ROWS
    assert "importing" in terminal and " rows" in terminal
    assert "\x1b[" in terminal  # drawn (and cleared) with terminal control sequences


def test_import_in_a_log_keeps_json_on_stdout_and_no_control_codes(env: dict[str, str],
                                                                  big_csv: Path) -> None:
    make_project(env)
    result = annotate(env, "import", "reviews", str(big_csv), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items"] == ROWS
    assert "\x1b[" not in result.stderr  # plain lines, if the import lasted long enough
    assert all(line.startswith("import: ") for line in result.stderr.splitlines())


def test_quiet_import_prints_nothing_on_stderr(env: dict[str, str], big_csv: Path) -> None:
    make_project(env)
    result = annotate(env, "--quiet", "import", "reviews", str(big_csv), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items"] == ROWS
    assert result.stderr == ""


@pytest.fixture
def labelled(env: dict[str, str], shared_data: Path) -> dict[str, str]:
    """A project with ConvAbuse's recorded human labels (what a pilot samples)."""
    result = annotate(env, "project", "create", "ca", "--kind", "classification",
                      "--labels", LABELS)
    assert result.returncode == 0, result.stderr
    result = annotate(env, "--quiet", "import", "ca",
                      str(shared_data / "convabuse" / "convabuse_dev.csv"))
    assert result.returncode == 0, result.stderr
    return env


def test_pilot_in_a_log_names_each_phase_and_keeps_stdout_json(
        labelled: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """In-process, with every phase and count "long enough" to be logged."""
    monkeypatch.setattr(progress, "LOG_AFTER", 0.0)
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    code = main(["--db", labelled["ANNOTATE_DB"], "pilot", "ca", *PILOT,
                 "-o", str(tmp_path / "pilot")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["project"] == "ca"
    lines = captured.err.splitlines()
    assert lines[0] == "pilot: sampling up to 30 items people labelled in ca"
    assert "pilot: model dry-run, 30 items..." in lines
    assert "pilot: dry-run 30/30" in lines
    assert "pilot: measuring agreement and calibration (100 bootstrap resamples), " \
           "recommending a policy" in lines
    assert lines[-1] == f"pilot: writing the report to {tmp_path / 'pilot'}"
    assert "\x1b[" not in captured.err


def test_a_quick_failure_in_a_log_is_still_one_line(labelled: dict[str, str],
                                                    tmp_path: Path) -> None:
    result = annotate(labelled, "pilot", "nope", *PILOT, "-o", str(tmp_path / "pilot"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr
    assert result.stdout == ""


def test_pilot_on_a_terminal_draws_a_bar_and_quiet_draws_nothing(labelled: dict[str, str],
                                                                 tmp_path: Path) -> None:
    code, stdout, terminal = on_terminal(labelled, "pilot", "ca", *PILOT,
                                         "-o", str(tmp_path / "pilot"))
    assert code == 0, terminal
    assert json.loads(stdout)["project"] == "ca"
    assert "pilot: dry-run" in terminal and "30/30" in terminal
    code, stdout, terminal = on_terminal(labelled, "--quiet", "pilot", "ca", *PILOT,
                                         "-o", str(tmp_path / "pilot"))
    assert code == 0, terminal
    assert json.loads(stdout)["project"] == "ca"
    assert terminal == ""


def test_a_log_hears_of_a_phase_once_it_lasts(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "LOG_AFTER", 0.3)
    with CommandProgress("distill", "lines") as reporter:
        reporter.phase("reading the final labels")  # over at once: not worth a line
        reporter.phase("embedding and training on 2,000 items")
        time.sleep(0.6)
        reporter.phase("evaluating on 400 held-out items")  # the command ends first
    time.sleep(0.6)
    assert capsys.readouterr().err == "distill: embedding and training on 2,000 items\n"


def test_a_log_gets_a_count_line_at_most_every_few_seconds(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "LOG_EVERY", 0.3)
    with CommandProgress("ls push", "lines") as reporter:
        for done in range(0, 1001, 100):
            reporter.count("items sent", done, 1000)
            if done == 500:
                time.sleep(0.4)
    assert capsys.readouterr().err.splitlines() == [
        "ls push: items sent 600/1,000",  # the first count after LOG_EVERY
        "ls push: items sent 1,000/1,000",  # and the last, since the log saw this counter
    ]


def test_quiet_progress_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    progress = CommandProgress("pilot", "off")
    progress.phase("sampling")
    progress.count("dry-run", 30, 30)
    progress.status("scoring")
    assert capsys.readouterr() == ("", "")
