#!/bin/sh
# Make sure .venv exists and holds the given requirement files; pip runs again only when one changed.
# The Python that makes it is $PYTHON if set (PYTHON=python3.12 ./run.sh ...), else the first python3 on PATH;
# numpy-gpt2 runs on Python 3.9 to 3.13.
set -e
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
supported() { case "$1" in 3.9|3.1[0-3]) return 0;; *) return 1;; esac; }
if [ ! -x .venv/bin/python ]; then
    wanted=$(version "$python") || { echo "error: cannot run $python: install Python 3.9 to 3.13, or name one with PYTHON=..." >&2; exit 1; }
    supported "$wanted" || { echo "error: $python is Python $wanted; numpy-gpt2 runs on 3.9 to 3.13: name one of those with PYTHON=python3.12 (say) before the command" >&2; exit 1; }
    "$python" -m venv .venv
fi
made=$(version .venv/bin/python) || { echo "error: .venv is broken (its python does not run): delete it (rm -rf .venv) and run the command again" >&2; exit 1; }
if ! supported "$made"; then
    echo "error: .venv was made by Python $made; numpy-gpt2 runs on 3.9 to 3.13: delete it (rm -rf .venv) and run again with PYTHON=python3.12 (say)" >&2
    exit 1
fi
if [ -n "$PYTHON" ] && [ "$(version "$PYTHON")" != "$made" ]; then
    echo "error: .venv was made by Python $made, and PYTHON asks for $(version "$PYTHON" || echo "$PYTHON, which does not run"): delete .venv (rm -rf .venv) to make it anew with that one" >&2
    exit 1
fi
stamp=.venv/installed-requirements
if [ ! -f "$stamp" ] || [ "$(cat "$@")" != "$(cat "$stamp")" ]; then
    args=""
    for f in "$@"; do args="$args -r $f"; done
    .venv/bin/python -m pip install --quiet --disable-pip-version-check $args >&2
    cat "$@" > "$stamp"
fi
