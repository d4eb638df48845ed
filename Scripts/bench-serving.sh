#!/usr/bin/env bash
# Measures the server under load, in one run on one machine: Phoenix alone (1 and 8 concurrent requests,
# and a 1,000-token shared prefix with and without the prefix cache), then llama.cpp's llama-server on the
# same model and the same loads, each server alone on the machine while measured; the two take turns for
# --rounds rounds. Prints a table of medians over rounds and, with --json FILE, writes every
# `phoenix loadtest` report.
#
#   Scripts/bench-serving.sh                          # 2 threads, 64-token prompts, 64 tokens out, 3 rounds
#   Scripts/bench-serving.sh --threads 2 --requests 16 --max-tokens 64 --rounds 3 [--model PATH] [--json FILE] [--no-llama]
#
# Builds Phoenix in release mode (PHOENIX_BIN=path skips that) and llama-server with
# Scripts/build-llamacpp.sh (the llama-cpp-python sdist from PyPI) if it is missing. llama-server runs
# with 8 slots, continuous batching and --no-repack (its repacked layouts can fault on some machines).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

threads=2 requests=16 max_tokens=64 prompt_tokens=64 json_out="" with_llama=1 rounds=3
model="${PHOENIX_MODEL:-${PHOENIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phoenix}/gemma-3-270m-q4_k_m.gguf}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -t|--threads) threads="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --max-tokens) max_tokens="$2"; shift 2 ;;
        --prompt-tokens) prompt_tokens="$2"; shift 2 ;;
        -m|--model) model="$2"; shift 2 ;;
        --json) json_out="$2"; shift 2 ;;
        --no-llama) with_llama=0; shift ;;
        --rounds) rounds="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

[[ -f "$model" ]] || Scripts/install-model.sh
if [[ -n "${PHOENIX_BIN:-}" ]]; then
    phoenix="$PHOENIX_BIN"
else
    swift build -c release --product phoenix >&2
    phoenix="$root/.build/release/phoenix"
fi
llama_server="$root/.references/llama.cpp-build/bin/llama-server"
if [[ $with_llama == 1 && ! -x "$llama_server" ]]; then Scripts/build-llamacpp.sh >&2; fi

work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

# Starts a server in the background and waits until GET /v1/models answers (at most 120 s).
start_server() {  # port, command...
    local port="$1"; shift
    "$@" > "$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 240); do
        if python3 - "$port" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=1).read()
PY
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "server exited" >&2; exit 1; }
        sleep 0.5
    done
    cat "$work/server.log" >&2
    echo "server did not come up on port $port" >&2
    exit 1
}

# Runs one load and saves its JSON report as $work/NAME.json.
load() {  # name, port, loadtest flags...
    local name="$1" port="$2"; shift 2
    "$phoenix" loadtest --url "http://127.0.0.1:$port" --json "$@" > "$work/$name.json"
    python3 - "$work/$name.json" "$name" >&2 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  {sys.argv[2]}: {r['output_tokens_per_second']:.1f} tok/s, TTFT p50 {r['ttft_ms']['p50']:.0f} ms, failed {r['failed']}")
PY
}

standard_loads() {  # prefix-rN, port
    load "${1%-r*}-c1-${1##*-}" "$2" --requests $((requests / 4 > 2 ? requests / 4 : 2)) --concurrency 1 \
        --prompt-tokens "$prompt_tokens" --max-tokens "$max_tokens"
    load "${1%-r*}-c8-${1##*-}" "$2" --requests "$requests" --concurrency 8 --prompt-tokens "$prompt_tokens" \
        --max-tokens "$max_tokens"
}
prefix_load() {  # name, port: one request fills the cache, then four share its 1,000-token prefix
    load "$1" "$2" --requests 5 --concurrency 1 --prompt-tokens 1040 --shared-prefix-tokens 1000 --max-tokens 1
}

port=18481
for round in $(seq 1 "$rounds"); do
    echo "round $round: Phoenix ($threads threads)" >&2
    start_server $port "$phoenix" serve --model "$model" --port $port --threads "$threads" --max-batch 8 --context 2048
    standard_loads "phoenix-r$round" $port
    prefix_load "phoenix-prefix-r$round" $port
    stop_server
    start_server $port "$phoenix" serve --model "$model" --port $port --threads "$threads" --max-batch 8 --context 2048 --no-prefix-cache
    prefix_load "phoenix-no-prefix-r$round" $port
    stop_server

    if [[ $with_llama == 1 ]]; then
        echo "round $round: llama-server ($threads threads, 8 slots)" >&2
        start_server $port "$llama_server" -m "$model" --port $port --threads "$threads" -np 8 -c $((8 * 2048)) \
            --no-repack --cont-batching
        standard_loads "llama-r$round" $port
        prefix_load "llama-prefix-r$round" $port
        stop_server
    fi
done

python3 - "$work" "$json_out" <<'PY'
import json, os, statistics, sys
work, out = sys.argv[1], sys.argv[2]
runs = {}
for name in sorted(os.listdir(work)):
    if name.endswith(".json"):
        base = name[:-5].rsplit("-r", 1)[0]
        runs.setdefault(base, []).append(json.load(open(os.path.join(work, name))))
def median(key, field, sub=None):
    values = [(r[field][sub] if sub else r[field]) for r in runs.get(key, [])]
    return statistics.median(values) if values else None
print(f"medians over {max(len(v) for v in runs.values())} rounds")
print("| load                               |    tok/s | TTFT p50 ms | TPOT p50 ms | failed |")
print("|------------------------------------|----------|-------------|-------------|--------|")
for label, key in [("Phoenix, 1 at a time", "phoenix-c1"), ("Phoenix, 8 concurrent", "phoenix-c8"),
                   ("Phoenix, shared 1,000-token prefix", "phoenix-prefix"), ("Phoenix, same without prefix cache", "phoenix-no-prefix"),
                   ("llama-server, 1 at a time", "llama-c1"), ("llama-server, 8 concurrent", "llama-c8"),
                   ("llama-server, shared prefix", "llama-prefix")]:
    if key in runs:
        failed = sum(r["failed"] for r in runs[key])
        print(f"| {label:<34} | {median(key, 'output_tokens_per_second'):>8.1f} | {median(key, 'ttft_ms', 'p50'):>11.0f} "
              f"| {median(key, 'tpot_ms', 'p50'):>11.1f} | {failed:>6} |")
def ratio(label, a, b, field, sub=None, inverse=False):
    if a in runs and b in runs:
        x, y = median(a, field, sub), median(b, field, sub)
        print(f"{label}: {(y / x if inverse else x / y):.2f}x")
ratio("Phoenix 8 concurrent / 1 at a time (tokens/s)", "phoenix-c8", "phoenix-c1", "output_tokens_per_second")
ratio("Phoenix time to first token, prefix cache off / on (p50)", "phoenix-prefix", "phoenix-no-prefix", "ttft_ms", "p50", inverse=True)
ratio("Phoenix / llama-server, 1 at a time (tokens/s)", "phoenix-c1", "llama-c1", "output_tokens_per_second")
ratio("Phoenix / llama-server, 8 concurrent (tokens/s)", "phoenix-c8", "llama-c8", "output_tokens_per_second")
if out:
    json.dump(runs, open(out, "w"), indent=2)
PY
