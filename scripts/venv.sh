#!/bin/sh
# Make sure .venv exists and holds the given requirement files; pip runs again only when one changed.
set -e
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/installed-requirements
if [ ! -f "$stamp" ] || [ "$(cat "$@")" != "$(cat "$stamp")" ]; then
    args=""
    for f in "$@"; do args="$args -r $f"; done
    .venv/bin/python -m pip install --quiet --disable-pip-version-check $args >&2
    cat "$@" > "$stamp"
fi
