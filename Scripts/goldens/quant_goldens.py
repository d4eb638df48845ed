#!/usr/bin/env python3
"""Golden fixtures for PhoenixQuant: one JSON file per tensor format in Tests/Fixtures/quant/.

Each file holds, as base64 of little-endian bytes:
  quantize.input     seeded random float32 weights, whole blocks: one per edge-case kind in `KINDS`, then
                     `--extra-blocks` varied ones
  quantize.ggufPy    gguf-py's `gguf.quants.quantize` bytes (formats gguf-py quantizes; otherwise null)
  quantize.ggml      ggml's `quantize_row_<type>_ref` bytes, from ggml-quants.c compiled here (quantized
                     formats; F32/F16/BF16 have none)
  dequantize.blocks  random but valid blocks (fp16 scales finite and in a sane range)
  dequantize.output  float32 from gguf-py's `gguf.quants.dequantize` (Q8_K, which gguf-py lacks: ggml's
                     `dequantize_row_q8_K`)
The Swift tests require byte equality and float bit-pattern equality with every golden present.

ggml is built from source with `cc -O2 -ffp-contract=off` (plain IEEE float32 operations, no fused
multiply-add), the semantics the Swift port reproduces. Get the source with:
  pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d /tmp/llama-sdist
  tar xzf /tmp/llama-sdist/llama_cpp_python-0.3.36.tar.gz -C /tmp/llama-sdist
then run from the repository root:
  python3 Scripts/goldens/quant_goldens.py \
      --ggml-src /tmp/llama-sdist/llama_cpp_python-0.3.36/vendor/llama.cpp/ggml
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import gguf
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

PINNED = {"gguf": "0.19.0", "numpy": "2.4.6"}
SEED = 20250613
OUT_DIR = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "quant"

# Formats, in QuantType order, with the ggml function suffix (None: no ggml reference built here).
FORMATS = [
    ("F32", T.F32, None), ("F16", T.F16, None), ("BF16", T.BF16, None),
    ("Q4_0", T.Q4_0, "q4_0"), ("Q4_1", T.Q4_1, "q4_1"), ("Q5_0", T.Q5_0, "q5_0"), ("Q5_1", T.Q5_1, "q5_1"),
    ("Q8_0", T.Q8_0, "q8_0"),
    ("Q2_K", T.Q2_K, "q2_K"), ("Q3_K", T.Q3_K, "q3_K"), ("Q4_K", T.Q4_K, "q4_K"), ("Q5_K", T.Q5_K, "q5_K"),
    ("Q6_K", T.Q6_K, "q6_K"), ("Q8_K", T.Q8_K, "q8_K"),
    ("IQ4_NL", T.IQ4_NL, "iq4_nl"), ("IQ4_XS", T.IQ4_XS, "iq4_xs"),
    ("MXFP4", T.MXFP4, "mxfp4"),
]

# Formats gguf-py quantizes (checked against gguf/quants.py at the pinned version).
GGUF_PY_QUANTIZES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "MXFP4"}

# Byte offsets of fp16 scale fields in each block (ggml-common.h), set to sane values in random blocks.
FP16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0], "IQ4_XS": [0],
}

# One input block per kind: the edge cases the quantizers branch on. Then EXTRA_BLOCKS "varied" blocks
# (per-16 scales and offsets drawn at random) exercise the scale searches' tie breaks and roundings.
KINDS = ["gaussian", "small-uniform", "positive", "negative", "outliers", "sparse", "tiny", "large",
         "constant", "zero"]
EXTRA_BLOCKS = 22

# Float32 bit patterns whose fp16/bf16 conversion has a special case: NaN payloads (quiet, signalling,
# payload lost in fp16), infinities, signed zeros, float32 subnormals, fp16 subnormals and their rounding
# ties, the fp16 overflow boundary, and round-to-even ties in the normal range.
SPECIAL_F32_BITS = [
    0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FC00001, 0xFFC00001, 0x7F802000, 0x7FBFFFFF,
    0x7FA00000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FFF0000, 0x7F810000,
    0x7F800000, 0xFF800000, 0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00400000,
    0x33000000, 0x33000001, 0xB3000000, 0x33400000, 0x33C00000, 0x34000000, 0x387FC000, 0x387FE000,
    0x387FF000, 0x38800000, 0xB8800000, 0x38000000,
    0x477FE000, 0x477FEFFF, 0x477FF000, 0xC77FF000, 0x47800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000,
    0x3F801000, 0x3F803000, 0x3F800800, 0x3F808000, 0x3F818000, 0x3F807FFF, 0xBF808000, 0x3F800001,
]

# fp16 bit patterns for the F16 dequantize golden: NaNs, infinities, zeros, subnormals, extremes.
SPECIAL_F16_BITS = [0x7C01, 0x7E00, 0xFE00, 0x7DFF, 0xFC01, 0x7FFF, 0x7C00, 0xFC00, 0x0000, 0x8000,
                    0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0x3C01, 0xBC00]


def b64(array: np.ndarray | bytes) -> str:
    data = array if isinstance(array, bytes) else np.ascontiguousarray(array).tobytes()
    return base64.b64encode(data).decode("ascii")


def input_block(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "gaussian":
        x = rng.standard_normal(size)
    elif kind == "small-uniform":
        x = rng.uniform(-0.05, 0.05, size)
    elif kind == "positive":
        x = rng.uniform(0.5, 2.0, size)
    elif kind == "negative":
        x = rng.uniform(-2.0, -0.5, size)
    elif kind == "outliers":
        x = rng.normal(0.0, 0.02, size)
        spots = rng.choice(size, 3, replace=False)
        x[spots] = rng.choice([-1.0, 1.0], 3) * rng.uniform(0.5, 1.0, 3)
    elif kind == "sparse":
        x = rng.standard_normal(size) * (rng.uniform(size=size) < 0.25)
    elif kind == "tiny":
        x = rng.normal(0.0, 1e-5, size)   # scales land in the fp16 subnormal range
    elif kind == "large":
        x = rng.normal(0.0, 300.0, size)
    elif kind == "constant":
        x = np.full(size, 0.3)
    elif kind == "zero":
        x = np.zeros(size)
    elif kind == "varied":
        groups = max(1, size // 16)
        scale = np.repeat(10.0 ** rng.uniform(-3, 1, groups), size // groups)
        offset = np.repeat(rng.normal(0.0, 0.5, groups), size // groups) * scale
        x = rng.standard_normal(size) * scale + offset * (rng.uniform() < 0.5)
    else:
        raise ValueError(kind)
    return x.astype(np.float32)


def input_kinds(name: str, extra_blocks: int) -> list[str]:
    # ggml's IQ4_NL reference packs an all-zero block from uninitialised levels: leave that block out.
    return [k for k in KINDS if not (name == "IQ4_NL" and k == "zero")] + ["varied"] * extra_blocks


def quantize_input(name: str, block_size: int, extra_blocks: int, rng: np.random.Generator) -> np.ndarray:
    if block_size == 1:   # F32/F16/BF16: every kind as 32 values, then the special and random bit patterns
        parts = [input_block(kind, 32, rng) for kind in KINDS]
        parts.append(np.array(SPECIAL_F32_BITS, dtype=np.uint32).view(np.float32))
        parts.append(rng.integers(0, 2**32, 96, dtype=np.uint64).astype(np.uint32).view(np.float32))
        return np.concatenate(parts)
    return np.concatenate([input_block(kind, block_size, rng) for kind in input_kinds(name, extra_blocks)])


def sane_fp16(rng: np.random.Generator, count: int) -> np.ndarray:
    """Finite fp16 values of either sign from about 3e-7 (subnormal) to 3."""
    magnitude = 10.0 ** rng.uniform(-6.5, 0.5, count)
    sign = rng.choice([-1.0, 1.0], count)
    return (sign * magnitude).astype(np.float16)


def random_blocks(name: str, block_size: int, type_size: int, rng: np.random.Generator) -> np.ndarray:
    if name in ("F32",):
        bits = rng.integers(0, 2**32, 512, dtype=np.uint64).astype(np.uint32)
        return np.concatenate([np.array(SPECIAL_F32_BITS, dtype=np.uint32), bits]).view(np.uint8)
    if name in ("F16", "BF16"):
        bits = rng.integers(0, 2**16, 512, dtype=np.uint32).astype(np.uint16)
        return np.concatenate([np.array(SPECIAL_F16_BITS, dtype=np.uint16), bits]).view(np.uint8)

    count = 16
    blocks = rng.integers(0, 256, (count, type_size), dtype=np.uint16).astype(np.uint8)
    if name == "Q8_K":
        d = (rng.standard_normal(count) * 0.01).astype(np.float32)
        blocks[:, 0:4] = d.view(np.uint8).reshape(count, 4)
        qs = blocks[:, 4:260].view(np.int8).astype(np.int16)
        bsums = qs.reshape(count, 16, 16).sum(axis=-1).astype(np.int16)  # consistent with the codes
        blocks[:, 260:292] = bsums.view(np.uint8).reshape(count, 32)
    elif name == "MXFP4":
        blocks[:, 0] = rng.integers(0, 254, count)
        blocks[0, 0], blocks[1, 0] = 0, 1   # float32-subnormal scales
    else:
        for offset in FP16_FIELDS[name]:
            blocks[:, offset:offset + 2] = sane_fp16(rng, count).view(np.uint8).reshape(count, 2)
        offset = FP16_FIELDS[name][0]
        blocks[-1, offset:offset + 2] = np.array([0x8000], dtype=np.uint16).view(np.uint8)  # d = -0
    return blocks.reshape(-1)


class GGML:
    """ggml-quants.c built into a shared library and called through ctypes."""

    STUBS = r"""
    #include <stdlib.h>
    #include <stddef.h>
    #include <stdint.h>
    void ggml_abort(const char * file, int line, const char * fmt, ...) { abort(); }
    size_t ggml_row_size(int type, int64_t ne) { abort(); }
    const char * ggml_type_name(int type) { abort(); }
    size_t ggml_type_size(int type) { abort(); }
    """
    FLAGS = ["-O2", "-ffp-contract=off", "-fPIC", "-shared"]

    def __init__(self, src: Path, workdir: Path):
        quants = src / "src" / "ggml-quants.c"
        if not quants.is_file():
            sys.exit(f"--ggml-src {src}: no src/ggml-quants.c there")
        stubs = workdir / "stubs.c"
        stubs.write_text(self.STUBS)
        library = workdir / "libggml-quants.so"
        command = ["cc", *self.FLAGS, f"-I{src / 'include'}", f"-I{src / 'src'}", f"-I{src / 'src' / 'ggml-cpu'}",
                   str(quants), str(stubs), "-lm", "-o", str(library)]
        subprocess.run(command, check=True)
        self.lib = ctypes.CDLL(str(library))
        cmake = (src / "CMakeLists.txt").read_text()
        version = ".".join(re.search(rf"set\(GGML_VERSION_{part} (\d+)\)", cmake).group(1)
                           for part in ("MAJOR", "MINOR", "PATCH"))
        compiler = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        self.info = {
            "source": "ggml " + version + " (llama-cpp-python 0.3.36 sdist, vendor/llama.cpp/ggml)",
            "sha256": {name: hashlib.sha256((src / "src" / name).read_bytes()).hexdigest()
                       for name in ("ggml-quants.c", "ggml-common.h", "ggml-impl.h")},
            "compiler": compiler,
            "flags": " ".join(self.FLAGS[:2]),
        }

    def quantize(self, suffix: str, x: np.ndarray, type_size: int, block_size: int) -> bytes:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = ctypes.create_string_buffer(len(x) // block_size * type_size)   # zero-filled
        function = getattr(self.lib, f"quantize_row_{suffix}_ref")
        function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        function.restype = None
        function(x.ctypes.data, out, len(x))
        return out.raw

    def dequantize(self, suffix: str, blocks: np.ndarray, type_size: int, block_size: int) -> np.ndarray:
        blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
        out = np.zeros(len(blocks) // type_size * block_size, dtype=np.float32)
        function = getattr(self.lib, f"dequantize_row_{suffix}")
        function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        function.restype = None
        function(blocks.ctypes.data, out.ctypes.data, len(out))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ggml-src", type=Path, required=True, help="llama.cpp's ggml directory")
    parser.add_argument("--extra-blocks", type=int, default=EXTRA_BLOCKS,
                        help=f"varied blocks after the edge cases (default {EXTRA_BLOCKS})")
    parser.add_argument("--allow-other-versions", action="store_true",
                        help=f"run with versions other than the pinned {PINNED}")
    args = parser.parse_args()

    versions = {name: importlib.metadata.version(name) for name in PINNED}
    print(f"gguf {versions['gguf']}, numpy {versions['numpy']}, python {platform.python_version()}")
    if versions != PINNED and not args.allow_other_versions:
        sys.exit(f"pinned versions are {PINNED}; install them or pass --allow-other-versions")
    if sys.byteorder != "little":
        sys.exit("fixtures are little-endian; run on a little-endian machine")

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        ggml = GGML(args.ggml_src.resolve(), Path(workdir))
        print(f"{ggml.info['source']}, {ggml.info['compiler']}, {ggml.info['flags']}")
        generator = {"script": "Scripts/goldens/quant_goldens.py", "seed": SEED, **versions,
                     "python": platform.python_version(), "ggml": ggml.info}
        rng = np.random.default_rng(SEED)
        total = 0
        for name, qtype, suffix in FORMATS:
            block_size, type_size = GGML_QUANT_SIZES[qtype]
            x = quantize_input(name, block_size, args.extra_blocks, rng)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                gguf_py = gguf.quants.quantize(x, qtype).view(np.uint8) if name in GGUF_PY_QUANTIZES else None
            ggml_bytes = ggml.quantize(suffix, x, type_size, block_size) if suffix else None
            if gguf_py is not None and ggml_bytes is not None and gguf_py.tobytes() != ggml_bytes:
                print(f"  note: {name} gguf-py and ggml quantize bytes differ")

            blocks = random_blocks(name, block_size, type_size, rng)
            if name == "Q8_K":
                output, source = ggml.dequantize(suffix, blocks, type_size, block_size), "ggml dequantize_row_q8_K"
            else:
                output, source = gguf.quants.dequantize(blocks, qtype).reshape(-1), "gguf-py"
            assert output.dtype == np.float32
            if suffix and name != "Q8_K":
                c_output = ggml.dequantize(suffix, blocks, type_size, block_size)
                if c_output.view(np.uint32).tobytes() != output.view(np.uint32).tobytes():
                    print(f"  note: {name} gguf-py and ggml dequantize bits differ")

            fixture = {
                "format": name,
                "typeId": int(qtype),
                "weightsPerBlock": block_size,
                "bytesPerBlock": type_size,
                "generator": generator,
                "quantize": {
                    "kinds": input_kinds(name, args.extra_blocks) if block_size > 1 else "32 of each kind, specials, random bit patterns",
                    "input": b64(x),
                    "ggufPy": None if gguf_py is None else b64(gguf_py),
                    "ggml": None if ggml_bytes is None else b64(ggml_bytes),
                },
                "dequantize": {"source": source, "blocks": b64(blocks), "output": b64(output)},
            }
            path = OUT_DIR / f"{name}.json"
            path.write_text(json.dumps(fixture, indent=1) + "\n")
            total += path.stat().st_size
            print(f"  {path.name}: {len(x) // block_size} blocks quantized, "
                  f"{len(blocks) // type_size} dequantized, {path.stat().st_size} bytes")
        print(f"total {total} bytes in {OUT_DIR}")


if __name__ == "__main__":
    main()
