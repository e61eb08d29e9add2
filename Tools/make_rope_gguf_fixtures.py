#!/usr/bin/env python3
"""Builds GGUF fixtures for rotary-embedding scaling, from the tiny transformers models.

Run with the reference venv (see the common brief):
    ~/.cache/tailor/pyenv/bin/python Tools/make_rope_gguf_fixtures.py
(after Tools/make_model_fixtures.py, whose tiny-models/ folders it reads).

Writes (small, committed) under Tests/ModelTests/Fixtures/gguf/:
  rope_llama3.gguf      tiny-models/llama3-tied as llama.cpp's converter writes a Llama 3.1 model:
                        arch `llama`, q/k rows permuted, and `rope_freqs.weight` holding the
                        per-frequency divisors of the llama3 rope scaling. Its reference logits are
                        tiny-models/llama3-tied/expected.json (transformers on the HF folder).
  rope_linear.gguf      tiny-models/llama with `llama.rope.scaling.type = linear`, factor 2.5.
  rope_linear.json      transformers' logits for that model with rope_scaling linear 2.5.
  rope_yarn.gguf        the same weights with `llama.rope.scaling.type = yarn` (unsupported).
"""
import json
import math
import pathlib

import gguf
import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = ROOT / "Tests/ModelTests/Fixtures/tiny-models"
OUT = ROOT / "Tests/ModelTests/Fixtures/gguf"


def permute(w, heads):
    """llama.cpp's rotary row order for q/k projections."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_factors(config, head_dim):
    """The divisors llama.cpp's converter stores in rope_freqs.weight for llama3 scaling."""
    p = config["rope_parameters"]
    base, factor = p["rope_theta"], p["factor"]
    lo, hi, old = p["low_freq_factor"], p["high_freq_factor"], p["original_max_position_embeddings"]
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    low_wavelen, high_wavelen = old / lo, old / hi
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def write_gguf(path, folder, rope_theta, extra):
    config = json.loads((folder / "config.json").read_text())
    state = load_file(str(folder / "model.safetensors"))
    heads, kv, hidden = config["num_attention_heads"], config["num_key_value_heads"], config["hidden_size"]
    head_dim = config.get("head_dim") or hidden // heads
    w = gguf.GGUFWriter(str(path), "llama", use_temp_file=False)
    w.add_name(path.stem)
    w.add_block_count(config["num_hidden_layers"])
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_rope_freq_base(rope_theta)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(config["vocab_size"])])
    extra(w, config, head_dim)
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    w.add_tensor("token_embd.weight", state["model.embed_tokens.weight"])
    for i in range(config["num_hidden_layers"]):
        for hf, gg in names.items():
            t = state[f"model.layers.{i}.{hf}.weight"]
            if gg == "attn_q":
                t = permute(t, heads)
            if gg == "attn_k":
                t = permute(t, kv)
            w.add_tensor(f"blk.{i}.{gg}.weight", np.ascontiguousarray(t))
    w.add_tensor("output_norm.weight", state["model.norm.weight"])
    if "lm_head.weight" in state:
        w.add_tensor("output.weight", state["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    folder = TINY / "llama3-tied"
    cfg = json.loads((folder / "config.json").read_text())
    factors = llama3_factors(cfg, cfg["head_dim"])
    write_gguf(OUT / "rope_llama3.gguf", folder, cfg["rope_parameters"]["rope_theta"],
               lambda w, c, d: w.add_tensor("rope_freqs.weight", factors))

    folder = TINY / "llama"
    cfg = json.loads((folder / "config.json").read_text())
    theta = cfg.get("rope_theta") or cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)

    def linear(kind):
        def add(w, c, d):
            w.add_string("llama.rope.scaling.type", kind)
            w.add_float32("llama.rope.scaling.factor", 2.5)
            w.add_uint32("llama.rope.scaling.original_context_length", 16)
        return add

    write_gguf(OUT / "rope_linear.gguf", folder, theta, linear("linear"))
    write_gguf(OUT / "rope_yarn.gguf", folder, theta, linear("yarn"))

    hf = LlamaConfig.from_pretrained(str(folder))
    hf.rope_parameters = {"rope_type": "linear", "factor": 2.5, "rope_theta": theta}
    model = LlamaForCausalLM.from_pretrained(str(folder), config=hf, attn_implementation="eager").eval()
    ids = [[3, 1, 4, 1, 5, 9, 2, 6, 53, 58, 9, 7, 9, 3, 23, 84, 62, 6, 43, 38]]
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits
    (OUT / "rope_linear.json").write_text(json.dumps({
        "input_ids": ids, "logits_shape": list(logits.shape),
        "logits": [round(float(x), 6) for x in logits.reshape(-1)]}) + "\n")


if __name__ == "__main__":
    main()
