#!/usr/bin/env bash
# Install the Label Studio server into its own virtualenv (it pins its own label-studio-sdk,
# Django 5.2, openai<2 and an old pytz, so it cannot share the project's venv).
#
# Cached at a stable path; a second run that finds a working install does nothing.
#   LABEL_STUDIO_VENV     where the venv lives (default ~/.cache/annotate/label-studio-venv)
#   LABEL_STUDIO_VERSION  the exact version (default 1.23.2)
#   LABEL_STUDIO_PYTHON   the interpreter to build the venv with (default python3.11 or python3)
# Prints the path of the `label-studio` executable on its last line.
set -euo pipefail

VERSION="${LABEL_STUDIO_VERSION:-1.23.2}"
VENV="${LABEL_STUDIO_VENV:-$HOME/.cache/annotate/label-studio-venv}"
PY="${LABEL_STUDIO_PYTHON:-$(command -v python3.11 || command -v python3)}"
BIN="$VENV/bin/label-studio"

installed_version() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as m
import label_studio  # noqa: F401  (the server package imports)
print(m.version("label-studio"))
EOF
}

if [[ -x "$BIN" && "$(installed_version || true)" == "$VERSION" ]]; then
    echo "label-studio $VERSION already installed in $VENV" >&2
    echo "$BIN"
    exit 0
fi

echo "installing label-studio $VERSION into $VENV (about 1 GB, about a minute)" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PY" -m venv "$VENV"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$VENV/bin/python" -m pip install "label-studio==$VERSION" >"$log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$log" | tail -40 >&2
    echo "pip could not install label-studio $VERSION" >&2
    exit 1
fi

got="$(installed_version)"
if [[ "$got" != "$VERSION" ]]; then
    echo "label-studio install in $VENV is broken (found ${got:-nothing})" >&2
    exit 1
fi
echo "label-studio $VERSION installed in $VENV" >&2
echo "$BIN"
