#!/usr/bin/env python3
"""Checks `tailor merge` against Hugging Face transformers (and peft).

1. `tailor merge --model MODEL --adapter ADAPTER --output WORK/merged` writes a Hugging Face folder.
2. transformers loads it (AutoModelForCausalLM, float32, eager attention) and AutoTokenizer loads its tokenizer.
3. Tailor's own logits for the prompt come from the hidden debugging option
   `tailor generate --dump-logits FILE --max-tokens 0 PROMPT` (a safetensors file: tensor "logits" [tokens, vocab],
   metadata "input_ids"), run twice: on the merged folder, and on MODEL with ADAPTER unmerged.
4. Compared: AutoTokenizer's ids with Tailor's; transformers' logits on the merged folder with both Tailor dumps;
   and, when MODEL is a Hugging Face folder, peft's logits (base + adapter, unmerged) with Tailor's unmerged ones.
Prints one JSON object with the max |Δlogit| of each comparison (and, for scale, how far the adapter moves Tailor's
base-model logits) and exits 1 if any comparison exceeds --tolerance.

Run (from the repository root, after `swift build -c release`):
    ~/.cache/tailor/pyenv/bin/python Tools/check_merged_model.py --tailor .build/release/tailor \\
        --model Tests/GenerateTests/Fixtures/cli/tiny-qwen2 --adapter Tests/GenerateTests/Fixtures/cli/adapter
(venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install "torch==2.13.0+cpu" transformers peft
 safetensors tokenizers)
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

DEFAULT_PROMPT = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {done.stderr.strip()}")


def tailor_logits(tailor, model, prompt, path, adapter=None):
    command = [tailor, "generate", "--model", str(model), "--max-tokens", "0", "--dump-logits", str(path)]
    if adapter:
        command += ["--adapter", str(adapter)]
    run(command + ["--", prompt])
    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["input_ids"]), f.get_tensor("logits")


def max_delta(a, b):
    return float((a.double() - b.double()).abs().max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tailor", required=True, help="the tailor executable")
    parser.add_argument("--model", required=True, help="base model: Hugging Face folder or .gguf")
    parser.add_argument("--adapter", required=True, help="PEFT adapter folder")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--work", help="folder for the merged model and logits (default: a temporary folder)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest acceptable |Δlogit|")
    args = parser.parse_args()

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="tailor-merge-check-"))
    work.mkdir(parents=True, exist_ok=True)
    merged = work / "merged"
    run([args.tailor, "merge", "--model", args.model, "--adapter", args.adapter, "--output", str(merged)])
    ids_merged, tailor_merged = tailor_logits(args.tailor, merged, args.prompt, work / "tailor-merged.safetensors")
    ids_adapter, tailor_adapter = tailor_logits(args.tailor, args.model, args.prompt, work / "tailor-adapter.safetensors",
                                                adapter=args.adapter)
    _, tailor_base = tailor_logits(args.tailor, args.model, args.prompt, work / "tailor-base.safetensors")

    tokenizer = AutoTokenizer.from_pretrained(merged)
    hf_ids = tokenizer(args.prompt)["input_ids"]
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        hf_logits = model(torch.tensor([ids_merged])).logits[0]

    report = {
        "model": args.model, "adapter": args.adapter, "tokens": len(ids_merged), "vocabulary": int(hf_logits.shape[-1]),
        "tokenizer_ids_equal": hf_ids == ids_merged and ids_adapter == ids_merged,
        "logit_range": [float(hf_logits.min()), float(hf_logits.max())],
        "max_abs_delta_merged_tailor_vs_transformers": max_delta(tailor_merged, hf_logits),
        "max_abs_delta_unmerged_tailor_vs_merged_transformers": max_delta(tailor_adapter, hf_logits),
        "max_abs_adapter_effect": max_delta(tailor_base, tailor_adapter),
        "argmax_equal": bool((tailor_adapter.argmax(-1) == hf_logits.argmax(-1)).all()),
    }
    if pathlib.Path(args.model).is_dir():
        from peft import PeftModel
        base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager")
        peft_model = PeftModel.from_pretrained(base, args.adapter)
        peft_model.eval()
        with torch.no_grad():
            peft_logits = peft_model(torch.tensor([ids_adapter])).logits[0]
        report["max_abs_delta_unmerged_tailor_vs_peft"] = max_delta(tailor_adapter, peft_logits)
    deltas = [v for k, v in report.items() if k.startswith("max_abs_delta")]
    report["ok"] = report["tokenizer_ids_equal"] and max(deltas) <= args.tolerance
    print(json.dumps(report))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
