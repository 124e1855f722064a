"""Checking a model's raw answer before it leaves the gateway: not cut off, JSON that parses,
and (when the request had a JSON schema) valid against it. Roles still validate the value
with their pydantic models; this catches what no role can use.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from annotate.llm.types import ErrorKind

_validators: dict[str, Any] = {}
_validators_lock = threading.Lock()


@dataclass(frozen=True)
class AnswerProblem:
    """Why an answer is unusable."""

    kind: ErrorKind
    message: str


def check_answer(
    text: str, finish_reason: str, schema: dict[str, Any] | None
) -> tuple[Any, AnswerProblem | None]:
    """The parsed JSON (None without a schema) and the problem with the answer, if any."""
    if finish_reason == "length":
        return None, AnswerProblem(
            "truncated", "the answer hit max_tokens and was cut off (raise max_tokens or cap "
            "free-text fields with maxLength)"
        )
    if schema is None:
        return None, None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, AnswerProblem("invalid_json", f"the answer is not JSON: {exc}")
    problem = schema_problem(data, schema)
    if problem is not None:
        return data, AnswerProblem("schema_mismatch", problem)
    return data, None


def schema_problem(data: Any, schema: dict[str, Any]) -> str | None:
    """The first way ``data`` breaks ``schema``, or None when it is valid."""
    error = next(iter(_validator(schema).iter_errors(data)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"the answer does not match the schema at {where}: {error.message}"


def _validator(schema: dict[str, Any]) -> Any:
    key = json.dumps(schema, sort_keys=True)
    validator = _validators.get(key)
    if validator is None:
        from jsonschema.validators import validator_for

        validator = validator_for(schema)(schema)
        with _validators_lock:
            _validators[key] = validator
    return validator
