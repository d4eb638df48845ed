#!/usr/bin/env bash
# Measures Phoenix against llama.cpp on the same model, the same machine and in the same run:
# llama-bench and `phoenix bench` take turns (round 1: llama.cpp then Phoenix, round 2: the same, ...)
# so drifting machine load affects both alike. Prints, for pp and tg at each thread count, the median
# over rounds of each round's mean tokens/s, Phoenix's speed as a fraction of llama.cpp's, and the
# median of the rounds' own ratios (each pairs two runs made a minute apart, so it moves less when the
# machine's speed drifts from round to round).
#
# Each round also measures the memory read rate at each thread count (`phoenix bench --memory-bandwidth`)
# right after Phoenix's run, with a 1 GiB buffer and with one the size of the model file (a last-level
# cache of hundreds of MiB holds part of either the weights or that buffer between passes, but not of
# the larger one). For each decode test it prints the weight bytes read per second (tokens/s ×
# `weight_bytes_per_token`) as a share of each rate: the median decode rate over the median bandwidth,
# and the median of the rounds' own shares. It also times each weight format's decode kernel with its
# matrix in the caches (`phoenix bench --kernel-rates`) and prints the decode weight rate those kernel
# rates and memory allow together, as a share of memory's: the most the decode share can be. With two
# threads or more it prints, per round, a cache line's round trip between two threads beside the decode
# share: a virtual machine's cores may sit next to each other or far apart, and far apart both the
# memory read and what each of a decode step's forks and joins costs go up. The host can move them
# between a round's decoding and its memory read, which pairs rates of two different machines; so each
# round also reads memory right before Phoenix's run (a 256 MiB buffer), and a last line per thread
# count gives the decode share over the rounds whose reads before and after agree (within 15%, and the
# round trips within a factor of 2). --no-bandwidth skips all of this.
#
#   Scripts/compare-llamacpp.sh                         # pp512 and tg128, 2 threads, 3 rounds of 2 repetitions
#   Scripts/compare-llamacpp.sh --threads 1,2 --rounds 3 --reps 2 -p 512 -n 128 [-d DEPTH] [--model PATH] [--json FILE] [--no-bandwidth] [--avx2]
#
# -d (--n-depth) runs both benches' tests on top of DEPTH tokens already in the cache (llama-bench's -d),
# shown as "tg128 @ d4096"; the bandwidth tables are then left out, since decoding reads the KV cache too.
#
# --avx2 compares the two as an AVX2 CPU without AVX-512 runs them: llama-bench built for AVX2
# (`Scripts/build-llamacpp.sh --avx2`) against Phoenix with PHOENIX_WIDE_KERNELS=0 (its 256-bit kernels).
#
# Builds llama-bench with Scripts/build-llamacpp.sh if it is missing (the llama-cpp-python sdist from
# PyPI) and Phoenix in release mode (PHOENIX_BIN=path skips the build and runs that executable).
# llama-bench runs with --repack 0: its repacked weight layouts use instructions some virtual machines
# do not allow ("Illegal instruction"); LLAMA_BENCH_FLAGS replaces that flag.
# Needs python3 (to read the JSON both tools print).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

threads=2 rounds=3 reps=2 prompt=512 gen=128 depth=0 json_out="" bandwidth=1 avx2=0
model="${PHOENIX_MODEL:-${PHOENIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phoenix}/gemma-3-270m-q4_k_m.gguf}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -t|--threads) threads="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        -r|--reps|--repetitions) reps="$2"; shift 2 ;;
        -p|--n-prompt) prompt="$2"; shift 2 ;;
        -n|--n-gen) gen="$2"; shift 2 ;;
        -d|--n-depth) depth="$2"; shift 2 ;;
        -m|--model) model="$2"; shift 2 ;;
        --json) json_out="$2"; shift 2 ;;
        --no-bandwidth) bandwidth=0; shift ;;
        --avx2) avx2=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
read -r -a llama_flags <<< "${LLAMA_BENCH_FLAGS---repack 0}"
[[ "$depth" =~ ^[0-9]+$ ]] || { echo "-d takes one non-negative integer" >&2; exit 2; }
[[ "$depth" -eq 0 ]] || bandwidth=0

[[ -f "$model" ]] || Scripts/install-model.sh
if [[ "$avx2" == 1 ]]; then
    llama_build="$root/.references/llama.cpp-avx2-build"
    export PHOENIX_WIDE_KERNELS=0
else
    llama_build="$root/.references/llama.cpp-build"
fi
llama_bench="$llama_build/bin/llama-bench"
[[ -x "$llama_bench" ]] || Scripts/build-llamacpp.sh $([[ "$avx2" == 1 ]] && echo --avx2) >&2
if [[ -n "${PHOENIX_BIN:-}" ]]; then
    phoenix="$PHOENIX_BIN"
else
    swift build -c release --product phoenix >&2
    phoenix="$(swift build -c release --show-bin-path)/phoenix"
fi

model_mib=$(( ($(stat -c %s "$model") + (1 << 20) - 1) >> 20 ))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "model $model" >&2
echo "llama.cpp $(cat "$llama_build/SOURCE" 2>/dev/null || echo '(unknown source)') in $llama_build, flags: ${llama_flags[*]}" >&2
if [[ "$avx2" == 1 ]]; then echo "Phoenix with PHOENIX_WIDE_KERNELS=0: the 256-bit kernels" >&2; fi
# The page cache keeps a file in the pieces its first reader's faults brought in, and a mapping can
# use 2 MB pages only over 2 MB pieces. Phoenix asks for them (see MappedFile.swift); llama.cpp maps the
# file in 4 KB pages whatever the pieces. So the run starts from the model out of the cache, read in once
# by Phoenix, as on a fresh install: when llama-bench read it in first, 28% of Phoenix's mapping stayed
# in 4 KB pages and its decoding ran about 2% slower, while llama-bench's tg128 was the same either way
# (89.7/89.8, 92.2/91.1 and 90.2/91.1 tokens/s, llama-bench first / Phoenix first, on the Zen 5).
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$model"
"$phoenix" bench --model "$model" -p 0 -n 1 -r 1 -t 1 > /dev/null
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
start=$SECONDS
for round in $(seq 1 "$rounds"); do
    for t in ${threads//,/ }; do
        echo "round $round/$rounds, $t threads: llama-bench" >&2
        "$llama_bench" -m "$model" -p "$prompt" -n "$gen" -d "$depth" -t "$t" -r "$reps" "${llama_flags[@]}" -o json \
            > "$work/llama-$round-$t.json" 2> "$work/llama-$round-$t.log" \
            || { cat "$work/llama-$round-$t.log" >&2; exit 1; }
        if [[ "$bandwidth" == 1 && "$gen" -gt 0 ]]; then
            "$phoenix" bench --memory-bandwidth -t "$t" -r 3 --buffer-mib 256 --json > "$work/before-$round-$t.json"
        fi
        echo "round $round/$rounds, $t threads: phoenix bench" >&2
        "$phoenix" bench --model "$model" -p "$prompt" -n "$gen" -d "$depth" -t "$t" -r "$reps" --json \
            > "$work/phoenix-$round-$t.json"
        if [[ "$bandwidth" == 1 && "$gen" -gt 0 ]]; then
            echo "round $round/$rounds, $t threads: memory bandwidth" >&2
            "$phoenix" bench --memory-bandwidth -t "$t" -r 3 --json > "$work/bandwidth-$round-$t.json"
            "$phoenix" bench --memory-bandwidth -t "$t" -r 3 --buffer-mib "$model_mib" --json > "$work/bandwidth-$round-$t-model.json"
            echo "round $round/$rounds, $t threads: kernel rates" >&2
            "$phoenix" bench --model "$model" --kernel-rates -t "$t" -r 3 --json > "$work/kernels-$round-$t.json"
        fi
    done
done
summary="$((SECONDS - start)) s; load average (1, 5, 15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work" "$json_out" "$summary" <<'EOF'
import glob, json, os, statistics, sys

work, out, summary = sys.argv[1], sys.argv[2], sys.argv[3]
def round_of(path):
    return int(os.path.basename(path).split("-")[1])
def named(test, depth):  # llama-bench's name for a test on top of a filled cache
    return f"{test} @ d{depth}" if depth else test

rates = {}  # (test, threads) -> {"llama.cpp": [...], "phoenix": [...]}, in round order
for path in sorted(glob.glob(os.path.join(work, "llama-*.json")), key=round_of):
    for r in json.load(open(path)):
        test = named(f"pp{r['n_prompt']}" if r["n_prompt"] > 0 else f"tg{r['n_gen']}", r.get("n_depth", 0))
        rates.setdefault((test, r["n_threads"]), {}).setdefault("llama.cpp", []).append(r["avg_ts"])
phoenix_commit = "unknown"
weight_bytes = {}  # (test, threads) -> weight bytes one decode step reads
for path in sorted(glob.glob(os.path.join(work, "phoenix-*.json")), key=round_of):
    for r in json.load(open(path)):
        phoenix_commit = r["commit"]
        test = named(r["test"], r.get("n_depth", 0))
        rates.setdefault((test, r["threads"]), {}).setdefault("phoenix", []).append(r["tokens_per_second"])
        weight_bytes[(test, r["threads"])] = r["weight_bytes_per_token"]
bandwidth = {}  # (threads, buffer) -> GB/s of each round, in round order; buffer "1 GiB" or "model"
round_trips = {}  # threads -> ns of each round (a cache line between two of the threads and back)
fork_joins = {}  # threads -> ns of each round (the pool's empty fork and join)
for path in sorted(glob.glob(os.path.join(work, "bandwidth-*.json")), key=round_of):
    buffer = "model" if path.endswith("-model.json") else "1 GiB"
    for r in json.load(open(path)):
        bandwidth.setdefault((r["threads"], buffer), []).append(r["gigabytes_per_second"])
        if buffer == "1 GiB" and r.get("core_round_trip_nanoseconds") is not None:
            round_trips.setdefault(r["threads"], []).append(r["core_round_trip_nanoseconds"])
        if buffer == "1 GiB" and r.get("fork_join_nanoseconds") is not None:
            fork_joins.setdefault(r["threads"], []).append(r["fork_join_nanoseconds"])

rows = []
print(f"{'test':>13} {'threads':>7} {'llama.cpp t/s':>14} {'Phoenix t/s':>12} {'Phoenix/llama.cpp':>18} {'per round':>10}")
for (test, threads) in sorted(rates, key=lambda k: (k[0][:2] != "pp", k[1])):
    sides = rates[(test, threads)]
    llama = statistics.median(sides.get("llama.cpp", [float("nan")]))
    phoenix = statistics.median(sides.get("phoenix", [float("nan")]))
    ratio = phoenix / llama if llama > 0 else float("nan")
    round_ratios = [p / l for l, p in zip(sides.get("llama.cpp", []), sides.get("phoenix", [])) if l > 0]
    per_round = statistics.median(round_ratios) if round_ratios else float("nan")
    print(f"{test:>13} {threads:>7} {llama:>14.2f} {phoenix:>12.2f} {ratio:>18.3f} {per_round:>10.3f}")
    rows.append({"test": test, "threads": threads, "llama_cpp_tokens_per_second": llama,
                 "phoenix_tokens_per_second": phoenix, "ratio": ratio,
                 "llama_cpp_rounds": sides.get("llama.cpp", []), "phoenix_rounds": sides.get("phoenix", []),
                 "round_ratios": round_ratios, "median_round_ratio": per_round})
print(f"(median over {len(next(iter(rates.values())).get('phoenix', []))} rounds; Phoenix commit {phoenix_commit}; {summary})")

decode_rows = [row for row in rows if row["test"].startswith("tg") and (row["threads"], "1 GiB") in bandwidth]
if decode_rows:
    print(f"\n{'test':>6} {'threads':>7} {'weights GB/s':>13} {'buffer':>7} {'memory GB/s':>12} {'share':>6} {'per round':>10}")
for row in decode_rows:
    per_token = weight_bytes[(row["test"], row["threads"])]
    decode = [rate * per_token / 1e9 for rate in row["phoenix_rounds"]]
    row.update({"weight_bytes_per_token": per_token, "bandwidth": {}})
    for buffer in ["1 GiB", "model"]:
        memory = bandwidth.get((row["threads"], buffer), [])
        if not memory:
            continue
        shares = [d / m for d, m in zip(decode, memory) if m > 0]
        share = statistics.median(decode) / statistics.median(memory)
        per_round = statistics.median(shares) if shares else float("nan")
        print(f"{row['test']:>6} {row['threads']:>7} {statistics.median(decode):>13.2f} {buffer:>7} "
              f"{statistics.median(memory):>12.2f} {share:>6.3f} {per_round:>10.3f}")
        row["bandwidth"][buffer] = {"rounds_gb_per_s": memory, "share": share, "round_shares": shares,
                                    "median_round_share": per_round}
if decode_rows:
    print("(Phoenix's decode weight reads against `phoenix bench --memory-bandwidth` in the same rounds, with a 1 GiB "
          "buffer and one the size of the model file)")
# A virtual machine's cores may sit next to each other or far apart, and a decode step's forks and joins
# cost more far apart: per round, the cache line's round trip between two threads and the pool's empty
# fork and join next to the share.
for row in decode_rows:
    trips = round_trips.get(row["threads"], [])
    forks = fork_joins.get(row["threads"], [])
    model_shares = row["bandwidth"].get("model", {}).get("round_shares", [])
    if trips:
        print(f"{row['test']} {row['threads']} threads, per round: cache-line round trip "
              + ", ".join(f"{t:.0f}" for t in trips) + " ns"
              + ("; empty fork and join " + ", ".join(f"{f:.0f}" for f in forks) + " ns" if forks else "")
              + "; decode share (model-size buffer) " + ", ".join(f"{x:.3f}" for x in model_shares))
        row["core_round_trip_ns"] = trips
        if forks:
            row["fork_join_ns"] = forks

# The rounds whose memory reads right before Phoenix's run and right after it agree: the machine stayed
# as it was while Phoenix decoded, so its share pairs rates of one machine.
before = {}  # threads -> [(GB/s, round trip ns or None)], in round order
for path in sorted(glob.glob(os.path.join(work, "before-*.json")), key=round_of):
    for r in json.load(open(path)):
        before.setdefault(r["threads"], []).append((r["gigabytes_per_second"], r.get("core_round_trip_nanoseconds")))
for row in decode_rows:
    after = bandwidth.get((row["threads"], "1 GiB"), [])
    trips = round_trips.get(row["threads"], [None] * len(after))
    model_shares = row["bandwidth"].get("model", {}).get("round_shares", [])
    steady = []
    for i, ((read_before, trip_before), read_after) in enumerate(zip(before.get(row["threads"], []), after)):
        trip_after = trips[i] if i < len(trips) else None
        reads_agree = read_before > 0 and 0.85 <= read_after / read_before <= 1 / 0.85
        trips_agree = trip_before is None or trip_after is None or 0.5 <= trip_after / trip_before <= 2
        if reads_agree and trips_agree and i < len(model_shares):
            steady.append(i)
    shares = [model_shares[i] for i in steady]
    print(f"{row['test']} {row['threads']} threads, rounds whose reads before and after Phoenix's run agree: "
          + (", ".join(str(i + 1) for i in steady) or "none")
          + (f"; their decode shares (model-size buffer) " + ", ".join(f"{x:.3f}" for x in shares)
             + f", median {statistics.median(shares):.3f}" if shares else ""))
    row["steady_rounds"] = [i + 1 for i in steady]
    row["steady_round_shares"] = shares

# Per thread count and round: each format's kernel rate in cache, and the decode ceiling they allow with
# the memory read measured in the same `--kernel-rates` run (each format at the slower of the two).
ceilings = {}  # threads -> [(ceiling GB/s, memory GB/s)], in round order
formats = {}   # (threads, format) -> [GB/s]
for path in sorted(glob.glob(os.path.join(work, "kernels-*.json")), key=round_of):
    report = json.load(open(path))
    for c, m in zip(report["ceilings"], report["memory"]):
        ceilings.setdefault(c["threads"], []).append((c["gigabytes_per_second"], m["gigabytes_per_second"]))
    for k in report["kernels"]:
        formats.setdefault((k["threads"], k["format"]), []).append(k["gigabytes_per_second"])
for threads, rounds_ in sorted(ceilings.items()):
    shares = [c / m for c, m in rounds_]
    kernels = ", ".join(f"{fmt} {statistics.median(v):.2f}" for (t, fmt), v in formats.items() if t == threads)
    print(f"\n{threads} threads: kernels in cache (GB/s): {kernels}; with the model-size memory read "
          f"({statistics.median([m for _, m in rounds_]):.2f} GB/s) they allow decode at most "
          f"{statistics.median([c for c, _ in rounds_]):.2f} GB/s, a share of {statistics.median(shares):.3f} "
          "(median of the rounds' own)")
    for row in decode_rows:
        if row["threads"] == threads:
            row["kernel_ceiling"] = {"rounds_gb_per_s": [c for c, _ in rounds_], "round_shares": shares,
                                     "formats_gb_per_s": {fmt: v for (t, fmt), v in formats.items() if t == threads}}
if out:
    json.dump(rows, open(out, "w"), indent=2)
EOF
