"""The ``dry-run`` model: schema-valid random answers, instantly, for policy trials and load tests.

:func:`random_value` walks a JSON schema (the subset structured output uses: objects, arrays,
strings with enum/const/length bounds, numbers and integers with bounds, booleans, null,
``anyOf``/``oneOf``/``allOf``, local ``$ref``) and draws a value that validates against it.
The generator is seeded by the request hash, so a rerun gives the same answers.
"""

from __future__ import annotations

import json
import math
import random
import string
from typing import Any

MAX_DEPTH = 12
WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "dry", "run", "sample", "value", "text")
_NUMBER_SPAN = 100.0


class UnsupportedSchema(ValueError):
    """The schema uses a construct the generator cannot satisfy."""


def random_value(schema: dict[str, Any], rng: random.Random) -> Any:
    """A random value valid against ``schema``."""
    return _Generator(schema, rng).value(schema, 0)


def dry_run_text(schema: dict[str, Any] | None, seed: str) -> str:
    """The dry-run model's answer: JSON for a schema, a fixed sentence otherwise."""
    if schema is None:
        return "dry-run answer"
    return json.dumps(random_value(schema, random.Random(seed)), ensure_ascii=False)


class _Generator:
    def __init__(self, root: dict[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def value(self, schema: dict[str, Any], depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise UnsupportedSchema("schema nests too deeply (recursive $ref?)")
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.value(self.rng.choice(schema[key]), depth + 1)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            return self.value(merged, depth + 1)
        return self._typed(schema, self._pick_type(schema), depth)

    def _typed(self, schema: dict[str, Any], kind: str, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        scalars: dict[str, Any] = {
            "string": self._string, "integer": self._integer, "number": self._number,
            "boolean": lambda _s: self.rng.random() < 0.5, "null": lambda _s: None,
        }
        if kind not in scalars:
            raise UnsupportedSchema(f"unknown type {kind!r}")
        return scalars[kind](schema)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if ref is None:
            return schema
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise UnsupportedSchema(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {**node, **rest}

    def _pick_type(self, schema: dict[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            concrete = [k for k in kind if k != "null"] or kind
            return str(self.rng.choice(concrete))
        if isinstance(kind, str):
            return kind
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        return "string"

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or self.rng.random() < 0.5:
                out[name] = self.value(sub, depth + 1)
        missing = required - set(out)
        if missing:
            raise UnsupportedSchema(f"required properties without a schema: {sorted(missing)}")
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, 3)))
        items = schema.get("items", {})
        count = self.rng.randint(low, max(low, high))
        if not schema.get("uniqueItems"):
            return [self.value(items, depth + 1) for _ in range(count)]
        out: list[Any] = []
        for _ in range(count * 20):
            if len(out) == count:
                break
            candidate = self.value(items, depth + 1)
            if candidate not in out:
                out.append(candidate)
        if len(out) < low:
            raise UnsupportedSchema("cannot draw enough unique items")
        return out

    def _string(self, schema: dict[str, Any]) -> str:
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 40)))
        length = self.rng.randint(low, max(low, min(high, low + 40)))
        words: list[str] = []
        while sum(len(w) + 1 for w in words) <= length:
            words.append(self.rng.choice(WORDS))
        text = " ".join(words)[:length]
        if len(text) < low:  # only when the words ran out; pad with letters
            text += "".join(self.rng.choice(string.ascii_lowercase) for _ in range(low - len(text)))
        return text

    def _bounds(self, schema: dict[str, Any]) -> tuple[float, float, bool, bool]:
        low = schema.get("minimum")
        high = schema.get("maximum")
        ex_low = schema.get("exclusiveMinimum")
        ex_high = schema.get("exclusiveMaximum")
        lo = float(ex_low if ex_low is not None else low if low is not None else -_NUMBER_SPAN)
        hi = float(ex_high if ex_high is not None else high if high is not None else _NUMBER_SPAN)
        if low is None and high is not None and ex_low is None:
            lo = hi - _NUMBER_SPAN
        if high is None and low is not None and ex_high is None:
            hi = lo + _NUMBER_SPAN
        return lo, hi, ex_low is not None, ex_high is not None

    def _integer(self, schema: dict[str, Any]) -> int:
        lo, hi, ex_lo, ex_hi = self._bounds(schema)
        first = math.floor(lo) + 1 if ex_lo else math.ceil(lo)
        last = math.ceil(hi) - 1 if ex_hi else math.floor(hi)
        if first > last:
            raise UnsupportedSchema(f"no integer in [{lo}, {hi}]")
        return self.rng.randint(first, last)

    def _number(self, schema: dict[str, Any]) -> float:
        lo, hi, ex_lo, ex_hi = self._bounds(schema)
        if lo > hi or (lo == hi and (ex_lo or ex_hi)):
            raise UnsupportedSchema(f"no number in [{lo}, {hi}]")
        for _ in range(100):
            value = round(self.rng.uniform(lo, hi), 4)
            if lo <= value <= hi and not (ex_lo and value == lo) and not (ex_hi and value == hi):
                return value
        return (lo + hi) / 2
