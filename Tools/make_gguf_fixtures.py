#!/usr/bin/env python3
"""Builds the small GGUF test fixtures and their reference values.

Run with the reference venv (see the common brief):
    ~/.cache/tailor/pyenv/bin/python Tools/make_gguf_fixtures.py
The venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install \
    "torch==2.13.0+cpu" transformers peft safetensors tokenizers gguf sacrebleu rouge-score sentencepiece

Writes (all small, committed):
  Tests/QuantTests/Fixtures/ggml/<TYPE>.blocks    raw ggml-encoded data of one tensor per type
  Tests/QuantTests/Fixtures/ggml/<TYPE>.f32       gguf-py's `dequantize` of it, little-endian f32
  Tests/ModelTests/Fixtures/gguf/all_types.gguf   every metadata value type + one tensor per ggml type
  Tests/ModelTests/Fixtures/gguf/all_types.json   the metadata as gguf-py reads it back, and tensor shapes
  Tests/ModelTests/Fixtures/gguf/all_types_expected.safetensors  gguf-py dequantized tensors (F32)
  Tests/ModelTests/Fixtures/gguf/tiny_<arch>.gguf       tiny llama / qwen2 / gpt2 models (random weights)
  Tests/ModelTests/Fixtures/gguf/tiny_<arch>_hf.safetensors  the state_dict transformers loads from it
  Tests/ModelTests/Fixtures/gguf/tiny_<arch>_config.json     the config transformers derives from it
  Tests/ModelTests/Fixtures/gguf/qwen_real.json + qwen_real_first256.safetensors
        when the default model is cached (Scripts/fetch-default-model.sh): its metadata and the first
        256 dequantized values of one Q4_K, Q5_0, Q6_K and Q8_0 tensor, as gguf-py reads them.
The K-quant fixtures are random blocks with sane fp16 scales plus, when the default model is
cached, its first real blocks; the other types are gguf-py quantizations of random data.
"""
import json
import os
import pathlib
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
QUANT_DIR = ROOT / "Tests/QuantTests/Fixtures/ggml"
MODEL_DIR = ROOT / "Tests/ModelTests/Fixtures/gguf"
CACHE = pathlib.Path(os.environ.get("TAILOR_CACHE", pathlib.Path.home() / ".cache/tailor"))
DEFAULT_MODEL = CACHE / "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

rng = np.random.default_rng(20240611)
real = gguf.GGUFReader(str(DEFAULT_MODEL)) if DEFAULT_MODEL.exists() else None


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8).reshape(len(values), 2)


def real_blocks(qtype, n):
    """The first n blocks of the first tensor of `qtype` in the default model, or None."""
    if real is None:
        return None
    for t in real.tensors:
        if t.tensor_type == qtype:
            size = gguf.GGML_QUANT_SIZES[qtype][1]
            return np.array(t.data.reshape(-1)[: n * size], dtype=np.uint8).reshape(n, size)
    return None


def random_k_blocks(qtype, n):
    """n random but well-formed super-blocks: random quants and scale bytes, finite fp16 scales.
    Block 0 has every quant/scale byte 0xFF (all high bits set)."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    b = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    b[0, :] = 0xFF
    d = rng.uniform(1e-3, 5e-2, n) * rng.choice([-1, 1], n)
    dmin = rng.uniform(1e-3, 5e-2, n)
    if qtype in (T.Q4_K, T.Q5_K):  # d, dmin at the start
        b[:, 0:2] = f16_bytes(d)
        b[:, 2:4] = f16_bytes(dmin)
    elif qtype == T.Q6_K:  # d at the end
        b[:, 208:210] = f16_bytes(d)
    return b


def k_quant_data(qtype):
    blocks = random_k_blocks(qtype, 2)
    extra = real_blocks(qtype, 2)
    if extra is None:
        extra = random_k_blocks(qtype, 2)
    return np.concatenate([blocks, extra]).reshape(-1), (4, 256)


def type_fixtures():
    """{type name: (ggml type, raw uint8 bytes, shape outermost first)}"""
    out = {}
    x = rng.standard_normal((2, 256)).astype(np.float32)
    x[0, :32] *= 40  # a block of large values
    x[1, :32] = 0  # an all-zero block
    out["F32"] = (T.F32, x.view(np.uint8).reshape(-1), x.shape)
    specials = np.array([0.0, -0.0, 2.0**-24, -(2.0**-24), 2.0**-14, 6.1e-5, 65504, -65504,
                         np.inf, -np.inf, np.nan, 1.0, -2.5, 1e-7, 3.14159, 0.1], dtype=np.float32)
    h = np.concatenate([specials, rng.standard_normal(512 - len(specials))]).astype(np.float16)
    out["F16"] = (T.F16, h.view(np.uint8).reshape(-1), (2, 256))
    bsrc = np.concatenate([specials, 1e30 * rng.standard_normal(16),
                           rng.standard_normal(512 - 32)]).astype(np.float32).reshape(2, 256)
    out["BF16"] = (T.BF16, quantize(bsrc, T.BF16).reshape(-1), (2, 256))
    for qt in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        out[qt.name] = (qt, quantize(x, qt).reshape(-1), x.shape)
    for qt in (T.Q4_K, T.Q5_K, T.Q6_K):
        data, shape = k_quant_data(qt)
        out[qt.name] = (qt, data, shape)
    return out


def write_type_fixtures(types):
    QUANT_DIR.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (qt, data, shape) in types.items():
        values = dequantize(data.reshape(shape[0], -1), qt).astype(np.float32).reshape(shape)
        expected[name] = values
        (QUANT_DIR / f"{name}.blocks").write_bytes(data.tobytes())
        (QUANT_DIR / f"{name}.f32").write_bytes(values.astype("<f4").tobytes())
    return expected


def write_all_types_gguf(types, expected):
    path = MODEL_DIR / "all_types.gguf"
    w = gguf.GGUFWriter(str(path), "test", use_temp_file=False)
    w.add_custom_alignment(64)
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4_000_000_000)
    w.add_int32("test.i32", -2_000_000_000)
    w.add_float32("test.f32", 0.15625)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "héllo, wörld ✓")
    w.add_uint64("test.u64", 18_000_000_000_000_000_000)
    w.add_int64("test.i64", -9_000_000_000_000_000_000)
    w.add_float64("test.f64", -1.0 / 3.0)
    w.add_array("test.strings", ["a", "", "ñ", "<|im_end|>"])
    w.add_key_value("test.u8s", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("test.i16s", [-1, 2, -32768], V.ARRAY, sub_type=V.INT16)
    w.add_key_value("test.i32s", [-5, 0, 7], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("test.u64s", [1, 2**63], V.ARRAY, sub_type=V.UINT64)
    w.add_key_value("test.f32s", [0.5, -1.25, 3.0], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("test.f64s", [0.1, -2.0], V.ARRAY, sub_type=V.FLOAT64)
    w.add_array("test.bools", [True, False, True])
    nested = {"test.nested": [[1, 2, 3], [4], [5, 6]], "test.nested_strings": [["x", "y"], ["z"]]}
    for key, value in nested.items():
        w.add_array(key, value)
    for name, (qt, data, shape) in types.items():
        w.add_tensor(f"t.{name}", data.reshape(shape[0], -1), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Describe the file as gguf-py reads it back.
    r = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        meta[key] = {"types": [int(t) for t in field.types], "value": to_json(field.contents())}
    tensors = {t.name: {"type": int(t.tensor_type), "dims": [int(d) for d in t.shape],
                        "offset": int(t.data_offset - r.data_offset)} for t in r.tensors}
    doc = {"version": 3, "alignment": 64, "data_offset": int(r.data_offset),
           "metadata_keys": [k for k in r.fields if not k.startswith("GGUF.")],
           "metadata": meta, "tensors": tensors,
           # gguf-py's reader flattens nested arrays; this is the structure that was written.
           "nested_as_written": nested}
    (MODEL_DIR / "all_types.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    save_file({f"t.{name}": np.ascontiguousarray(v) for name, v in expected.items()},
              str(MODEL_DIR / "all_types_expected.safetensors"))


def to_json(value):
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def write_tiny_model(arch):
    """A tiny random model in GGUF, and what transformers loads from it."""
    import torch
    from transformers import AutoModelForCausalLM

    vocab, hidden, layers, heads = 32, 16, 2, 4
    kv_heads = heads if arch == "gpt2" else 2
    ffn = 4 * hidden if arch == "gpt2" else 24
    context = 32
    head_dim = hidden // heads
    path = MODEL_DIR / f"tiny_{arch}.gguf"
    w = gguf.GGUFWriter(str(path), arch, use_temp_file=False)
    w.add_name(f"tiny-{arch}")
    w.add_block_count(layers)
    w.add_context_length(context)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    if arch == "gpt2":
        w.add_layer_norm_eps(1e-5)
    else:
        w.add_head_count_kv(kv_heads)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_rope_freq_base(10000.0 if arch == "llama" else 1000000.0)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(vocab)])

    def tensor(name, *shape):
        values = rng.standard_normal(shape).astype(np.float32)
        # Matrices in F16 (as small real checkpoints often are), vectors in F32.
        w.add_tensor(name, values.astype(np.float16) if len(shape) == 2 else values)

    tensor("token_embd.weight", vocab, hidden)
    if arch == "gpt2":
        tensor("position_embd.weight", context, hidden)
    for i in range(layers):
        p = f"blk.{i}."
        if arch == "gpt2":
            for n, shape in [("attn_norm", (hidden,)), ("attn_qkv", (3 * hidden, hidden)),
                             ("attn_output", (hidden, hidden)), ("ffn_norm", (hidden,)),
                             ("ffn_up", (ffn, hidden)), ("ffn_down", (hidden, ffn))]:
                tensor(p + n + ".weight", *shape)
                tensor(p + n + ".bias", shape[0])
        else:
            tensor(p + "attn_norm.weight", hidden)
            tensor(p + "attn_q.weight", heads * head_dim, hidden)
            tensor(p + "attn_k.weight", kv_heads * head_dim, hidden)
            tensor(p + "attn_v.weight", kv_heads * head_dim, hidden)
            if arch == "qwen2":
                tensor(p + "attn_q.bias", heads * head_dim)
                tensor(p + "attn_k.bias", kv_heads * head_dim)
                tensor(p + "attn_v.bias", kv_heads * head_dim)
            tensor(p + "attn_output.weight", hidden, heads * head_dim)
            tensor(p + "ffn_norm.weight", hidden)
            tensor(p + "ffn_gate.weight", ffn, hidden)
            tensor(p + "ffn_up.weight", ffn, hidden)
            tensor(p + "ffn_down.weight", hidden, ffn)
    tensor("output_norm.weight", hidden)
    if arch == "gpt2":
        tensor("output_norm.bias", hidden)
    tensor("output.weight", vocab, hidden)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    extra = {"n_positions": context} if arch == "gpt2" else {}
    model = AutoModelForCausalLM.from_pretrained(str(MODEL_DIR), gguf_file=path.name, **extra)
    state = {k: v.detach().to(torch.float32).contiguous().numpy() for k, v in model.state_dict().items()}
    save_file(state, str(MODEL_DIR / f"tiny_{arch}_hf.safetensors"))
    c = model.config
    config = {"model_type": c.model_type, "num_hidden_layers": c.num_hidden_layers,
              "hidden_size": c.hidden_size, "num_attention_heads": c.num_attention_heads,
              "num_key_value_heads": getattr(c, "num_key_value_heads", c.num_attention_heads),
              "vocab_size": c.vocab_size, "max_position_embeddings": c.max_position_embeddings}
    if arch == "gpt2":
        config["intermediate_size"] = c.n_inner if c.n_inner is not None else 4 * c.hidden_size
        config["layer_norm_epsilon"] = c.layer_norm_epsilon
    else:
        config["intermediate_size"] = c.intermediate_size
        config["rms_norm_eps"] = c.rms_norm_eps
        theta = getattr(c, "rope_theta", None)
        if theta is None:
            theta = (getattr(c, "rope_parameters", None) or {}).get("rope_theta")
        config["rope_theta"] = theta
    (MODEL_DIR / f"tiny_{arch}_config.json").write_text(json.dumps(config, indent=1) + "\n")


def write_real_model_fixture():
    if real is None:
        print(f"note: {DEFAULT_MODEL} not cached; keeping any existing qwen_real fixtures")
        return
    r = real
    arch = r.fields["general.architecture"].contents()
    get = lambda k: to_json(r.fields[k].contents())
    doc = {"architecture": arch,
           "block_count": get(f"{arch}.block_count"),
           "embedding_length": get(f"{arch}.embedding_length"),
           "feed_forward_length": get(f"{arch}.feed_forward_length"),
           "head_count": get(f"{arch}.attention.head_count"),
           "head_count_kv": get(f"{arch}.attention.head_count_kv"),
           "rms_norm_eps": get(f"{arch}.attention.layer_norm_rms_epsilon"),
           "rope_freq_base": get(f"{arch}.rope.freq_base"),
           "context_length": get(f"{arch}.context_length"),
           "vocab_size": len(r.fields["tokenizer.ggml.tokens"].data),
           "merges": len(r.fields["tokenizer.ggml.merges"].data),
           "tensor_count": len(r.tensors),
           "type_counts": {}, "first256": {}}
    for t in r.tensors:
        doc["type_counts"][t.tensor_type.name] = doc["type_counts"].get(t.tensor_type.name, 0) + 1
    first = {}
    for qt in (T.Q4_K, T.Q5_0, T.Q6_K, T.Q8_0):
        t = next(t for t in r.tensors if t.tensor_type == qt)
        values = dequantize(t.data, qt).reshape(-1)[:256].astype(np.float32)
        first[t.name] = values
        doc["first256"][qt.name] = {"tensor": t.name, "shape": [int(d) for d in reversed(t.shape)]}
    save_file(first, str(MODEL_DIR / "qwen_real_first256.safetensors"))
    (MODEL_DIR / "qwen_real.json").write_text(json.dumps(doc, indent=1) + "\n")


def main():
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    types = type_fixtures()
    expected = write_type_fixtures(types)
    write_all_types_gguf(types, expected)
    for arch in ("llama", "qwen2", "gpt2"):
        write_tiny_model(arch)
    write_real_model_fixture()
    total = sum(p.stat().st_size for d in (QUANT_DIR, MODEL_DIR) for p in d.iterdir())
    print(f"fixtures written: {total} bytes")


if __name__ == "__main__":
    main()
