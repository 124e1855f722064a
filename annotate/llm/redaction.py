"""Personal data: reversible placeholders before any non-local model.

:func:`annotate.llm.pii.detect` finds person names, e-mails, phones, cards, IBANs, addresses,
identity numbers, dates of birth and IP addresses (recall and precision per kind measured by
``benchmarks/pii.py``); each becomes a placeholder naming its kind (``[PERSON_1]``,
``[IBAN_1]``...) and the model's answer has them put back, so people see the real text.

The door is :meth:`annotate.llm.gateway.Gateway.complete`, the one way to litellm: it reads the
project's policy when it is built and passes every request through :func:`through_door` before
the cache, the budget and the call, whoever built the request or the gateway. For a model that
leaves the machine:

- ``local_only_personal_data``: a request with any personal data goes to the local model;
- else, with redaction on (the default for remote models), a request is redacted, unless it
  cannot be redacted with confidence (a *doubtful* span, score below
  :data:`annotate.llm.pii.DOUBTFUL_BELOW`, e.g. a 12-digit number that passes the INN checksum with
  no keyword next to it): then it is not sent and the call fails with kind ``personal_data``,
  so the task is left to a person (the run goes on; the failure is on the task).

The local model (``local/...``), ``dry-run`` and ``distilled:...`` see the text as it is.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from annotate.llm.pii import Span, detect, is_doubtful
from annotate.llm.types import DEFAULT_MODEL as LOCAL_MODEL
from annotate.llm.types import Completion, LLMError, LLMRequest, Message
from annotate.projects.catalog import project_policy
from annotate.store.engine import Store
from annotate.store.models import Project

LOCAL_PREFIXES = ("local/", "dry-run", "distilled:")


def is_local(model: str) -> bool:
    return model.startswith(LOCAL_PREFIXES)


def luhn_ok(digits: str) -> bool:
    from stdnum import luhn

    return digits.isdigit() and luhn.is_valid(digits)


def person_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, stop, text) of person names, left to right."""
    return [(s.start, s.end, text[s.start:s.end]) for s in detect(text) if s.kind == "PERSON"]


@dataclass
class Redactor:
    """Replaces personal data by numbered placeholders and remembers how to put it back."""

    names: bool = True
    mapping: dict[str, str] = field(default_factory=dict)  # placeholder -> original
    doubtful: bool = False  # some span in the texts redacted so far was doubtful
    _reverse: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def _placeholder(self, kind: str, original: str) -> str:
        if original in self._reverse:
            return self._reverse[original]
        self._counts[kind] = self._counts.get(kind, 0) + 1
        placeholder = f"[{kind}_{self._counts[kind]}]"
        self.mapping[placeholder] = original
        self._reverse[original] = placeholder
        return placeholder

    def redact(self, text: str) -> str:
        spans: list[Span] = detect(text, names=self.names)
        self.doubtful = self.doubtful or is_doubtful(spans)
        for span in reversed(spans):
            original = text[span.start:span.end]
            text = text[:span.start] + self._placeholder(span.kind, original) + text[span.end:]
        return text

    def restore(self, text: str) -> str:
        # Longest placeholder first: [PERSON_1] must not eat the start of [PERSON_12].
        for placeholder in sorted(self.mapping, key=len, reverse=True):
            text = text.replace(placeholder, self.mapping[placeholder])
        return text


def contains_personal_data(text: str) -> bool:
    return bool(detect(text))


@dataclass(frozen=True)
class PersonalDataRule:
    """What the door does with requests to a remote model, from the project's policy."""

    redact: bool = True  # the default: on for every model that leaves the machine
    local_only: bool = False  # a request with personal data goes to ``local_model`` instead
    local_model: str = LOCAL_MODEL
    names: bool = True

    @classmethod
    def of(cls, redact_personal_data: bool | None, local_only: bool) -> PersonalDataRule:
        """The rule of a policy's ``redact_personal_data`` (None: the default, on) and
        ``local_only_personal_data``."""
        return cls(redact=redact_personal_data is not False, local_only=local_only)


def project_rule(store: Store, project_id: int | None) -> PersonalDataRule:
    """The rule of a project's stored policy; the default rule (redaction on, not local-only)
    without a project."""
    if project_id is None:
        return PersonalDataRule()
    with store.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            return PersonalDataRule()
        policy = project_policy(project)
    return PersonalDataRule.of(policy.redact_personal_data, policy.local_only_personal_data)


@dataclass(frozen=True)
class Outgoing:
    """A request as it may leave the machine, and how to put the placeholders back."""

    request: LLMRequest
    redactor: Redactor | None = None

    def restore(self, result: Completion | LLMError) -> Completion | LLMError:
        """The answer with the original values in place of the placeholders."""
        redactor = self.redactor
        if isinstance(result, LLMError) or redactor is None or not redactor.mapping:
            return result
        data = json.loads(redactor.restore(json.dumps(result.data, ensure_ascii=False))) \
            if result.data is not None else None
        return dataclasses.replace(result, text=redactor.restore(result.text), data=data)


def through_door(rule: PersonalDataRule, request: LLMRequest, model: str
                 ) -> Outgoing | LLMError:
    """What of ``request`` (for ``model``) may be sent: as it is to a local model or with
    redaction off, to the local model under ``local_only``, else redacted; a request that
    cannot be redacted with confidence is not sent (an ``LLMError`` of kind
    ``personal_data``)."""
    if is_local(model) or not (rule.redact or rule.local_only):
        return Outgoing(request)
    if rule.local_only and any(contains_personal_data(m.content) for m in request.messages):
        return Outgoing(request.model_copy(update={"model": rule.local_model}))
    redactor = Redactor(names=rule.names)
    messages = tuple(Message(role=m.role, content=redactor.redact(m.content))
                     for m in request.messages)
    if redactor.doubtful:
        return LLMError(kind="personal_data", message="personal data that cannot be "
                        "redacted with confidence; not sent to a remote model, left to a "
                        "person", raw_text=None, model=model, request_hash="", call_id=None)
    return Outgoing(request.model_copy(update={"messages": messages}), redactor)


def redaction_applies(redact_personal_data: bool | None, model: str) -> bool:
    """Whether requests to ``model`` are redacted under a policy's ``redact_personal_data``
    (``None``: the default, on for every model that leaves the machine)."""
    return not is_local(model) and redact_personal_data is not False
