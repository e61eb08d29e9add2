#!/usr/bin/env python3
"""Writes Tests/GenerateTests/Fixtures/sampling_processors.json: logits processed by Hugging Face
transformers' own processors, which the Swift `Sampler` must reproduce within 1e-6.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/make_sampling_fixtures.py
(venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install "torch==2.13.0+cpu" transformers ...)

Each case holds a logits row, the token ids seen so far (prompt + generated) and settings. "single" cases
run one processor; "pipeline" cases run the processor list that `generate(do_sample=True)` itself builds
(obtained from `_get_logits_processor` on a tiny randomly initialised Qwen2, no download), which also
records HF's processor order. Removed tokens (-inf) are written as null.
"""
import json
import math
import pathlib

import numpy as np
import torch
import transformers
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "GenerateTests" / "Fixtures" / "sampling_processors.json"
VOCAB = 48


def row(seed, scale=3.0, n=VOCAB):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * scale).astype(np.float32)


def as_json_row(t):
    return [None if math.isinf(v) and v < 0 else float(v) for v in t.tolist()]


def check_top_p_margin(scores, top_p):
    """Refuses settings whose nucleus boundary is within float noise (HF's float32 cumsum vs Swift)."""
    p = torch.softmax(scores.double(), -1).sort(descending=True).values
    above = torch.cumsum(p, 0) - p
    assert float(torch.min(torch.abs(above - top_p))) > 1e-4, "top-p boundary too close to call"


def check_min_p_margin(scores, min_p):
    p = torch.softmax(scores.double(), -1)
    ratio = p / p.max()
    assert float(torch.min(torch.abs(ratio - min_p))) > 1e-4, "min-p boundary too close to call"


cases = []
logits_a = row(1)
logits_b = row(2, scale=1.0)  # flatter: nucleus/min-p keep many tokens
logits_e = row(3, scale=1.5)
ids = [3, 5, 5, 17, 31, 40]    # includes a repeated id (penalised once)
# Exact boundary rule: probabilities 0.5, 0.29, 0.21 -> the third token is the one crossing p = 0.8
# (mass above it 0.79 < 0.8, kept); with p = 0.78 the mass above it (0.79) already reaches p (removed).
logits_c = np.log(np.array([0.5, 0.29, 0.21, 1e-3, 5e-4], dtype=np.float64)).astype(np.float32)
# Ties at the top-k boundary: HF keeps every token whose score equals the k-th highest.
logits_d = np.array([2.0, 1.0, 1.0, 1.0, 0.5, -1.0, 3.0, 1.0], dtype=np.float32)


def single(name, processor, logits, input_ids, settings):
    scores = torch.tensor(logits)[None, :].clone()
    input_tensor = torch.tensor([input_ids], dtype=torch.long)
    if "top_p" in settings:
        check_top_p_margin(scores[0], settings["top_p"])
    if "min_p" in settings:
        check_min_p_margin(scores[0], settings["min_p"])
    out = processor(input_tensor, scores)[0]
    cases.append({"name": name, "kind": "single", "logits": [float(v) for v in logits], "input_ids": input_ids,
                  "settings": settings, "expected": as_json_row(out)})


single("repetition_1.3", RepetitionPenaltyLogitsProcessor(1.3), logits_a, ids, {"repetition_penalty": 1.3})
single("repetition_0.7_reward", RepetitionPenaltyLogitsProcessor(0.7), logits_a, ids, {"repetition_penalty": 0.7})
single("temperature_0.6", TemperatureLogitsWarper(0.6), logits_a, [], {"temperature": 0.6})
single("temperature_1.7", TemperatureLogitsWarper(1.7), logits_b, [], {"temperature": 1.7})
single("top_k_1", TopKLogitsWarper(1), logits_a, [], {"top_k": 1})
single("top_k_7", TopKLogitsWarper(7), logits_a, [], {"top_k": 7})
single("top_k_3_ties", TopKLogitsWarper(3), logits_d, [], {"top_k": 3})
single("top_k_100_exceeds_vocab", TopKLogitsWarper(100), logits_a, [], {"top_k": 100})
single("top_p_0.9_peaked", TopPLogitsWarper(0.9), logits_a, [], {"top_p": 0.9})
single("top_p_0.5_flat", TopPLogitsWarper(0.5), logits_b, [], {"top_p": 0.5})
single("top_p_0.01_keeps_top", TopPLogitsWarper(0.01), logits_a, [], {"top_p": 0.01})
single("top_p_0.8_boundary_kept", TopPLogitsWarper(0.8), logits_c, [], {"top_p": 0.8})
single("top_p_0.78_boundary_removed", TopPLogitsWarper(0.78), logits_c, [], {"top_p": 0.78})
single("min_p_0.1_peaked", MinPLogitsWarper(0.1), logits_a, [], {"min_p": 0.1})
single("min_p_0.05_flat", MinPLogitsWarper(0.05), logits_b, [], {"min_p": 0.05})
single("min_p_0.3_ties", MinPLogitsWarper(0.3), logits_d, [], {"min_p": 0.3})

# Full sampling pipelines in the order generate() builds them.
tiny = Qwen2ForCausalLM(Qwen2Config(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                    num_attention_heads=2, num_key_value_heads=1))
pipelines = [
    ("pipeline_all", logits_e, {"repetition_penalty": 1.3, "temperature": 1.3, "top_k": 10, "top_p": 0.9, "min_p": 0.08}),
    ("pipeline_no_top_k", logits_b, {"repetition_penalty": 1.1, "temperature": 1.5, "top_k": 0, "top_p": 0.9, "min_p": 0.02}),
    ("pipeline_top_p_min_p", logits_a, {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "min_p": 0.01}),
    ("pipeline_min_p_only", logits_b, {"repetition_penalty": 0.8, "temperature": 2.0, "top_k": 0, "min_p": 0.2}),
    ("pipeline_top_k_temp", logits_b, {"temperature": 0.5, "top_k": 12}),
]
for name, logits, settings in pipelines:
    gc = GenerationConfig(do_sample=True, **settings)
    processors = tiny._get_logits_processor(generation_config=gc, input_ids_seq_length=len(ids))
    scores = torch.tensor(logits)[None, :].clone()
    input_tensor = torch.tensor([ids], dtype=torch.long)
    for p in processors:
        if isinstance(p, TopPLogitsWarper):
            check_top_p_margin(scores[0], p.top_p)
        if isinstance(p, MinPLogitsWarper):
            check_min_p_margin(scores[0], p.min_p)
        scores = p(input_tensor, scores)
    cases.append({"name": name, "kind": "pipeline", "logits": [float(v) for v in logits], "input_ids": ids,
                  "settings": settings, "processors": [type(p).__name__ for p in processors],
                  "expected": as_json_row(scores[0])})

OUT.write_text(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases},
                          indent=1) + "\n")
print(f"wrote {len(cases)} cases to {OUT}")
