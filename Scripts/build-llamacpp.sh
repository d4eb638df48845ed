#!/usr/bin/env bash
# Builds llama.cpp, the reference implementation, from the PyPI source distribution of llama-cpp-python.
# Everything lands in .references/ (git-ignored): the sdist, its unpacked tree, and the build directory
# .references/llama.cpp-build/bin/{llama-tokenize,llama-perplexity,llama-bench,llama-server,llama-simple,llama-cli}.
# Idempotent: a second run with every target built does nothing.
#
#   Scripts/build-llamacpp.sh                 # newest llama-cpp-python on PyPI
#   LLAMA_CPP_PYTHON_VERSION=0.3.16 Scripts/build-llamacpp.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
refs="$root/.references"
build="$refs/llama.cpp-build"
targets=(llama-tokenize llama-perplexity llama-bench llama-server llama-simple llama-cli)
jobs="${JOBS:-2}"

all_built() {
    for t in "${targets[@]}"; do [[ -x "$build/bin/$t" ]] || return 1; done
}
if all_built; then
    echo "llama.cpp already built in $build (source: $(cat "$build/SOURCE" 2>/dev/null || echo unknown))"
    exit 0
fi

if ! command -v cmake >/dev/null; then
    apt-get update && apt-get install -y cmake
fi

mkdir -p "$refs"
cd "$refs"
spec="llama-cpp-python${LLAMA_CPP_PYTHON_VERSION:+==$LLAMA_CPP_PYTHON_VERSION}"
sdist="$(ls llama_cpp_python-*.tar.gz 2>/dev/null | sort -V | tail -1 || true)"
if [[ -z "$sdist" || -n "${LLAMA_CPP_PYTHON_VERSION:-}" && "$sdist" != *"${LLAMA_CPP_PYTHON_VERSION}"* ]]; then
    python3 -m pip download --no-deps --no-binary :all: --dest "$refs" "$spec"
    sdist="$(ls llama_cpp_python-*.tar.gz | sort -V | tail -1)"
fi
tree="${sdist%.tar.gz}"
[[ -d "$tree" ]] || tar xzf "$sdist"
src="$refs/$tree/vendor/llama.cpp"
[[ -f "$src/CMakeLists.txt" ]] || { echo "no llama.cpp source in $sdist" >&2; exit 1; }

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF
cmake --build "$build" --config Release -j"$jobs" --target "${targets[@]}"
echo "$tree" > "$build/SOURCE"
echo "built ${targets[*]} from $tree into $build/bin"
