"""Rendering one guideline into each role's prompt (versioned Jinja templates).

The same markdown document people read is the heart of every prompt. Item text is fenced
as data: it sits between ``<item>`` tags with any tag-like sequence inside neutralised, and
the instructions say that nothing inside can change them. Outputs are validated regardless.

Every rendered prompt carries ``prompt_hash`` (sha256 of the exact messages) and the
template's version, stored on each annotation so a result can be traced and replayed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_VERSION = "1"
_TAG = re.compile(r"</?\s*(item|option|answer|example|context)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    user: str
    template: str
    template_version: str = TEMPLATE_VERSION

    @property
    def prompt_hash(self) -> str:
        blob = json.dumps([self.system, self.user], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def fence(text: str) -> str:
    """Neutralise tag-like sequences so item text cannot close its own fence."""
    return _TAG.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["fence"] = fence
    return env


def render(template: str, **context: Any) -> RenderedPrompt:
    """Render ``templates/<template>.j2``: its ``system`` and ``user`` blocks."""
    tmpl = _environment().get_template(f"{template}.j2")
    ctx = tmpl.new_context(context)
    system = "".join(tmpl.blocks["system"](ctx)).strip()
    user = "".join(tmpl.blocks["user"](ctx)).strip()
    return RenderedPrompt(system=system, user=user, template=template)


def section(guideline: str, title: str) -> str:
    """The body of a markdown section by its heading (case-insensitive), or ''."""
    lines = guideline.splitlines()
    out: list[str] = []
    inside = False
    level = 0
    for line in lines:
        heading = re.match(r"^(#+)\s+(.*)$", line)
        if heading:
            if inside and len(heading.group(1)) <= level:
                break
            if heading.group(2).strip().lower() == title.lower():
                inside, level = True, len(heading.group(1))
                continue
        if inside:
            out.append(line)
    return "\n".join(out).strip()
