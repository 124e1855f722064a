"""The shell commands the documentation shows: every fenced ```bash block of README.md and
docs/*.md, split into the commands a reader would type.

The blocks are extracted with ``mktestdocs.grab_code_blocks`` (a maintained library made for
testing the code blocks of markdown) rather than copied into the tests, so the documentation
and the acceptance suite cannot drift apart. ``prysk`` transcripts were the other choice; they
would need the expected output written into the docs (timings, tokens and model answers vary
from run to run) or kept in separate ``.t`` files, which is the copy that drifts.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from mktestdocs import grab_code_blocks

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))


@dataclass(frozen=True)
class Command:
    """One command as written (continuation lines and comments kept) and its key: the words
    bash would see, without the comment, joined by single spaces."""

    text: str
    key: str


@dataclass(frozen=True)
class Block:
    doc: str  # path relative to the repository
    number: int  # 1-based index among the doc's bash blocks
    commands: tuple[Command, ...]

    @property
    def name(self) -> str:
        return f"{Path(self.doc).stem}-{self.number}"


def command_key(text: str) -> str:
    return shlex.join(shlex.split(text.replace("\\\n", " "), comments=True))


def split_commands(block: str) -> tuple[Command, ...]:
    """Logical lines: a line ending in a backslash continues on the next; blank and
    comment-only lines are not commands."""
    commands: list[Command] = []
    pending: list[str] = []
    for line in block.splitlines():
        pending.append(line)
        if line.rstrip().endswith("\\") and "#" not in line:
            continue
        text = "\n".join(pending).strip()
        pending = []
        if text and not text.startswith("#"):
            commands.append(Command(text=text, key=command_key(text)))
    if pending:
        raise ValueError(f"a block ends inside a continued line: {pending!r}")
    return tuple(commands)


def doc_blocks(docs: tuple[Path, ...] = DOCS) -> list[Block]:
    blocks: list[Block] = []
    for path in docs:
        bash_blocks = grab_code_blocks(path.read_text(encoding="utf-8"), lang="bash")
        blocks.extend(Block(doc=str(path.relative_to(REPO)), number=n,
                            commands=split_commands(code))
                      for n, code in enumerate(bash_blocks, start=1))
    return blocks
