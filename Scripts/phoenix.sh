#!/usr/bin/env bash
# Sets up a fresh machine and runs Phoenix: installs the default model if needed, builds the `phoenix`
# command in release mode, then runs it with the arguments given. With no arguments it runs the main job
# on the default model.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/install-model.sh
swift build -c release --product phoenix >&2

if [[ $# -eq 0 ]]; then
    set -- generate --prompt "The three most important inventions of the twentieth century were" --max-tokens 64
fi
exec .build/release/phoenix "$@"
