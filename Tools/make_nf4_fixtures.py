#!/usr/bin/env python3
"""bitsandbytes 4-bit (NF4/FP4, double quantization) and LLM.int8 fixtures for Tests/QuantTests.

Writes `Tests/QuantTests/Fixtures/bnb_4bit.safetensors` and `bnb_int8.safetensors`: for every case
`c<i>` the random Float32 input and what bitsandbytes (CPU backend) makes of it: the packed codes,
the plain and the double-quantized absmax, quant maps, offset and the dequantized tensor. Each
case's parameters (shape, blocksize, quant type) are in the file's `__metadata__` as JSON.

Also writes two tiny Llama checkpoints (`bnb-llama-nf4/`, `bnb-llama-int8/`): a random model
(fixed seed) loaded by transformers with `BitsAndBytesConfig(load_in_4bit=True, nf4, double
quantization)` or `load_in_8bit=True` on the CPU and saved with `save_pretrained`, with
`expected.json` holding transformers' logits for fixed input ids and the logits of the same model
with the saved quantized weights decoded to Float32 by bitsandbytes (`dequantized_logits`:
transformers' CPU products also round activations — bf16 for 4-bit, int8 for 8-bit — which
Tailor does not).

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


def decoded_logits(model, config, folder, ids):
    """Logits of `model` with every quantized linear weight in `folder` decoded to Float32 by
    bitsandbytes (transformers' CPU products also round activations: to bf16 for 4-bit on CPUs
    with AVX-512 BF16, to int8 for 8-bit)."""
    from safetensors.torch import load_file
    from transformers import LlamaForCausalLM
    saved = load_file(folder / "model.safetensors")
    decoded = LlamaForCausalLM(config).eval()
    decoded.load_state_dict(model.state_dict())
    with torch.no_grad():
        for name, module in decoded.named_modules():
            if not isinstance(module, torch.nn.Linear) or name + ".weight" not in saved:
                continue
            w = name + ".weight"
            if name + ".SCB" in saved:
                module.weight.copy_(F.int8_vectorwise_dequant(saved[w], saved[name + ".SCB"]))
            elif w + ".absmax" in saved:
                parts = {k[len(w) + 1:]: v for k, v in saved.items() if k.startswith(w + ".")}
                state = F.QuantState.from_dict(parts, device=torch.device("cpu"))
                module.weight.copy_(F.dequantize_4bit(saved[w], state))
        return decoded(ids).logits.reshape(-1).tolist()


def tiny_llama_checkpoints():
    import tempfile
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM
    torch.manual_seed(2024)
    config = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=True, attn_implementation="eager")
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1.0 + 0.1 * torch.randn(p.shape) if "norm" in name else 0.08 * torch.randn(p.shape))
    ids = torch.randint(0, 128, (1, 8), generator=torch.Generator().manual_seed(7))
    with tempfile.TemporaryDirectory() as dense:
        model.save_pretrained(dense)
        configs = {
            "nf4": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                      bnb_4bit_compute_dtype=torch.float32),
            "int8": BitsAndBytesConfig(load_in_8bit=True),
        }
        for name, qc in configs.items():
            q = AutoModelForCausalLM.from_pretrained(dense, quantization_config=qc, device_map="cpu", dtype=torch.float32,
                                                     attn_implementation="eager")
            q.eval()
            out = OUT / f"bnb-llama-{name}"
            q.save_pretrained(out)
            (out / "generation_config.json").unlink(missing_ok=True)
            with torch.no_grad():
                logits = q(ids).logits
            expected = {"input_ids": ids.tolist(), "logits_shape": list(logits.shape), "logits": logits.reshape(-1).tolist()}
            expected["dequantized_logits"] = decoded_logits(model, config, out, ids)
            (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    four_bit()
    int8()
    tiny_llama_checkpoints()
    print("bitsandbytes", bnb.__version__, "->", OUT)
