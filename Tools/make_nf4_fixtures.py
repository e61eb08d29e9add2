#!/usr/bin/env python3
"""bitsandbytes 4-bit (NF4/FP4, double quantization) and LLM.int8 fixtures for Tests/QuantTests.

Writes `Tests/QuantTests/Fixtures/bnb_4bit.safetensors` and `bnb_int8.safetensors`: for every case
`c<i>` the random Float32 input and what bitsandbytes (CPU backend) makes of it: the packed codes,
the plain and the double-quantized absmax, quant maps, offset and the dequantized tensor. Each
case's parameters (shape, blocksize, quant type) are in the file's `__metadata__` as JSON.

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_nf4_fixtures.py
(venv: ~/.cache/tailor/pyenv with torch 2.13 CPU, bitsandbytes==0.50.2, safetensors)
"""
import json
import pathlib

import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "QuantTests" / "Fixtures"

# (rows, cols, blocksize, quant_type): multiples of the block, odd sizes, blocks straddling rows,
# more than 256 blocks (several nested blocks, the last one partial), a single block (nested
# absmax zero), FP4. (bitsandbytes' AVX-512 4-bit dequantizer assumes blocks do not straddle rows
# when the column count is a multiple of 16, so such shapes are left out.)
FOUR_BIT_CASES = [
    (16, 64, 64, "nf4"),
    (7, 33, 64, "nf4"),
    (5, 100, 128, "nf4"),
    (3, 1000, 32, "nf4"),
    (1, 50, 64, "nf4"),
    (100, 97, 32, "nf4"),
    (2, 4100, 4096, "nf4"),
    (6, 70, 256, "nf4"),
    (11, 128, 64, "fp4"),
    (4, 129, 32, "fp4"),
]

INT8_CASES = [(8, 32), (5, 77), (33, 10)]


def random_matrix(g, rows, cols):
    """Normal values with a different scale per row, plus a few zeros and outliers."""
    x = torch.randn(rows, cols, generator=g) * torch.exp(torch.randn(rows, 1, generator=g))
    flat = x.view(-1)
    idx = torch.randint(0, flat.numel(), (max(1, flat.numel() // 50),), generator=g)
    flat[idx[: len(idx) // 2]] = 0
    flat[idx[len(idx) // 2:]] *= 8
    return x.contiguous()


def four_bit():
    g = torch.Generator().manual_seed(1234)
    tensors, meta = {}, {}
    for i, (rows, cols, bs, qt) in enumerate(FOUR_BIT_CASES):
        x = random_matrix(g, rows, cols)
        p = f"c{i}."
        packed, st = F.quantize_4bit(x, quant_type=qt, compress_statistics=True, blocksize=bs)
        plain_packed, plain = F.quantize_4bit(x, quant_type=qt, compress_statistics=False, blocksize=bs)
        assert torch.equal(packed, plain_packed)
        tensors[p + "input"] = x
        tensors[p + "packed"] = packed.reshape(-1).contiguous()
        tensors[p + "absmax"] = plain.absmax.contiguous()
        tensors[p + "nested_codes"] = st.absmax.contiguous()
        tensors[p + "nested_absmax"] = st.state2.absmax.contiguous()
        tensors[p + "nested_quant_map"] = st.state2.code.contiguous()
        tensors[p + "quant_map"] = st.code.contiguous()
        tensors[p + "offset"] = st.offset.reshape(1).float()
        tensors[p + "dequantized"] = F.dequantize_4bit(packed, st).contiguous()
        meta[f"c{i}"] = json.dumps({"rows": rows, "cols": cols, "blocksize": bs, "quant_type": qt,
                                    "nested_blocksize": st.state2.blocksize})
    tensors["dynamic_map"] = F.create_dynamic_map(signed=True)
    meta["cases"] = str(len(FOUR_BIT_CASES))
    save_file(tensors, OUT / "bnb_4bit.safetensors", metadata=meta)


def int8():
    g = torch.Generator().manual_seed(99)
    tensors, meta = {}, {}
    for i, (rows, cols) in enumerate(INT8_CASES):
        x = random_matrix(g, rows, cols)
        if i == 1:
            x[2] = 0  # an all-zero row
        p = f"c{i}."
        q, scb, _ = F.int8_vectorwise_quant(x.clone())
        tensors[p + "input"] = x
        tensors[p + "weight"] = q.contiguous()
        tensors[p + "SCB"] = scb.contiguous()
        tensors[p + "dequantized"] = F.int8_vectorwise_dequant(q, scb).contiguous()
        meta[f"c{i}"] = json.dumps({"rows": rows, "cols": cols})
    meta["cases"] = str(len(INT8_CASES))
    save_file(tensors, OUT / "bnb_int8.safetensors", metadata=meta)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    four_bit()
    int8()
    print("bitsandbytes", bnb.__version__, "->", OUT)
