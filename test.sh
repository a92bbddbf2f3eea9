#!/bin/sh
# Run the test suite: ./test.sh [pytest options] [test files]
# Creates .venv beside this script on first use and installs the runtime and test requirements into it.
set -e
here=$(cd "$(dirname "$0")" && pwd)
"$here/scripts/venv.sh" requirements.txt requirements-dev.txt
cd "$here"
exec .venv/bin/python -m pytest "$@"  # pytest.ini: tests/ unless a path is given
