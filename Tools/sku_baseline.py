#!/usr/bin/env python3
"""Measures how the untuned Qwen2.5-Coder-0.5B-Instruct does on the SKU demo task (exact match on
Examples/Data/sku/test.jsonl, greedy decoding, Qwen's ChatML template with its default system
prompt) — the baseline a fine-tune must beat.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/sku_baseline.py [--limit N] [--gguf PATH]
(transformers loads the GGUF and dequantizes it to fp32; ~2.5 GB of RAM; one thread.)
"""
import argparse
import json
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--gguf", default=os.path.expanduser("~/.cache/tailor/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    directory, name = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, torch_dtype=torch.float32)
    model.eval()

    rows = [json.loads(line) for line in open(os.path.join(ROOT, "Examples", "Data", "sku", "test.jsonl"), encoding="utf-8")]
    rows = rows[:args.limit]
    prompts = [tok.apply_chat_template([{"role": "user", "content": r["instruction"]}], tokenize=False, add_generation_prompt=True)
               for r in rows]
    correct = 0
    shown = 0
    for start in range(0, len(prompts), 20):
        batch = tok(prompts[start:start + 20], return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=24, do_sample=False, pad_token_id=tok.pad_token_id)
        for i, seq in enumerate(out):
            answer = tok.decode(seq[batch["input_ids"].shape[1]:], skip_special_tokens=True).strip()
            expected = rows[start + i]["output"]
            correct += answer == expected
            if shown < 8:
                print(f"  {rows[start + i]['instruction']!r} -> {answer!r} (expected {expected})")
                shown += 1
    print(f"exact match: {correct}/{len(rows)} = {correct / len(rows):.3f}")


if __name__ == "__main__":
    main()
