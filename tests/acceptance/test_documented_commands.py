"""Every command of the README and docs/*.md, run as written in a subprocess (issue #13).

Each ```bash block is a story typed into one terminal: its commands run in order, in one
working directory (the files they name are prepared by conftest.py) and one database. Every
command must exit 0 without a traceback and do what the documentation promises; servers are
started as written, must answer HTTP, and must exit with their whole process group on
SIGTERM. Every documented command is either in ``COMMANDS`` (run and checked) or in
``EXEMPT`` (with the reason); a new command in the docs that is in neither fails
``test_every_documented_command_is_run_or_exempt``.

Overrides (the text is run as written; only the environment or one named value differs):

- ``annotate bench replay ... --limit 200``: ``ANNOTATE_MODEL=dry-run`` (the command reads
  it) so 200 items do not take the embedded model ~15 minutes; the pilot and
  ``annotate run reviews`` do run the embedded model, on 12 items.
- ``openai/gpt-4o-mini``: ``OPENAI_BASE_URL`` / ``OPENAI_API_BASE`` point at a fake
  OpenAI-compatible server on 127.0.0.1 (fake_openai.py), with a fake key.
- ``export ANNOTATE_DB=postgresql+psycopg://postgres@127.0.0.1:5432/annotate``: the database
  name is replaced by a scratch database (tests/dbs.py), never a developer's ``annotate``.
- ``make demo``: ``DEMO_DB`` points into the test's temporary directory. ``make`` commands run
  in the clone itself (where the Makefile is); every other command in a temporary directory
  standing in for it, with ``../shared`` beside it as beside a clone.
- ``$LABEL_STUDIO_URL`` and ``$LS_TOKEN``: the real Label Studio server the labelstudio tests
  start (tests/labelstudio/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.acceptance.conftest import N_ITEMS
from tests.acceptance.docs_commands import REPO, Block, Command, doc_blocks
from tests.acceptance.shell import Outcome, Shell, check_ran, port_is_free, serve
from tests.dbs import pg_available, scratch_database

DOCUMENTED_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/annotate"


@dataclass
class Story:
    """What a block's checks can see: the terminal, and the services it was given."""

    shell: Shell
    openai_calls: list[str]
    pg_url: str | None = None
    ls_url: str = ""
    ls_token: str = ""
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def cwd(self) -> Path:
        return self.shell.cwd


Check = Callable[[Story, Outcome], None]


def expect(condition: bool, outcome: Outcome, problem: str) -> None:
    if not condition:
        raise AssertionError(outcome.report(problem))


# --- what each command promises ----------------------------------------------------------

def says(pattern: str) -> Check:
    def check(story: Story, outcome: Outcome) -> None:
        expect(re.search(pattern, outcome.stdout) is not None, outcome,
               f"stdout does not match {pattern!r}")
    return check


def did_tasks(story: Story, outcome: Outcome) -> None:
    found = re.search(r"done (\d+) tasks", outcome.stdout)
    expect(found is not None and int(found[1]) > 0, outcome, "no task was done")


def status_json(story: Story, outcome: Outcome) -> None:
    try:
        status = json.loads(outcome.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(outcome.report(f"stdout is not JSON: {exc}")) from exc
    expect(status.get("items") == N_ITEMS, outcome, f"status does not count {N_ITEMS} items")
    expect(status.get("annotations", {}).get("llm", 0) > 0, outcome, "no LLM annotation")


def exported_jsonl(story: Story, outcome: Outcome) -> None:
    path = story.cwd / "reviews.jsonl"
    expect(path.is_file(), outcome, f"{path} was not written")
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    expect(len(records) == N_ITEMS, outcome, f"{len(records)} records, not {N_ITEMS}")


def pg_selected(story: Story, outcome: Outcome) -> None:
    expect(story.shell.env.get("ANNOTATE_DB") == story.pg_url, outcome,
           "the exported ANNOTATE_DB did not reach the next command")


def pg_migrated(story: Story, outcome: Outcome) -> None:
    assert story.pg_url is not None
    engine = create_engine(story.pg_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    expect(bool(version), outcome, "the PostgreSQL database has no migration level")


def piloted(story: Story, outcome: Outcome) -> None:
    folder = story.cwd / "pilot"
    policy = folder / "policy.json"
    expect(policy.is_file(), outcome, f"{policy} was not written")
    story.notes["policy"] = json.loads(policy.read_text("utf-8"))
    expect(any(folder.glob("*.html")), outcome, "no HTML report in pilot/")
    expect("gpt-4o-mini" in story.openai_calls, outcome, "the hosted model was never asked")


def policy_applied(story: Story, outcome: Outcome) -> None:
    shown = story.shell.run("annotate policy show reviews --json")
    check_ran(shown)
    stored = json.loads(shown.stdout)
    written = story.notes["policy"]
    assert isinstance(written, dict)
    differ = {k: (v, stored.get(k)) for k, v in written.items() if stored.get(k) != v}
    expect(not differ, outcome, f"the stored policy differs from pilot/policy.json: {differ}")


def distilled(story: Story, outcome: Outcome) -> None:
    model = story.cwd / ".annotate" / "models" / "reviews"
    expect(model.is_dir() and any(model.iterdir()), outcome, f"no model saved in {model}")


def replayed(story: Story, outcome: Outcome) -> None:
    folder = story.cwd / "replay"
    report = folder / "replay.json"
    expect(report.is_file(), outcome, f"{report} was not written")
    json.loads(report.read_text("utf-8"))
    png = folder / "replay.png"
    expect(png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", outcome,
           f"{png} is not a PNG")


def demo_ran(story: Story, outcome: Outcome) -> None:
    expect("alpha" in outcome.stdout, outcome, "the demo printed no agreement")
    db = Path(story.shell.env["DEMO_DB"].removeprefix("sqlite:///"))
    expect(db.is_file(), outcome, f"DEMO_DB {db} was not created")


def ls_pushed(story: Story, outcome: Outcome) -> None:
    request = urllib.request.Request(f"{story.ls_url}/api/projects?page_size=100",
                                     headers={"Authorization": f"Token {story.ls_token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        projects = json.load(answer)
    counts = [p.get("task_number") for p in projects.get("results", projects)]
    expect(N_ITEMS in counts, outcome, f"no Label Studio project with {N_ITEMS} tasks: {counts}")


def ok(story: Story, outcome: Outcome) -> None:
    """Exit 0 and no traceback are all it promises."""


@dataclass(frozen=True)
class Server:
    """A documented server command: the URL that must answer, and what the answer holds."""

    probe: str
    answer: str


COMMANDS: dict[str, Check | Server] = {
    "make demo": demo_ran,
    "annotate project create reviews --kind classification --labels pos,neg,neutral "
    "--guideline guideline.md": says(r"created project reviews"),
    "annotate import reviews data.csv": says(rf"imported {N_ITEMS} items"),
    "annotate policy show reviews": says(r"human_annotations"),
    "annotate run reviews": did_tasks,
    "annotate run reviews --model openai/gpt-4o-mini --workers 8": says(r"done \d+ tasks"),
    "annotate status reviews --json": status_json,
    "annotate agreement labels.csv --level ordinal --order low,mid,high --bootstrap 1000":
        says(r"Krippendorff's alpha"),
    "annotate export reviews --format jsonl -o reviews.jsonl": exported_jsonl,
    "annotate doctor": says(r"(?m)^ok +model +local/smollm2: embedded model file.*\n"
                            r"(.*\n)*ready$"),
    f"export ANNOTATE_DB={DOCUMENTED_PG_URL}": pg_selected,
    "annotate db upgrade": pg_migrated,
    "annotate pilot reviews --sample 50 --models local/smollm2,openai/gpt-4o-mini "
    "--error-cost 10 --human-cost 1 -o pilot/": piloted,
    "annotate policy set reviews pilot/policy.json": policy_applied,
    "make install-distill": ok,
    "annotate distill reviews --min-confidence 0.7": distilled,
    "annotate run reviews --role annotator --model distilled:reviews": did_tasks,
    "annotate bench replay ../shared/data/convabuse --limit 200 --policy my-policy.json "
    "-o replay/": replayed,
    "annotate people add olga --owner": says(r"token[^\n]*\n?\s*\S{20,}"),
    "annotate ui --port 8501": Server("http://127.0.0.1:8501/_stcore/health", "ok"),
    "annotate --db sqlite:///annotate.db ui --port 8501":
        Server("http://127.0.0.1:8501/_stcore/health", "ok"),
    "annotate people add ann": says(r"added ann \(annotator\)"),
    "annotate people grant ann reviews": says(r"ann is now a member of reviews"),
    "annotate people revoke ann reviews": says(r"ann is no longer a member of reviews"),
    "annotate ls config reviews": says(r"^\s*<View"),
    "annotate ls push reviews --url '$LABEL_STUDIO_URL' --token '$LS_TOKEN'": ls_pushed,
    "annotate ls pull reviews --url '$LABEL_STUDIO_URL' --token '$LS_TOKEN'": ok,
    "annotate ls backend reviews --port 9090": Server("http://127.0.0.1:9090/health", "UP"),
}

EXEMPT: dict[str, str] = {
    "make test": "the whole test suite, this test included (.ci/run runs it)",
    ".ci/install-chromium.sh": "installs a Debian package as root; .ci/install-test-services.sh "
                               "runs it before the suite in CI",
    ".venv/bin/pytest tests/ui": "part of the test suite, which .ci/run runs",
    ".venv/bin/pytest tests/ui -m 'not browser'": "part of the test suite, which .ci/run runs",
}

# Commands environment overrides apply to (see the module docstring).
ENV_OVERRIDES: dict[str, dict[str, str]] = {
    "annotate bench replay ../shared/data/convabuse --limit 200 --policy my-policy.json "
    "-o replay/": {"ANNOTATE_MODEL": "dry-run"},
}

# What a block needs before its first command: earlier documented commands (the README's
# own project set-up), where it runs, and the services it names.
REVIEWS_PROJECT = (
    "annotate project create reviews --kind classification --labels pos,neg,neutral "
    "--guideline guideline.md",
    "annotate import reviews data.csv",
)


@dataclass(frozen=True)
class Setting:
    given: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # postgres, labelstudio, shared_data
    marks: tuple[str, ...] = ()
    timeout: float = 600.0


SETTINGS: dict[str, Setting] = {  # keyed by the block's first command
    "make demo": Setting(marks=("live_model",), timeout=1200.0),
    REVIEWS_PROJECT[0]: Setting(marks=("live_model",)),
    f"export ANNOTATE_DB={DOCUMENTED_PG_URL}": Setting(needs=("postgres",), marks=("postgres",)),
    "annotate pilot reviews --sample 50 --models local/smollm2,openai/gpt-4o-mini "
    "--error-cost 10 --human-cost 1 -o pilot/": Setting(given=REVIEWS_PROJECT,
                                                         marks=("live_model",)),
    "make install-distill": Setting(given=REVIEWS_PROJECT),
    "annotate bench replay ../shared/data/convabuse --limit 200 --policy my-policy.json "
    "-o replay/": Setting(needs=("shared_data",)),
    "annotate people add olga --owner": Setting(),
    "annotate people add ann": Setting(given=REVIEWS_PROJECT),
    "annotate ls config reviews": Setting(given=REVIEWS_PROJECT, needs=("labelstudio",),
                                          marks=("labelstudio",)),
}


# --- the tests ---------------------------------------------------------------------------

BLOCKS = doc_blocks()


def runnable(block: Block) -> bool:
    return any(c.key not in EXEMPT for c in block.commands)


def test_every_documented_command_is_run_or_exempt() -> None:
    documented = {c.key for b in BLOCKS for c in b.commands}
    untested = sorted(documented - COMMANDS.keys() - EXEMPT.keys())
    assert not untested, ("documented commands neither run by this suite nor exempted "
                          f"(add a check to COMMANDS or a reason to EXEMPT): {untested}")
    stale = sorted((COMMANDS.keys() | EXEMPT.keys() | ENV_OVERRIDES.keys()
                    | SETTINGS.keys() | set(REVIEWS_PROJECT)) - documented)
    assert not stale, f"entries for commands the docs no longer show: {stale}"
    assert not COMMANDS.keys() & EXEMPT.keys()
    blocks = {b.commands[0].key for b in BLOCKS if runnable(b)}
    assert blocks <= SETTINGS.keys(), f"blocks without a Setting: {blocks - SETTINGS.keys()}"


def test_the_extraction_sees_continuations_and_comments() -> None:
    from tests.acceptance.docs_commands import split_commands

    commands = split_commands("# intro\na --x \\\n    --y 1   # note\n\nb '#not' # c\n")
    assert [c.key for c in commands] == ["a --x --y 1", "b '#not'"]
    assert commands[0].text == "a --x \\\n    --y 1   # note"


def _param(block: Block) -> object:
    setting = SETTINGS.get(block.commands[0].key, Setting())
    return pytest.param(block, id=block.name,
                        marks=[getattr(pytest.mark, m) for m in setting.marks])


@pytest.fixture
def story(request: pytest.FixtureRequest, work_dir: Path, reader_env: dict[str, str],
          openai_server: tuple[str, list[str]]) -> Iterator[Story]:
    block: Block = request.param
    setting = SETTINGS.get(block.commands[0].key, Setting())
    shell = Shell(cwd=work_dir, env=dict(reader_env),
                  timeout=setting.timeout)
    current = Story(shell=shell, openai_calls=openai_server[1])
    if "shared_data" in setting.needs:
        request.getfixturevalue("shared_data")  # skips where the shared data is absent
    if "labelstudio" in setting.needs:
        ls = request.getfixturevalue("label_studio")
        current.ls_url, current.ls_token = ls.url, ls.token
        shell.env.update({"LABEL_STUDIO_URL": ls.url, "LS_TOKEN": ls.token})
    if "postgres" not in setting.needs:
        yield from _given(current, setting)
        return
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL does not answer on 127.0.0.1:5432 but CI needs it")
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    with scratch_database("postgres", work_dir, prefix="annotate_acceptance") as url:
        current.pg_url = url
        yield from _given(current, setting)


def _given(story: Story, setting: Setting) -> Iterator[Story]:
    for command in setting.given:
        outcome = story.shell.run(command)
        if outcome.returncode != 0:
            pytest.fail(outcome.report("a documented set-up command of this block failed"))
    yield story


def run_documented(story: Story, command: Command) -> None:
    spec = COMMANDS[command.key]
    text_as_run = command.text
    if story.pg_url and DOCUMENTED_PG_URL in text_as_run:
        text_as_run = text_as_run.replace(DOCUMENTED_PG_URL, story.pg_url)
    if isinstance(spec, Server):
        port = int(re.findall(r"--port (\d+)", command.key)[-1])
        if not port_is_free(port):
            pytest.skip(f"port {port} is taken on this machine; `{command.key}` needs it")
        outcome, status, body = serve(story.shell, text_as_run, spec.probe)
        expect(status == 200 and spec.answer in body.decode(errors="replace"), outcome,
               f"{spec.probe} answered {status} {body[:200]!r}")
        expect("Traceback (most recent call last)" not in outcome.stderr, outcome,
               "the server printed a traceback")
        expect(port_is_free(port), outcome, f"port {port} is still taken after SIGTERM")
        return
    saved, cwd = dict(story.shell.env), story.shell.cwd
    story.shell.env.update(ENV_OVERRIDES.get(command.key, {}))
    if command.key.startswith("make "):  # the Makefile's targets: in the clone itself
        story.shell.cwd = REPO
    try:
        outcome = story.shell.run(text_as_run)
    finally:
        story.shell.cwd = cwd
        exported = {k: v for k, v in story.shell.env.items()
                    if saved.get(k) != v and k not in ENV_OVERRIDES.get(command.key, {})}
        story.shell.env = {**saved, **exported}
    check_ran(outcome)
    spec(story, outcome)


@pytest.mark.parametrize("story", [_param(b) for b in BLOCKS if runnable(b)], indirect=True)
def test_documented_block(story: Story, request: pytest.FixtureRequest) -> None:
    block: Block = request.node.callspec.params["story"]
    for command in block.commands:
        if command.key in EXEMPT:
            continue
        run_documented(story, command)
