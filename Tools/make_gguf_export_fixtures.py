#!/usr/bin/env python3
"""Makes the fixture for Tailor's ggml encoders (GGUF export): Tests/QuantTests/Fixtures/ggml/encode.json.

Random values (several scales, a block of zeros, a block whose largest magnitude is negative, a block of
exact half-step ties) are encoded with the `gguf` Python package's reference quantizers
(gguf.quants.quantize, which follow ggml's quantize_row_*_ref) to F16, BF16, Q8_0, Q4_0 and Q5_0; the
JSON holds the Float32 inputs and each encoding as hex. Tests compare Tailor's bytes with these exactly.

Run (from the repository root): ~/.cache/tailor/pyenv/bin/python Tools/make_gguf_export_fixtures.py
(venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install gguf numpy)
"""
import json
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

rng = np.random.default_rng(20261202)
blocks = [
    rng.normal(0, 1, 32),
    rng.normal(0, 0.02, 32),
    rng.normal(0, 30, 32),
    rng.uniform(-1, 1, 32),
    np.zeros(32),
    np.concatenate([[-5.0], rng.uniform(-1, 1, 31)]),
    np.arange(-16, 16) * 0.5,          # halves: ties for the rounding rules
    rng.normal(0, 1, 32) * (rng.uniform(size=32) < 0.3),
]
values = np.concatenate(blocks).astype(np.float32)
out = {"values": [float(v) for v in values]}
for name, kind in [("F16", T.F16), ("BF16", T.BF16), ("Q8_0", T.Q8_0), ("Q4_0", T.Q4_0), ("Q5_0", T.Q5_0)]:
    encoded = quants.quantize(values.reshape(len(blocks), 32), kind)
    out[name] = np.ascontiguousarray(encoded).view(np.uint8).tobytes().hex()
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/QuantTests/Fixtures/ggml/encode.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path} ({len(values)} values)")
