"""Bad URL, bad token, server down, config mismatch: one clear line each (exit 2 in the CLI)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from typer.testing import CliRunner

from annotate.cli.labelstudio_cmd import ls_app
from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.client import ConfigMismatch, LabelStudioError, connect
from annotate.integrations.labelstudio.pull import pull
from annotate.integrations.labelstudio.push import push
from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store
from tests.labelstudio.conftest import LabelStudioInstance, free_port, make_ls_project

SENTIMENT = LabelSchema(kind="classification", labels=["pos", "neg"])


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.strip() == message
    assert isinstance(exc.value, InvalidInput)
    return message


@pytest.mark.parametrize("url", ["nonsense", "ftp://host/", "localhost:8080", ""])
def test_not_a_url(url: str) -> None:
    with pytest.raises(LabelStudioError) as exc:
        connect(url, "token")
    assert one_line(exc).startswith("not a Label Studio URL")


def test_no_token() -> None:
    with pytest.raises(LabelStudioError, match="no Label Studio token"):
        connect("http://127.0.0.1:1", " ")


def test_server_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LabelStudioError) as exc:
        connect(url, "token")
    assert one_line(exc).startswith(f"cannot reach Label Studio at {url} (")


class _NotLabelStudio(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>hello</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _NotLabelStudio)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_label_studio(other_server: str) -> None:
    with pytest.raises(LabelStudioError) as exc:
        connect(other_server, "token")
    assert one_line(exc).startswith(f"{other_server} does not look like Label Studio")


@pytest.mark.labelstudio
def test_bad_token(label_studio: LabelStudioInstance) -> None:
    with pytest.raises(LabelStudioError) as exc:
        connect(label_studio.url, "not-the-token")
    assert one_line(exc) == (f"Label Studio at {label_studio.url} refused the token "
                             "(401: Invalid token.)")


@pytest.mark.labelstudio
def test_a_personal_access_token_works_too(label_studio: LabelStudioInstance,
                                           sqlite_store: Store) -> None:
    admin = connect(label_studio.url, label_studio.token)
    assert admin.sdk.jwt_settings.get().api_tokens_enabled  # on by default
    jwt = admin.sdk.tokens.create().token
    assert jwt.count(".") == 2  # a JWT refresh token, exchanged for Bearer access tokens
    make_ls_project(sqlite_store, "pat", SENTIMENT, [("1", "fine", {})])
    report = push(sqlite_store, "pat", label_studio.url, jwt)
    assert report.tasks_created == 1
    assert connect(label_studio.url, jwt).whoami()["email"] == label_studio.email


@pytest.mark.labelstudio
def test_unknown_ls_project(label_studio: LabelStudioInstance, sqlite_store: Store) -> None:
    make_ls_project(sqlite_store, "p", SENTIMENT, [("1", "fine", {})])
    with pytest.raises(LabelStudioError) as exc:
        push(sqlite_store, "p", label_studio.url, label_studio.token, ls_project=987654)
    assert "answered 404 while reading project 987654" in one_line(exc)


@pytest.mark.labelstudio
def test_pull_before_push(label_studio: LabelStudioInstance, sqlite_store: Store) -> None:
    make_ls_project(sqlite_store, "p", SENTIMENT, [("1", "fine", {})])
    with pytest.raises(LabelStudioError) as exc:
        pull(sqlite_store, "p", label_studio.url, label_studio.token)
    assert "was never pushed" in one_line(exc)


@pytest.mark.labelstudio
def test_config_edited_in_label_studio_stops_the_pull(label_studio: LabelStudioInstance,
                                                      sqlite_store: Store) -> None:
    url, token = label_studio.url, label_studio.token
    make_ls_project(sqlite_store, "edited", SENTIMENT, [("1", "fine", {})])
    ls_pid = push(sqlite_store, "edited", url, token).ls_project_id
    other = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
             '<Choice value="pos"/><Choice value="neutral"/></Choices></View>')
    connect(url, token).update_project(ls_pid, label_config=other)
    with pytest.raises(ConfigMismatch) as exc:
        pull(sqlite_store, "edited", url, token)
    assert "does not match project 'edited'" in one_line(exc)
    assert push(sqlite_store, "edited", url, token).ls_project_id == ls_pid  # push resets it
    assert pull(sqlite_store, "edited", url, token).created == 0


@pytest.mark.labelstudio
def test_pushing_a_schema_that_breaks_existing_annotations(label_studio: LabelStudioInstance,
                                                           sqlite_store: Store) -> None:
    url, token = label_studio.url, label_studio.token
    make_ls_project(sqlite_store, "old", SENTIMENT, [("1", "fine", {})])
    ls_pid = push(sqlite_store, "old", url, token).ls_project_id
    client = connect(url, token)
    [task] = client.iter_tasks(ls_pid)
    client.sdk.annotations.create(id=task["id"], result=[{
        "from_name": "label", "to_name": "text", "type": "choices",
        "value": {"choices": ["pos"]}}])
    make_ls_project(sqlite_store, "new", LabelSchema(kind="classification",
                                                     labels=["neg", "other"]), [])
    with pytest.raises(ConfigMismatch) as exc:
        push(sqlite_store, "new", url, token, ls_project=ls_pid)
    message = one_line(exc)
    assert message.startswith(f"Label Studio project {ls_pid} cannot take the labeling config")
    assert "pos" in message


def test_cli_config_prints_the_xml(sqlite_store: Store) -> None:
    make_ls_project(sqlite_store, "cli", SENTIMENT, [])
    url = str(sqlite_store.engine.url)
    result = CliRunner().invoke(ls_app, ["config", "cli", "--db", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<View>") and '<Choice value="neg" />' in result.stdout


def test_cli_errors_are_one_line_and_exit_2(sqlite_store: Store) -> None:
    make_ls_project(sqlite_store, "cli", SENTIMENT, [])
    url = str(sqlite_store.engine.url)
    down = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(ls_app, ["push", "cli", "--url", down, "--token", "t",
                                         "--db", url])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot reach Label Studio at {down} ([Errno 111] Connection refused)"]
    missing = CliRunner().invoke(ls_app, ["config", "nope", "--db", url])
    assert missing.exit_code == 2 and "no project named 'nope'" in missing.stderr


@pytest.mark.labelstudio
def test_cli_push_and_pull(label_studio: LabelStudioInstance, sqlite_store: Store) -> None:
    make_ls_project(sqlite_store, "cli", SENTIMENT, [("1", "fine", {}), ("2", "bad", {})])
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.token}
    db = ["--db", str(sqlite_store.engine.url)]
    pushed = CliRunner().invoke(ls_app, ["push", "cli", *db], env=env)
    assert pushed.exit_code == 0, pushed.output
    assert "tasks_created=2" in pushed.stdout
    pulled = CliRunner().invoke(ls_app, ["pull", "cli", "--json", *db], env=env)
    assert pulled.exit_code == 0, pulled.output
    assert '"created": 0' in pulled.stdout
