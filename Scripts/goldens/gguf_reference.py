#!/usr/bin/env python3
"""What gguf-py (PyPI `gguf`) sees in a GGUF file, as JSON, for Phoenix's interoperability tests.

    gguf_reference.py describe FILE   metadata (key, type, value) and tensor infos, plus small tensors' bytes
    gguf_reference.py digest FILE     per tensor: two checksums of gguf-py's float32 dequantization

The checksums of a tensor whose float32 bit patterns are b[0..n) are, modulo 2^64,
    weighted = sum(b[i] * (2i + 1)),  squares = sum(b[i] * b[i])
so one changed bit anywhere changes `weighted`. Phoenix's test computes the same sums over its own output.
Versions used are printed in the JSON ("gguf", "numpy").
"""
import json
import sys

import gguf
import numpy as np
from gguf import GGUFReader, GGUFValueType
from importlib.metadata import version

SMALL_TENSOR_BYTES = 4096
LARGE_ARRAY = 64


def field_value(field):
    types = field.types
    if types[0] == GGUFValueType.ARRAY:
        values = field.contents()
        element = types[-1].name.lower() if len(types) > 1 else "unknown"
        if len(values) > LARGE_ARRAY:
            return {"array_of": element, "count": len(values), "head": values[:3], "tail": values[-3:]}
        return {"array_of": element, "count": len(values), "values": values}
    return field.contents()


def describe(path):
    reader = GGUFReader(path)
    metadata = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        value = field_value(field)
        if isinstance(value, float) and not np.isfinite(value):
            value = repr(value)
        metadata.append({"key": name, "type": field.types[0].name.lower(), "value": value})
    tensors = []
    for t in reader.tensors:
        entry = {
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(d) for d in t.shape],
            "offset": int(t.data_offset),
            "bytes": int(t.n_bytes),
        }
        if t.n_bytes <= SMALL_TENSOR_BYTES:
            entry["hex"] = np.asarray(t.data).tobytes().hex()
        tensors.append(entry)
    return {"versions": versions(), "metadata": metadata, "tensors": tensors}


def digest(path):
    reader = GGUFReader(path)
    out = []
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        bits = np.ascontiguousarray(values).reshape(-1).view(np.uint32).astype(np.uint64)
        index = np.arange(bits.size, dtype=np.uint64)
        with np.errstate(over="ignore"):
            weighted = int(np.sum(bits * (2 * index + 1), dtype=np.uint64))
            squares = int(np.sum(bits * bits, dtype=np.uint64))
        out.append({"name": t.name, "count": int(bits.size), "weighted": str(weighted), "squares": str(squares)})
    return {"versions": versions(), "tensors": out}


def versions():
    return {"gguf": version("gguf"), "numpy": np.__version__}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("describe", "digest"):
        sys.exit(__doc__)
    command, path = sys.argv[1], sys.argv[2]
    result = describe(path) if command == "describe" else digest(path)
    json.dump(result, sys.stdout, ensure_ascii=False)
