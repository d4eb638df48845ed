#!/usr/bin/env bash
# Installs what the tests need (the Python reference packages and the default model), then runs every
# test in release mode: the model tests dequantize and run a 270M-parameter model, too slow in debug.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
# The references the tests compare against, at the versions the fixtures were made with.
"$python" -m pip install --quiet --disable-pip-version-check -r Scripts/requirements-test.txt
Scripts/install-model.sh

# Release mode with testing enabled: some test suites import their module with @testable.
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release --skip-build -Xswiftc -enable-testing "$@"
