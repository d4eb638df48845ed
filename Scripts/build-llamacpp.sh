#!/usr/bin/env bash
# Builds llama.cpp, the reference implementation, from the PyPI source distribution of llama-cpp-python.
# Everything lands in .references/ (git-ignored): the sdist, its unpacked tree, and the build directory
# .references/llama.cpp-build/bin/{llama-tokenize,llama-perplexity,llama-bench,llama-server,llama-simple,llama-cli}.
# Idempotent: a second run with every target built does nothing.
#
#   Scripts/build-llamacpp.sh                 # newest llama-cpp-python on PyPI
#   LLAMA_CPP_PYTHON_VERSION=0.3.16 Scripts/build-llamacpp.sh
#   Scripts/build-llamacpp.sh --avx2          # llama-bench only, for AVX2 CPUs without AVX-512,
#                                             # into .references/llama.cpp-avx2-build
#
# --avx2 builds what llama.cpp runs on an AVX2-only CPU (AVX, AVX2, FMA, F16C, BMI2; no AVX-512), so that
# a machine with AVX-512 can compare it with `PHOENIX_WIDE_KERNELS=0 phoenix bench`, Phoenix's kernels
# for such CPUs.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
refs="$root/.references"
build="$refs/llama.cpp-build"
targets=(llama-tokenize llama-perplexity llama-bench llama-server llama-simple llama-cli)
cpu_flags=(-DGGML_NATIVE=ON)
if [[ "${1:-}" == "--avx2" ]]; then
    build="$refs/llama.cpp-avx2-build"
    targets=(llama-bench)
    cpu_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
               -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF
               -DGGML_AVX_VNNI=OFF)
elif [[ -n "${1:-}" ]]; then
    echo "usage: $0 [--avx2]" >&2
    exit 2
fi
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

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release "${cpu_flags[@]}" -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF
cmake --build "$build" --config Release -j"$jobs" --target "${targets[@]}"
echo "$tree" > "$build/SOURCE"
echo "built ${targets[*]} from $tree into $build/bin"
