#!/usr/bin/env python3
"""Tiny random GPT-2, Llama (GQA) and Qwen2 models saved with transformers' save_pretrained, and
their logits for fixed inputs (eager attention), as fixtures for Tests/ModelTests.

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_model_fixtures.py
(venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install "torch==2.13.0+cpu" transformers safetensors)
"""
import json
import pathlib

import torch
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "ModelTests" / "Fixtures" / "tiny-models"


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))


def save(name, model, vocab):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    for extra in ("generation_config.json",):
        (d / extra).unlink(missing_ok=True)
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, vocab, (2, 9), generator=g)
    model.eval()
    with torch.no_grad():
        logits = model(ids).logits
    (d / "expected.json").write_text(json.dumps({
        "input_ids": ids.tolist(),
        "logits_shape": list(logits.shape),
        "logits": [round(float(x), 7) for x in logits.flatten()],
    }))
    print(name, sum(p.numel() for p in model.parameters()), "params")


def main():
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=96, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                      attn_implementation="eager"))
    randomize(gpt2, 1)
    save("gpt2", gpt2, 96)

    llama = LlamaForCausalLM(LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                                         attn_implementation="eager"))
    randomize(llama, 2)
    save("llama", llama, 96)

    llama3 = LlamaForCausalLM(LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64,
                                          rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
                                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
                                          attn_implementation="eager"))
    randomize(llama3, 3)
    save("llama3-tied", llama3, 96)

    qwen = Qwen2ForCausalLM(Qwen2Config(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False,
                                        attn_implementation="eager"))
    randomize(qwen, 4)
    save("qwen2", qwen, 96)


if __name__ == "__main__":
    main()
