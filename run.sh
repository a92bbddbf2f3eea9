#!/bin/sh
# Run GPT-2: ./run.sh "The color of the cat" [--model NAME_OR_FOLDER] [-n N] [--json] [--score]
# Creates .venv beside this script on first use and installs requirements.txt into it.
set -e
here=$(cd "$(dirname "$0")" && pwd)
"$here/scripts/venv.sh" requirements.txt
GPT2_COMMAND="$0" exec "$here/.venv/bin/python" "$here/main.py" "$@"
