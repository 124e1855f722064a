"""Who may call the ML backend: HTTP Basic credentials, as Label Studio sends them.

Label Studio 1.23 stores ``auth_method="BASIC_AUTH"``, ``basic_auth_user`` and
``basic_auth_pass`` on the ML backend object and sends them with every request to it
(``requests``' ``HTTPBasicAuth``, also on ``/health``); ``label-studio-ml`` reads the same pair
from ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS``. Without credentials the backend serves only a
loopback address (``--no-auth``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass, field

from annotate.errors import InvalidInput

DEFAULT_USER = "annotate"
MIN_PASSWORD_CHARS = 16
REALM = 'Basic realm="annotate ML backend", charset="UTF-8"'


@dataclass(frozen=True)
class BasicCredentials:
    """The one user and password the backend accepts (``repr`` never shows the password)."""

    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.user) <= 64 or ":" in self.user or not self.user.isprintable():
            raise InvalidInput("the backend user must be 1-64 printable characters without ':'")
        if len(self.password) < MIN_PASSWORD_CHARS or not self.password.isprintable():
            raise InvalidInput(f"the backend password must be at least {MIN_PASSWORD_CHARS} "
                               "printable characters (leave it out to get a random one)")

    @classmethod
    def generated(cls, user: str = DEFAULT_USER) -> BasicCredentials:
        """A user with a random password (32 URL-safe characters, 192 bits)."""
        return cls(user, secrets.token_urlsafe(24))

    def admits(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries these credentials (constant time in
        the secret: both parts are always compared)."""
        given_user, given_password = _basic_pair(authorization)
        user_ok = hmac.compare_digest(given_user, self.user.encode("utf-8"))
        password_ok = hmac.compare_digest(given_password, self.password.encode("utf-8"))
        return user_ok & password_ok


def _basic_pair(authorization: str | None) -> tuple[bytes, bytes]:
    """``(user, password)`` of a Basic header; two empty values for anything else."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or len(token) > 1024:
        return b"", b""
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b"", b""
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else (b"", b"")


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address (``""``, ``0.0.0.0`` and
    ``::`` are every interface, so no)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                               for info in infos)


def check_open_access(host: str) -> None:
    """Refuse to serve without credentials anywhere but on a loopback address."""
    if not is_loopback(host):
        raise InvalidInput(f"--no-auth serves only a loopback address (127.0.0.1, ::1), not "
                           f"{host or 'every interface'}; give --auth-pass or "
                           "ANNOTATE_BACKEND_PASSWORD instead")
