#!/usr/bin/env python3
"""Checks `tailor quantize` against transformers + bitsandbytes.

1. `tailor quantize --model MODEL --format FORMAT --output WORK/quantized` writes a bitsandbytes folder.
2. Tailor's logits for the prompt on that folder: `tailor generate --dump-logits FILE --max-tokens 0 PROMPT`.
3. transformers loads the folder (`from_pretrained(..., device_map="cpu")`, float32 compute) and computes
   the logits of the same ids; and, when MODEL is a Hugging Face folder, the logits of MODEL with every
   quantized weight of the folder decoded to Float32 by bitsandbytes (`dequantize_4bit` /
   `int8_vectorwise_dequant`), which is the product Tailor computes. transformers' own CPU products also
   round activations (bf16 for 4-bit on CPUs with AVX-512 BF16, int8 for 8-bit), hence a second tolerance.
Prints one JSON object with the max |Δlogit| of each comparison; exits 1 if Tailor vs the decoded model
exceeds --tolerance or Tailor vs transformers exceeds --transformers-tolerance.

Run (from the repository root, after `swift build -c release`):
    ~/.cache/tailor/pyenv/bin/python Tools/check_bnb_export.py --tailor .build/release/tailor \\
        --model Tests/GenerateTests/Fixtures/cli/tiny-qwen2 --format nf4
(venv: ~/.cache/tailor/pyenv with torch 2.13 CPU, transformers, bitsandbytes==0.50.2, safetensors)
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import torch
import bitsandbytes.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

DEFAULT_PROMPT = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def decoded_model(dense_folder, quantized_folder):
    """MODEL with its linear weights replaced by the quantized folder's, decoded to Float32."""
    saved = load_file(str(pathlib.Path(quantized_folder) / "model.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(dense_folder, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        for name, module in model.named_modules():
            w = name + ".weight"
            if not isinstance(module, torch.nn.Linear) or w not in saved:
                continue
            if name + ".SCB" in saved:
                module.weight.copy_(F.int8_vectorwise_dequant(saved[w], saved[name + ".SCB"]))
            elif w + ".absmax" in saved:
                parts = {k[len(w) + 1:]: v for k, v in saved.items() if k.startswith(w + ".")}
                module.weight.copy_(F.dequantize_4bit(saved[w], F.QuantState.from_dict(parts, device=torch.device("cpu"))))
    return model


def same_bytes_as_bitsandbytes(dense_folder, quantized_folder, fmt):
    """Whether every quantized layer Tailor wrote equals bitsandbytes' quantization of the dense weight."""
    saved = load_file(str(pathlib.Path(quantized_folder) / "model.safetensors"))
    dense = AutoModelForCausalLM.from_pretrained(dense_folder, dtype=torch.float32).state_dict()
    checked = 0
    for key, w in dense.items():
        prefix = key[: -len(".weight")]
        if not key.endswith(".weight") or (prefix + ".SCB" not in saved and key + ".absmax" not in saved):
            continue
        if fmt == "int8":
            q, scb, _ = F.int8_vectorwise_quant(w.clone())
            same = torch.equal(q, saved[key]) and torch.equal(scb, saved[prefix + ".SCB"])
        else:
            packed, st = F.quantize_4bit(w, quant_type=fmt, compress_statistics=True, blocksize=64)
            same = (torch.equal(packed.reshape(-1), saved[key].reshape(-1)) and torch.equal(st.absmax, saved[key + ".absmax"])
                    and torch.equal(st.state2.absmax, saved[key + ".nested_absmax"]))
        if not same:
            return False
        checked += 1
    return checked > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tailor", required=True, help="the tailor executable")
    parser.add_argument("--model", required=True, help="dense model: Hugging Face folder or .gguf")
    parser.add_argument("--format", default="nf4", choices=["nf4", "fp4", "int8"])
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--work", help="folder for the quantized model and logits (default: a temporary folder)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest |Δlogit| against the decoded model")
    parser.add_argument("--transformers-tolerance", type=float, default=0.25,
                        help="largest |Δlogit| against transformers' quantized forward")
    args = parser.parse_args()

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="tailor-bnb-check-"))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "quantized"
    run([args.tailor, "quantize", "--model", args.model, "--format", args.format, "--output", str(out)])
    dump = work / "tailor-logits.safetensors"
    run([args.tailor, "generate", "--model", str(out), "--max-tokens", "0", "--dump-logits", str(dump), "--", args.prompt])
    with safe_open(str(dump), "pt") as f:
        ids, tailor = json.loads(f.metadata()["input_ids"]), f.get_tensor("logits")

    model = AutoModelForCausalLM.from_pretrained(out, device_map="cpu", dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        hf = model(torch.tensor([ids])).logits[0]
    report = {"model": args.model, "format": args.format, "tokens": len(ids),
              "logit_range": [float(hf.min()), float(hf.max())],
              "max_abs_delta_tailor_vs_transformers": float((tailor.double() - hf.double()).abs().max())}
    ok = report["max_abs_delta_tailor_vs_transformers"] <= args.transformers_tolerance
    if pathlib.Path(args.model).is_dir():
        with torch.no_grad():
            decoded = decoded_model(args.model, out)(torch.tensor([ids])).logits[0]
        report["max_abs_delta_tailor_vs_decoded"] = float((tailor.double() - decoded.double()).abs().max())
        report["max_abs_delta_transformers_vs_decoded"] = float((hf.double() - decoded.double()).abs().max())
        report["layers_byte_identical_to_bitsandbytes"] = same_bytes_as_bitsandbytes(args.model, out, args.format)
        ok = ok and report["max_abs_delta_tailor_vs_decoded"] <= args.tolerance and report["layers_byte_identical_to_bitsandbytes"]
    report["ok"] = ok
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
