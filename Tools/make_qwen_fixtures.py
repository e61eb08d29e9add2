#!/usr/bin/env python3
"""Reference outputs of transformers (fp32, eager attention) on the default Qwen2.5-Coder-0.5B GGUF:
for four prompts (code, English, Chinese, a ChatML chat) the prompt ids, a slice and the top-20 of the
last-position logits, and 24 greedy tokens. Written to Tests/ModelTests/Fixtures/qwen-reference.json.

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_qwen_fixtures.py [path/to/model.gguf]
(the model comes from Scripts/fetch-default-model.sh)
"""
import json
import os
import pathlib
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT = pathlib.Path(os.environ.get("TAILOR_CACHE", pathlib.Path.home() / ".cache" / "tailor")) / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PROMPTS = {
    "code": "def fibonacci(n):",
    "english": "The capital of France is",
    "chinese": "中国的首都是",
    "chat": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWrite a haiku about autumn.<|im_end|>\n<|im_start|>assistant\n",
}


def main():
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    out = {}
    for name, text in PROMPTS.items():
        ids = tok(text, add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1]
            gen = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False)[0, len(ids):].tolist()
        top = torch.topk(logits, 20)
        out[name] = {
            "text": text, "ids": ids,
            "logits_head": [round(float(x), 6) for x in logits[:2000]],
            "top_ids": top.indices.tolist(), "top_logits": [round(float(x), 6) for x in top.values],
            "greedy": gen, "greedy_text": tok.decode(gen),
        }
        print(name, repr(tok.decode(gen)))
    dest = ROOT / "Tests" / "ModelTests" / "Fixtures" / "qwen-reference.json"
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
