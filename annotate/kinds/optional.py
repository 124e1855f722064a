"""The members a task kind may leave out, each read here with what a kind without it gets.

:class:`~annotate.kinds.base.TaskKind` lists what every kind has. The members below are
optional: a kind that supports the feature defines the member, one that does not simply has
no such attribute, or sets it to None (a plugin kind written before a member existed keeps
working unchanged).
The rest of the platform reads them only through these functions, never by naming a kind.

- ``value_from_label(schema, cell) -> value``: a CSV cell (or a bare JSON label) read back
  as a raw value, the reverse of :meth:`~annotate.kinds.base.TaskKind.label`; ValueError
  when the cell does not read. Without it a bare label is refused with one line.
- ``option_fields(schema) -> list[str]``: the item data fields an answer chooses among
  (their texts are shown side by side; pairwise files carry them). Without it: none.
- ``highlight(schema, text, value) -> str | None``: Markdown of the item text with the
  value marked in it (a suggestion's spans, coloured). Without it: nothing beyond the
  one-line form.
- ``setup_form``: a :class:`~annotate.kinds.base.SetupForm`, what the new-project form asks.
  Without it: labels only.
- ``schema_from_setup(names, scale, allow_tie) -> dict``: the schema (as JSON) from that
  form's fields. Without it: :meth:`~annotate.kinds.base.TaskKind.default_schema` of the
  names.
- ``default_policy_overrides``: routing policy fields a new project of the kind starts with,
  over :data:`annotate.projects.policy.NEW_PROJECT`. Without it: none.
- ``distillable``: whether ``annotate distill`` can train a small classifier for the kind.
  Without it: False.
- ``distill_inputs``: a :class:`DistillInputs`, how a distillable kind's item becomes the
  texts a distilled model embeds and the features its linear layer reads, and the labels it
  predicts. Without it: the item's text alone, its embedding as the features, and the
  schema's labels (:data:`ITEM_TEXT`, what classification uses).
- ``labelstudio.candidate_value(text) -> value``: the value a Helper candidate (its shown
  text) is pushed to Label Studio as, a prediction the annotator starts from. Without it the
  Helper's candidates are not pushed.
- ``widget.lists_candidates``: the kind's answer widget lists every Helper candidate as an
  option to choose, edit, or pass over for one's own answer (text). Without it only the
  Helper's top candidate is shown, as the pre-label (what a choice trace records as shown).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from annotate.kinds.base import SetupForm
from annotate.kinds.registry import BUILTIN, get_kind

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from annotate.kinds.schema import LabelSchema

    FloatArray = npt.NDArray[np.float64]


def value_from_label(schema: LabelSchema, cell: Any) -> Any:
    """A bare label (a CSV cell or a JSON value that is not an object) as a raw value of the
    project's kind; ValueError (one line) when it does not read or the kind reads none."""
    kind = get_kind(schema.kind)
    read: Callable[[LabelSchema, Any], Any] | None = getattr(kind, "value_from_label", None)
    if read is None:
        raise ValueError(f"a {kind.name} answer cannot be read from a bare label {cell!r}; "
                         "import it as a whole value (export-jsonl)")
    return read(schema, cell)


def option_fields(schema: LabelSchema) -> list[str]:
    """The item data fields an answer of the project's kind chooses among (often none)."""
    fields: Callable[[LabelSchema], list[str]] | None = getattr(
        get_kind(schema.kind), "option_fields", None)
    return list(fields(schema)) if fields is not None else []


def highlight(schema: LabelSchema, text: str, value: dict[str, Any]) -> str | None:
    """Markdown of ``text`` with ``value`` marked in it, or None when the kind marks nothing
    (or nothing in this value)."""
    mark: Callable[[LabelSchema, str, dict[str, Any]], str | None] | None = getattr(
        get_kind(schema.kind), "highlight", None)
    return mark(schema, text, value) if mark is not None else None


def setup_form(kind: str) -> SetupForm:
    """What the new-project form asks for ``kind``."""
    form = getattr(get_kind(kind), "setup_form", None)
    return form if isinstance(form, SetupForm) else SetupForm()


def schema_from_setup(kind: str, names: list[str], scale: list[str],
                      allow_tie: bool) -> dict[str, Any]:
    """The schema (as JSON, not yet validated) from the new-project form's fields; ``scale``
    and ``allow_tie`` matter only to kinds whose :func:`setup_form` asks them."""
    found = get_kind(kind)
    build: Callable[[list[str], list[str], bool], dict[str, Any]] | None = getattr(
        found, "schema_from_setup", None)
    return build(names, scale, allow_tie) if build is not None else found.default_schema(names)


def default_policy_overrides(kind: str) -> Mapping[str, Any]:
    """The routing policy fields a new project of ``kind`` sets its own way."""
    overrides: Mapping[str, Any] | None = getattr(get_kind(kind), "default_policy_overrides",
                                                  None)
    return overrides or {}


def distillable(kind: str) -> bool:
    """Whether a small classifier can be trained on, and answer, projects of ``kind``."""
    return bool(getattr(get_kind(kind), "distillable", False))


def distillable_kinds() -> list[str]:
    """The built-in kinds a small classifier can be trained on (for messages)."""
    return [name for name in BUILTIN if distillable(name)]


class DistillInputs(Protocol):
    """What a distilled model of a kind reads: per item a fixed number of texts to embed,
    the features a linear layer compares them by, and the labels it chooses among."""

    def texts(self, schema: LabelSchema, text: str, data: Mapping[str, Any]) -> list[str]:
        """The texts to embed for one item (as many for every item of ``schema``);
        ValueError (one line) when the item lacks one."""
        ...

    def features(self, vectors: FloatArray) -> FloatArray:
        """Embeddings ``items x texts x dims`` -> features ``items x features``."""
        ...

    def labels(self, schema: LabelSchema) -> list[str]:
        """The labels a model of ``schema`` may predict (each read back by
        :func:`value_from_label`)."""
        ...


class ItemText:
    """The default: the item's text, its embedding as the features, the schema's labels."""

    def texts(self, schema: LabelSchema, text: str, data: Mapping[str, Any]) -> list[str]:
        return [text]

    def features(self, vectors: FloatArray) -> FloatArray:
        return vectors[:, 0, :]

    def labels(self, schema: LabelSchema) -> list[str]:
        return list(schema.labels)


ITEM_TEXT = ItemText()


def distill_inputs(kind: str) -> DistillInputs:
    """How a distilled model of ``kind`` turns items into features (:class:`DistillInputs`)."""
    inputs: DistillInputs | None = getattr(get_kind(kind), "distill_inputs", None)
    return inputs or ITEM_TEXT


def candidate_value(schema: LabelSchema) -> Callable[[str], dict[str, Any]] | None:
    """How a Helper candidate's text becomes a Label Studio prediction for the project's
    kind; None when its Label Studio mapping does not take the Helper's candidates."""
    studio = get_kind(schema.kind).labelstudio
    to_value: Callable[[str], dict[str, Any]] | None = getattr(studio, "candidate_value", None)
    return to_value


def lists_candidates(kind: str) -> bool:
    """Whether the kind's answer widget lists every Helper candidate as an option (else only
    the top candidate is shown, as the pre-label)."""
    widget = getattr(get_kind(kind), "widget", None)
    return bool(getattr(widget, "lists_candidates", False))
