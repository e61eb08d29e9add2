#!/usr/bin/env python3
"""Builds the safetensors test fixtures with the reference `safetensors` and `torch` packages.

Run with the reference venv (see the common brief):
    ~/.cache/tailor/pyenv/bin/python Tools/make_safetensors_fixtures.py

Writes (small, committed) under Tests/ModelTests/Fixtures/safetensors/:
  mixed.safetensors  F32, F16 and BF16 tensors (incl. a scalar, an empty tensor, NaN/inf/subnormal
                     values), one I64 tensor, and `__metadata__`, written by safetensors.torch
  mixed.json         per tensor: dtype, shape and the values (floats as torch converts them to
                     float32, NaN as null, infinities as "inf"/"-inf"), plus the metadata
  narrowing.json     float32 inputs and torch's float16 / bfloat16 bit patterns for them, to check
                     the writer's rounding
"""
import json
import pathlib

import numpy as np
import torch
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/ModelTests/Fixtures/safetensors"
OUT.mkdir(parents=True, exist_ok=True)
g = torch.Generator().manual_seed(7)

specials = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 1e-7, 6e-8, float("inf"), float("-inf"),
                         float("nan"), 3.0e38, 1.17e-38], dtype=torch.float32)
tensors = {
    "model.embed.weight": torch.randn(6, 5, generator=g),
    "model.layers.0.proj.weight": (torch.randn(4, 3, generator=g) * 10).to(torch.float16),
    "model.layers.0.proj.bias": torch.randn(4, generator=g).to(torch.bfloat16),
    "specials.f16": specials.to(torch.float16),
    "specials.bf16": specials.to(torch.bfloat16),
    "specials.f32": specials.clone(),
    "scalar": torch.tensor(1.5),
    "empty": torch.zeros(0, 3),
    "positions": torch.arange(5, dtype=torch.int64),
}
metadata = {"format": "pt", "note": "tailor fixture ✓"}
save_file(tensors, str(OUT / "mixed.safetensors"), metadata=metadata)


def encode(x):
    if np.isnan(x):
        return None
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


doc = {"metadata": metadata, "tensors": {}}
for name, t in tensors.items():
    entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
    if t.is_floating_point():
        entry["values"] = [encode(v) for v in t.to(torch.float32).reshape(-1).tolist()]
    else:
        entry["values"] = t.reshape(-1).tolist()
    doc["tensors"][name] = entry
(OUT / "mixed.json").write_text(json.dumps(doc, indent=1) + "\n")

inputs = torch.cat([specials, torch.randn(40, generator=g) * 3,
                    torch.tensor([1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-11, 1.0 + 3 * 2**-11,
                                  2.0**-25, 3 * 2.0**-26, 70000.0, -1e-30])])
narrow = {
    "inputs": [v for v in inputs.view(torch.int32).tolist()],
    "f16": inputs.to(torch.float16).view(torch.int16).tolist(),
    "bf16": inputs.to(torch.bfloat16).view(torch.int16).tolist(),
}
(OUT / "narrowing.json").write_text(json.dumps(narrow) + "\n")
print("written to", OUT)
