"""Small text files people hand to a command (a guideline, a schema, a policy), read at the
door: UTF-8 (a BOM is dropped), no NUL, bounded in size; errors name the file and line."""

from __future__ import annotations

from pathlib import Path

from annotate.errors import InvalidInput

MAX_TEXT_FILE_BYTES = 5_000_000


def read_text_file(path: Path, what: str = "file") -> str:
    """The text of ``path``, or :class:`InvalidInput` ``FILE[:LINE]: what is wrong``."""
    try:
        if path.is_dir():
            raise InvalidInput(f"{path}: is a folder, not a {what}")
        size = path.stat().st_size
        if size > MAX_TEXT_FILE_BYTES:
            raise InvalidInput(f"{path}: a {what} of {size:,} bytes is too large "
                               f"(at most {MAX_TEXT_FILE_BYTES:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the {what}: {exc.strerror}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"{path}:{line}: the {what} is not valid UTF-8 (byte "
                           f"0x{data[exc.start]:02x}); save it as UTF-8") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidInput(f"{path}:{line}: the {what} contains a NUL character")
    return text
