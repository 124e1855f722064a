"""Build pii_set.jsonl from pii_source.txt (run from anywhere: ``python build.py``).

Each source line is ``LANG<TAB>TEXT`` with personal data marked ``[[TYPE|value]]``; the
output has the plain text and the exact character spans ``[start, end, type]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
TYPES = {"PERSON", "EMAIL", "PHONE", "CARD", "IBAN", "ADDRESS", "ID", "DATE_OF_BIRTH", "IP"}
MARK = re.compile(r"\[\[(?P<type>[A-Z_]+)\|(?P<value>.+?)\]\]")


def parse_line(line: str) -> dict[str, object]:
    lang, marked = line.split("\t", 1)
    text, spans, pos = [], [], 0
    length = 0
    for match in MARK.finditer(marked):
        if match.group("type") not in TYPES:
            raise ValueError(f"unknown type {match.group('type')} in {line!r}")
        text.append(marked[pos:match.start()])
        length += match.start() - pos
        value = match.group("value")
        spans.append([length, length + len(value), match.group("type")])
        text.append(value)
        length += len(value)
        pos = match.end()
    text.append(marked[pos:])
    plain = "".join(text)
    if "[[" in plain or "]]" in plain:
        raise ValueError(f"unbalanced mark in {line!r}")
    return {"lang": lang, "text": plain, "spans": spans}


def build(source: Path = HERE / "pii_source.txt") -> list[dict[str, object]]:
    rows = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            row = parse_line(line)
            row = {"id": f"pii-{len(rows) + 1:03d}", **row}
            rows.append(row)
    return rows


def main() -> None:
    rows = build()
    out = HERE / "pii_set.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    print(f"{len(rows)} items -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
