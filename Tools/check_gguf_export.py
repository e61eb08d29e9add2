#!/usr/bin/env python3
"""Checks `tailor export --format gguf` with llama.cpp's own code.

For each model (the tiny fixtures, and the default model when it is cached):
1. A random, non-trivial LoRA (A and B both random; rsLoRA on some models, so the scale folding is
   exercised) is written as a PEFT folder for the model's projections.
2. Tailor's reference logits: `tailor generate --model M --adapter LORA --max-tokens 0 --dump-logits F -- PROMPT`
   (adapter applied unmerged), which also gives the prompt's token ids.
3. `tailor export --format gguf --quant Q --adapter LORA` for Q in f32, f16, q8_0, q4_k, q6_k writes the merged model;
   tailor-llama-logits (Tools/llama_logits.c, built by Scripts/build-llama-cpp.sh against libllama) evaluates
   the same token ids with llama.cpp and writes all-position logits.
   Tailor also reads each F16/Q8_0/Q4_K/Q6_K file, and its logits are compared with llama.cpp's on the same file
   (both dequantize the same blocks, so this isolates the readers from the rounding). Each file's tensor types
   are counted (a K export keeps llama-quantize's fallbacks for rows that are not whole 256-value blocks).
4. `tailor export --format gguf --quant f32` (no adapter) plus `--adapter-only` writes base + adapter GGUF;
   llama.cpp applies the adapter with llama_adapter_lora_init. For a GGUF source model, the adapter is also
   applied on the original file.
5. llama-tokenize on the exported GGUF must give Tailor's prompt ids. (Fixture folders without a tokenizer get a
   one-character-per-token byte-level vocabulary of their size, so that both tools can tokenize.)
Every exported file is also opened with the `gguf` package's GGUFReader. Prints one JSON object with the
max |Δlogit| of every comparison (and, for scale, the largest |logit| and how far the adapter moves the
logits); exits 1 when an F32 comparison exceeds --tolerance (the other types are reported, not judged).

Run (from the repository root, after `swift build -c release` and `Scripts/build-llama-cpp.sh`):
    ~/.cache/tailor/pyenv/bin/python Tools/check_gguf_export.py --tailor .build/release/tailor
Options: --models a,b (default: all tiny fixtures + the default model), --work DIR, --tolerance 1e-3.
"""
import argparse
import collections
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from gguf import GGUFReader
from safetensors import safe_open
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("TAILOR_CACHE", pathlib.Path.home() / ".cache/tailor"))
BIN = CACHE / "llama.cpp/build/bin"
TINY = ROOT / "Tests/ModelTests/Fixtures/tiny-models"
MODELS = {
    "tiny-llama": TINY / "llama",
    "tiny-qwen2": TINY / "qwen2",
    "tiny-llama3-tied": TINY / "llama3-tied",
    "tiny-gpt2": TINY / "gpt2",
    "tiny-qwen2-tokenizer": ROOT / "Tests/GenerateTests/Fixtures/cli/tiny-qwen2",
    "default": CACHE / "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
QUANTS = ["f32", "f16", "q8_0", "q4_k", "q6_k"]
PROMPTS = ["def fib(n):\n    return n * 2\n", "Hello, world! 12345 (x+y)*2 = z;"]


def run(command):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def with_tokenizer(model, folder):
    """`model` itself, or for a fixture folder without tokenizer.json a copy with a byte-level BPE vocabulary of
    its size: the byte-level symbols of newline, space and printable ASCII, no merges (one token per character)."""
    if not model.is_dir() or (model / "tokenizer.json").exists():
        return model
    config = json.loads((model / "config.json").read_text())
    symbols = ["\u010a", "\u0120"] + [chr(b) for b in range(33, 127)]
    assert len(symbols) == config["vocab_size"], "the fixture tokenizer covers a 96-token vocabulary"
    folder.mkdir(parents=True, exist_ok=True)
    for file in ["config.json", "model.safetensors"]:
        (folder / file).write_bytes((model / file).read_bytes())
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
                 "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
                 "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                           "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                           "vocab": {s: i for i, s in enumerate(symbols)}, "merges": []}}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    return folder


def dimensions(model):
    """(architecture, hidden, heads, kv heads, head dim, ffn, layers) from config.json or GGUF metadata."""
    if model.is_dir():
        c = json.loads((model / "config.json").read_text())
        if c["model_type"] == "gpt2":
            return "gpt2", c["n_embd"], c["n_head"], c["n_head"], c["n_embd"] // c["n_head"], c.get("n_inner") or 4 * c["n_embd"], c["n_layer"]
        heads = c["num_attention_heads"]
        return (c["model_type"], c["hidden_size"], heads, c.get("num_key_value_heads", heads),
                c.get("head_dim") or c["hidden_size"] // heads, c["intermediate_size"], c["num_hidden_layers"])
    reader = GGUFReader(str(model))
    value = lambda key: reader.fields[key].contents()
    arch = value("general.architecture")
    heads = value(f"{arch}.attention.head_count")
    hidden = value(f"{arch}.embedding_length")
    return (arch, hidden, heads, value(f"{arch}.attention.head_count_kv"), hidden // heads,
            value(f"{arch}.feed_forward_length"), value(f"{arch}.block_count"))


def make_lora(model, folder, rank, alpha, rslora, seed):
    """A PEFT LoRA folder with random A and B on the attention and MLP projections. On a real model B is kept
    small enough that the adapter moves the logits by a few units, as a fine-tune does; a much stronger random
    update drives the activations into a regime where float rounding differences grow along the sequence."""
    arch, C, H, G, D, F, L = dimensions(model)
    strength = 0.3 if C <= 64 else 0.03
    rng = np.random.default_rng(seed)
    if arch == "gpt2":
        prefix, shapes = "transformer.h", {"attn.c_attn": (C, 3 * C), "attn.c_proj": (C, C), "mlp.c_fc": (C, F)}
        targets = ["c_attn", "attn.c_proj", "c_fc"]
    else:
        prefix = "model.layers"
        shapes = {"self_attn.q_proj": (C, H * D), "self_attn.k_proj": (C, G * D), "self_attn.v_proj": (C, G * D),
                  "self_attn.o_proj": (H * D, C), "mlp.down_proj": (F, C)}
        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]
    tensors = {}
    for layer in range(L):
        for module, (fan_in, fan_out) in shapes.items():
            name = f"base_model.model.{prefix}.{layer}.{module}"
            tensors[name + ".lora_A.weight"] = (rng.standard_normal((rank, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
            tensors[name + ".lora_B.weight"] = (rng.standard_normal((fan_out, rank)) * strength / np.sqrt(rank)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": alpha, "lora_dropout": 0.0,
              "target_modules": targets, "use_rslora": rslora, "bias": "none", "fan_in_fan_out": arch == "gpt2",
              "init_lora_weights": True, "inference_mode": True}
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=1))


def tailor_logits(tailor, model, prompt, path, adapter=None):
    command = [tailor, "generate", "--model", model, "--max-tokens", "0", "--dump-logits", path]
    if adapter:
        command += ["--adapter", adapter]
    run(command + ["--", prompt])
    with safe_open(str(path), "np") as f:
        return json.loads(f.metadata()["input_ids"]), f.get_tensor("logits").astype(np.float64)


def llama_logits(model, ids, path, lora=None):
    command = [BIN / "tailor-llama-logits", model, path, ",".join(map(str, ids))]
    if lora:
        command += ["--lora", lora]
    run(command)
    raw = pathlib.Path(path).read_bytes()
    n, vocab = struct.unpack("<ii", raw[:8])
    return np.frombuffer(raw[8:], dtype="<f4").reshape(n, vocab).astype(np.float64)


def llama_tokens(model, prompt):
    out = run([BIN / "llama-tokenize", "-m", model, "-p", prompt, "--ids", "--log-disable"])
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def delta(a, b):
    return float(np.abs(a - b).max())


def check(name, model, tailor, work, rslora):
    work.mkdir(parents=True, exist_ok=True)
    model = with_tokenizer(model, work / "model")
    lora = work / "lora"
    make_lora(model, lora, rank=4, alpha=8, rslora=rslora, seed=zlib.crc32(name.encode()))
    result = {"model": str(model), "rslora": rslora}
    base_gguf, adapter_gguf = work / "base-f32.gguf", work / "adapter.gguf"
    run([tailor, "export", "--format", "gguf", "--quant", "f32", "--model", model, "--output", base_gguf])
    run([tailor, "export", "--format", "gguf", "--adapter-only", "--model", model, "--adapter", lora, "--output", adapter_gguf])
    merged = {}
    for quant in QUANTS:
        merged[quant] = work / f"merged-{quant}.gguf"
        run([tailor, "export", "--format", "gguf", "--quant", quant, "--model", model, "--adapter", lora, "--output", merged[quant]])
    for path in [base_gguf, adapter_gguf, *merged.values()]:
        GGUFReader(str(path))  # the reference reader accepts every file
    for quant, path in merged.items():
        types = collections.Counter(t.tensor_type.name for t in GGUFReader(str(path)).tensors)
        result[f"tensor_types_{quant}"] = dict(sorted(types.items()))
    for p, prompt in enumerate(PROMPTS):
        ids, reference = tailor_logits(tailor, model, prompt, work / f"tailor-{p}.safetensors", adapter=lora)
        _, tailor_base = tailor_logits(tailor, model, prompt, work / f"tailor-base-{p}.safetensors")
        row = {"tokens": len(ids), "max_abs_logit": float(np.abs(reference).max()), "adapter_effect": delta(reference, tailor_base),
               "llama_tokenize_matches": llama_tokens(merged["f32"], prompt) == ids}
        for quant, path in merged.items():
            llama = llama_logits(path, ids, work / "l.bin")
            row[f"merged_{quant}"] = delta(llama, reference)
            if quant != "f32":  # both readers on the same quantized file: isolates the file from the rounding
                _, same_file = tailor_logits(tailor, path, prompt, work / "tailor-file.safetensors")
                row[f"merged_{quant}_tailor_vs_llama_same_file"] = delta(llama, same_file)
        row["base_plus_lora_gguf"] = delta(llama_logits(base_gguf, ids, work / "l.bin", lora=adapter_gguf), reference)
        if model.suffix == ".gguf":
            row["original_gguf_plus_lora_gguf"] = delta(llama_logits(model, ids, work / "l.bin", lora=adapter_gguf), reference)
        result[f"prompt{p}"] = row
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tailor", required=True, help="the tailor executable")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--work", help="folder for exported files (default: a temporary folder)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest acceptable F32 |Δlogit|")
    args = parser.parse_args()
    if not (BIN / "tailor-llama-logits").exists():
        sys.exit(f"{BIN}/tailor-llama-logits is missing: run Scripts/build-llama-cpp.sh")
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="tailor-gguf-check-"))
    report, failed = {}, False
    for i, name in enumerate(args.models.split(",")):
        model = MODELS[name]
        if not model.exists():
            report[name] = "skipped: not downloaded"
            continue
        report[name] = check(name, model, pathlib.Path(args.tailor).resolve(), work / name, rslora=i % 2 == 1)
        for key, row in report[name].items():
            if key.startswith("prompt"):
                for field in ["merged_f32", "base_plus_lora_gguf"]:
                    failed |= row[field] > args.tolerance * max(1.0, row["max_abs_logit"])
                failed |= row.get("llama_tokenize_matches") is False
        print(json.dumps({name: report[name]}), file=sys.stderr)
    print(json.dumps(report, indent=1))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
