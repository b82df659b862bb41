#!/usr/bin/env bash
# Makes (once, again when requirements.txt changes) the virtualenv of the benchmark's Python
# clients in .build/benchmark-venv, pip-installing requirements.txt by name, and prints the path of
# its python as the last line. Used by `stt-benchmark cpu`; progress goes to standard error.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.build/benchmark-venv"
requirements="$root/Benchmarks/python/requirements.txt"

if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/requirements.txt"; then
    echo "$venv/bin/python"
    exit 0
fi

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    echo "python3 -m venv is missing: installing python3-venv" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends python3-venv >&2
fi

echo "making $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
cp "$requirements" "$venv/requirements.txt"
echo "$venv/bin/python"
