"""A thin, typed face of ``label_studio_sdk`` (2.x) that speaks plain dicts and one-line errors.

The SDK is imported lazily (inside :func:`connect`). ``LabelStudio(base_url, api_key)``
accepts both kinds of token: a legacy token (sent as ``Authorization: Token``) and a
personal access token (a JWT refresh token the SDK exchanges for ``Bearer`` access tokens).
Every SDK or HTTP failure becomes a :class:`LabelStudioError` with one clear line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from annotate.errors import InvalidInput

TIMEOUT_S = 60.0


class LabelStudioError(InvalidInput):
    """Label Studio cannot be reached, refused the token, or refused a request."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class ConfigMismatch(LabelStudioError):
    """The Label Studio project's labeling config does not match the project's schema."""


def normalise_server(url: str) -> str:
    """``http://Host:8080/`` -> ``http://host:8080``; InvalidInput for what is not a URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LabelStudioError(
            f"not a Label Studio URL: {url!r} (expected http://host:port or https://host)"
        )
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    dumped: dict[str, Any] = obj.dict()
    return dumped


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _api_detail(body: Any) -> str:
    if isinstance(body, dict):
        errors = body.get("validation_errors")
        if isinstance(errors, dict) and errors:
            messages = [str(m) for value in errors.values()
                        for m in (value if isinstance(value, list) else [value])]
            return _one_line("; ".join(messages))
        return _one_line(str(body.get("detail") or body))
    return _one_line(str(body), 200)


class LabelStudioServer:
    """One Label Studio server reached with one token."""

    def __init__(self, server: str, sdk: Any) -> None:
        self.server = server
        self._sdk = sdk

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        try:
            yield
        except ApiError as exc:
            raise self._api_error(doing, exc.status_code, exc.body) from None
        except httpx.HTTPError as exc:
            reason = _first_line(str(exc)) or type(exc).__name__
            raise LabelStudioError(
                f"cannot reach Label Studio at {self.server} ({reason})"
            ) from None
        except ValueError as exc:  # an answer that is not JSON: not a Label Studio server
            raise LabelStudioError(
                f"{self.server} did not answer like Label Studio while {doing} ({exc})"
            ) from None

    def _api_error(self, doing: str, status: int | None, body: Any) -> LabelStudioError:
        detail = _api_detail(body)
        if status in (401, 403):
            message = f"Label Studio at {self.server} refused the token ({status}: {detail})"
        elif status is not None and 200 <= status < 300:
            message = (f"{self.server} does not look like Label Studio: it answered {status} "
                       f"with something else than the expected JSON while {doing}")
        elif status is None:
            message = f"Label Studio at {self.server}: {detail} while {doing}"
        else:
            message = f"Label Studio at {self.server} answered {status} while {doing}: {detail}"
        return LabelStudioError(message, status=status, detail=detail)

    def whoami(self) -> dict[str, Any]:
        """The token's user; the first contact, so a server that is down fails fast."""
        with self._errors("checking the token"):
            return _dump(self._sdk.users.whoami(request_options={"max_retries": 0}))

    def get_project(self, ls_project_id: int) -> dict[str, Any]:
        with self._errors(f"reading project {ls_project_id}"):
            return _dump(self._sdk.projects.get(ls_project_id))

    def create_project(self, **fields: Any) -> int:
        with self._errors("creating the project"):
            return int(self._sdk.projects.create(**fields).id)

    def update_project(self, ls_project_id: int, **fields: Any) -> None:
        with self._errors(f"updating project {ls_project_id}"):
            self._sdk.projects.update(ls_project_id, **fields)

    def check_config(self, ls_project_id: int, label_config: str) -> str:
        """"" when Label Studio accepts the config for the project, else its reason."""
        try:
            with self._errors(f"validating the config of project {ls_project_id}"):
                self._sdk.projects.validate_label_config(ls_project_id, label_config=label_config)
        except LabelStudioError as exc:
            if exc.status == 400:
                return exc.detail
            raise
        return ""

    def import_tasks(self, ls_project_id: int, tasks: Sequence[dict[str, Any]]) -> list[int]:
        """Create tasks; their ids in the order given."""
        with self._errors(f"importing tasks into project {ls_project_id}"):
            answer = self._sdk.projects.import_tasks(
                ls_project_id, request=list(tasks), return_task_ids=True, commit_to_project=True
            )
        ids = [int(i) for i in (answer.task_ids or [])]
        if len(ids) != len(tasks):
            raise LabelStudioError(
                f"Label Studio at {self.server} created {len(ids)} of {len(tasks)} tasks "
                f"in project {ls_project_id}"
            )
        return ids

    def import_predictions(self, ls_project_id: int,
                           predictions: Sequence[dict[str, Any]]) -> None:
        with self._errors(f"importing predictions into project {ls_project_id}"):
            self._sdk.projects.import_predictions(ls_project_id, request=list(predictions))

    def list_predictions(self, ls_project_id: int) -> list[dict[str, Any]]:
        with self._errors(f"listing the predictions of project {ls_project_id}"):
            return [_dump(p) for p in self._sdk.predictions.list(project=ls_project_id)]

    def iter_tasks(self, ls_project_id: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every task of the project with its annotations and predictions."""
        with self._errors(f"listing the tasks of project {ls_project_id}"):
            pager = self._sdk.tasks.list(project=ls_project_id, fields="all",
                                         page_size=page_size)
            for task in pager:
                yield _dump(task)

    def user_names(self) -> dict[int, str]:
        """User id -> email (or username) for naming annotators."""
        with self._errors("listing users"):
            users = [_dump(u) for u in self._sdk.users.list()]
        return {int(u["id"]): str(u.get("email") or u.get("username") or f"user-{u['id']}")
                for u in users}

    def export_json(self, ls_project_id: int) -> list[dict[str, Any]]:
        """The project's JSON export (a snapshot export, downloaded)."""
        with self._errors(f"exporting project {ls_project_id}"):
            exported: list[dict[str, Any]] = self._sdk.projects.exports.as_json(ls_project_id)
        return exported

    @property
    def sdk(self) -> Any:
        """The underlying ``label_studio_sdk.LabelStudio`` client (for what is not wrapped)."""
        return self._sdk


def connect(url: str, token: str, *, check: bool = True) -> LabelStudioServer:
    """A client for ``url`` with ``token`` (legacy or personal access token), token checked."""
    server = normalise_server(url)
    if not token or not token.strip():
        raise LabelStudioError("no Label Studio token given (--token or LABEL_STUDIO_API_KEY)")
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    try:
        sdk = LabelStudio(  # type: ignore[no-untyped-call]
            base_url=server, api_key=token.strip(), timeout=TIMEOUT_S)
    except ApiError as exc:  # an expired or malformed personal access token
        raise LabelStudioError(
            f"Label Studio token rejected before sending: {_api_detail(exc.body)}"
        ) from None
    client = LabelStudioServer(server, sdk)
    if check:
        client.whoami()
    return client
