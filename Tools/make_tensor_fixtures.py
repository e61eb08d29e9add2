#!/usr/bin/env python3
"""Writes Tests/TensorTests/Fixtures/torch_ops.safetensors: PyTorch's results for every Tensor op.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/make_tensor_fixtures.py
(the venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install "torch==2.13.0+cpu" safetensors)

Each case `name` stores its inputs as `name/<input>` (float32, or int32 for ids/targets/positions),
torch's forward outputs as `name/out<i>`, a fixed upstream gradient `name/gy<i>` per output and,
for every differentiable input, torch's gradient of  Σᵢ sum(outᵢ ⊙ gyᵢ)  as `name/grad_<input>`.
The safetensors `__metadata__` entry "cases" is JSON: case name -> {"op", "inputs", "outputs",
"grads", plus op parameters}. Torch runs on CPU in float32 with fixed seeds; the file is small
(~220 KB) and is committed. Re-running reproduces every tensor bit for bit; only the order of the
`__metadata__` keys in the header may differ, so the file's bytes can change without its content.
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(20240611)
torch.set_num_threads(1)

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "TensorTests" / "Fixtures" / "torch_ops.safetensors"

cases = {}
tensors = {}


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float32) * scale).contiguous()


def add_case(name, op, inputs, fn, params=None, nograd=()):
    """Runs fn(*inputs.values()) -> tensor or tuple of tensors and records inputs, outputs and gradients.

    Float inputs not listed in `nograd` get gradients; int tensors never do.
    """
    assert name not in cases, name
    leaves = {}
    for key, value in inputs.items():
        if value.dtype == torch.float32 and key not in nograd:
            leaves[key] = value.detach().clone().requires_grad_(True)
        else:
            leaves[key] = value
    outs = fn(*leaves.values())
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    loss = 0
    for i, o in enumerate(outs):
        gy = randn(*o.shape) if o.dim() > 0 else torch.tensor(1.75)
        loss = loss + (o * gy).sum()
        tensors[f"{name}/out{i}"] = o.detach().reshape(o.shape if o.dim() > 0 else (1,)).contiguous()
        tensors[f"{name}/gy{i}"] = gy.reshape(o.shape if o.dim() > 0 else (1,)).contiguous()
    grads = [k for k, v in leaves.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    if grads:
        loss.backward()
    for key, value in inputs.items():
        tensors[f"{name}/{key}"] = value.contiguous()
    for key in grads:
        g = leaves[key].grad
        tensors[f"{name}/grad_{key}"] = (g if g is not None else torch.zeros_like(leaves[key])).contiguous()
    meta = {"op": op, "inputs": list(inputs.keys()), "outputs": len(outs), "grads": grads}
    meta.update(params or {})
    cases[name] = meta


# ---------------------------------------------------------------- matmul
def mm(tA, tB):
    return lambda a, b: torch.matmul(a.transpose(-1, -2) if tA else a, b.transpose(-1, -2) if tB else b)


for name, sa, sb, tA, tB in [
    ("matmul_plain", (5, 7), (7, 3), False, False),
    ("matmul_transA", (7, 5), (7, 3), True, False),
    ("matmul_transB", (5, 7), (3, 7), False, True),
    ("matmul_transAB", (7, 5), (3, 7), True, True),
    ("matmul_batched", (2, 4, 5), (2, 5, 3), False, False),
    ("matmul_batched_transA", (2, 5, 4), (2, 5, 3), True, False),
    ("matmul_batched_transB", (2, 3, 4, 5), (2, 3, 6, 5), False, True),
    ("matmul_shared_b", (2, 3, 4, 5), (5, 6), False, False),
    ("matmul_shared_b_transB", (2, 3, 4, 5), (6, 5), False, True),
    ("matmul_shared_b_transA", (2, 5, 4), (5, 6), True, False),
    ("matmul_shared_a", (4, 5), (3, 5, 6), False, False),
    ("matmul_shared_a_transA", (5, 4), (3, 6, 5), True, True),
    ("matmul_row", (1, 7), (7, 3), False, False),
    ("matmul_row_transB", (1, 7), (3, 7), False, True),
    ("matmul_row_transA", (7, 1), (7, 3), True, False),
]:
    add_case(name, "matmul", {"a": randn(*sa), "b": randn(*sb)}, mm(tA, tB),
             {"transposeA": tA, "transposeB": tB})

# ---------------------------------------------------------------- linear
add_case("linear_bias", "linear", {"x": randn(2, 3, 7), "weight": randn(5, 7), "bias": randn(5)},
         lambda x, weight, bias: F.linear(x, weight, bias))
add_case("linear_nobias", "linear", {"x": randn(2, 3, 7), "weight": randn(5, 7)},
         lambda x, weight: F.linear(x, weight))
add_case("linear_row_bias", "linear", {"x": randn(1, 9), "weight": randn(4, 9), "bias": randn(4)},
         lambda x, weight, bias: F.linear(x, weight, bias))
add_case("linear_frozen_weight", "linear", {"x": randn(3, 6), "weight": randn(4, 6), "bias": randn(4)},
         lambda x, weight, bias: F.linear(x, weight, bias), nograd=("weight",))

# ---------------------------------------------------------------- arithmetic with broadcasting
for op, f in [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b)]:
    add_case(f"{op}_same", op, {"a": randn(3, 4), "b": randn(3, 4)}, f)
    add_case(f"{op}_bcast", op, {"a": randn(2, 3, 4), "b": randn(3, 1)}, f)
    add_case(f"{op}_bcast_lowrank_a", op, {"a": randn(4), "b": randn(2, 3, 4)}, f)
    add_case(f"{op}_bcast_both", op, {"a": randn(2, 1, 4), "b": randn(3, 1)}, f)


def away_from_zero(*shape):
    x = randn(*shape)
    return x.sign() * (x.abs() + 0.5)


add_case("div_same", "div", {"a": randn(3, 4), "b": away_from_zero(3, 4)}, lambda a, b: a / b)
add_case("div_bcast", "div", {"a": randn(2, 3, 4), "b": away_from_zero(1, 4)}, lambda a, b: a / b)
add_case("div_bcast_both", "div", {"a": randn(2, 1, 4), "b": away_from_zero(3, 1)}, lambda a, b: a / b)

# ---------------------------------------------------------------- scalar ops
for name, scalar, f in [
    ("scalar_add", 2.5, lambda x: x + 2.5),
    ("scalar_radd", 2.5, lambda x: 2.5 + x),
    ("scalar_sub", 1.25, lambda x: x - 1.25),
    ("scalar_rsub", 1.25, lambda x: 1.25 - x),
    ("scalar_mul", -1.5, lambda x: x * -1.5),
    ("scalar_rmul", 3.0, lambda x: 3.0 * x),
    ("scalar_div", 4.0, lambda x: x / 4.0),
    ("scalar_neg", 0.0, lambda x: -x),
]:
    add_case(name, name, {"x": randn(2, 5)}, f, {"scalar": scalar})

# ---------------------------------------------------------------- reductions
add_case("sum_all", "sum_all", {"x": randn(3, 4, 5)}, lambda x: x.sum())
add_case("mean_all", "mean_all", {"x": randn(3, 4, 5)}, lambda x: x.mean())
for axis in (0, 1, -1):
    for keep in (False, True):
        add_case(f"sum_axis{axis}_keep{int(keep)}", "sum_axis", {"x": randn(3, 4, 5)},
                 lambda x, axis=axis, keep=keep: x.sum(dim=axis, keepdim=keep), {"axis": axis, "keep": keep})
        add_case(f"max_axis{axis}_keep{int(keep)}", "max_axis", {"x": randn(3, 4, 5)},
                 lambda x, axis=axis, keep=keep: x.max(dim=axis, keepdim=keep).values, {"axis": axis, "keep": keep})
add_case("mean_axis1", "mean_axis", {"x": randn(3, 4, 5)}, lambda x: x.mean(dim=1), {"axis": 1, "keep": False})
add_case("mean_axis-1_keep1", "mean_axis", {"x": randn(3, 4, 5)}, lambda x: x.mean(dim=-1, keepdim=True),
         {"axis": -1, "keep": True})

# ---------------------------------------------------------------- unary and activations
add_case("exp", "exp", {"x": randn(4, 9, scale=3)}, torch.exp)
add_case("log", "log", {"x": randn(4, 9).abs() + 0.05}, torch.log)
add_case("sqrt", "sqrt", {"x": randn(4, 9).abs() + 0.05}, torch.sqrt)
add_case("tanh", "tanh", {"x": randn(4, 9, scale=2)}, torch.tanh)
act_x = torch.cat([randn(60, scale=2.5), torch.linspace(-8, 8, 37)]).reshape(97)
add_case("gelu", "gelu", {"x": act_x.clone()}, lambda x: F.gelu(x))
add_case("gelu_tanh", "gelu_tanh", {"x": act_x.clone()}, lambda x: F.gelu(x, approximate="tanh"))
add_case("silu", "silu", {"x": act_x.clone()}, F.silu)
add_case("swiglu", "swiglu", {"gate": randn(3, 17, scale=3), "up": randn(3, 17)},
         lambda gate, up: F.silu(gate) * up)

# ---------------------------------------------------------------- softmax and norms
sm_x = randn(3, 4, 9, scale=4)
add_case("softmax", "softmax", {"x": sm_x.clone()}, lambda x: torch.softmax(x, dim=-1))
add_case("log_softmax", "log_softmax", {"x": sm_x.clone()}, lambda x: torch.log_softmax(x, dim=-1))
add_case("layer_norm", "layer_norm",
         {"x": randn(2, 3, 16, scale=2) + 0.7, "weight": randn(16), "bias": randn(16)},
         lambda x, weight, bias: F.layer_norm(x, (16,), weight, bias, eps=1e-5), {"epsilon": 1e-5})


def rms_norm(x, weight, eps):
    # Hugging Face LlamaRMSNorm / Qwen2RMSNorm, computed in float32.
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


add_case("rms_norm", "rms_norm", {"x": randn(2, 3, 16, scale=2), "weight": randn(16)},
         lambda x, weight: rms_norm(x, weight, 1e-6), {"epsilon": 1e-6})
add_case("rms_norm_eps_large", "rms_norm", {"x": randn(4, 12, scale=0.05), "weight": randn(12)},
         lambda x, weight: rms_norm(x, weight, 1e-2), {"epsilon": 1e-2})

# ---------------------------------------------------------------- embedding
add_case("embedding", "embedding",
         {"table": randn(10, 6), "ids": torch.tensor([[1, 3, 3], [9, 0, 1]], dtype=torch.int32)},
         lambda table, ids: F.embedding(ids.long(), table), {"shape": [2, 3]})


# ---------------------------------------------------------------- rotary
def inv_freq(dim, base):
    # Hugging Face's default rope init, in float32.
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_neox(x, positions, base):
    # HF Llama: q * cos + rotate_half(q) * sin, x [B, T, H, D], positions [B, T].
    D = x.shape[-1]
    freqs = positions.float()[..., None] * inv_freq(D, base)[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, :, None, :], emb.sin()[:, :, None, :]
    return x * cos + rotate_half(x) * sin


def rope_interleaved(x, positions, base):
    # GPT-J style: pairs (2i, 2i+1) rotated by angle pos·θ_i.
    D = x.shape[-1]
    freqs = positions.float()[..., None] * inv_freq(D, base)[None, None, :]
    cos, sin = freqs.cos()[:, :, None, :], freqs.sin()[:, :, None, :]
    x1, x2 = x[..., 0::2], x[..., 1::2]
    y1 = x1 * cos - x2 * sin
    y2 = x2 * cos + x1 * sin
    return torch.stack((y1, y2), dim=-1).flatten(-2)


rope_pos = torch.tensor([[0, 1, 2, 3, 4], [7, 8, 9, 40, 61]], dtype=torch.int32)
for name, layout, base, fn in [
    ("rotary_neox", "neox", 10000.0, rope_neox),
    ("rotary_neox_base1e6", "neox", 1000000.0, rope_neox),
    ("rotary_interleaved", "interleaved", 10000.0, rope_interleaved),
    ("rotary_interleaved_base500", "interleaved", 500.0, rope_interleaved),
]:
    add_case(name, "rotary", {"x": randn(2, 5, 3, 16), "positions": rope_pos.clone()},
             lambda x, positions, fn=fn, base=base: fn(x, positions, base),
             {"layout": layout, "base": base, "maxPositions": 64})


# ---------------------------------------------------------------- attention
def attention(q, k, v, scale, causal, query_offset, key_start):
    """q [B, T, H, D], k/v [B, S, G, D] -> [B, T, H, D] via SDPA with an explicit boolean mask.

    Query rows that see no key at all produce zeros (Tailor's convention); torch would give NaN,
    so such rows attend to key 0 and are then multiplied by zero.
    """
    B, T, H, D = q.shape
    S, G = k.shape[1], k.shape[2]
    rep = H // G
    kk = k.repeat_interleave(rep, dim=2)  # head h reads kv head h // rep (HF repeat_kv)
    vv = v.repeat_interleave(rep, dim=2)
    mask = torch.ones(B, T, S, dtype=torch.bool)
    for b in range(B):
        for t in range(T):
            for s in range(S):
                lo = key_start[b] if key_start is not None else 0
                hi = min(S, query_offset + t + 1) if causal else S
                mask[b, t, s] = lo <= s < hi
    valid = mask.any(dim=-1)
    mask[~valid] = torch.nn.functional.one_hot(torch.tensor(0), S).bool()
    out = F.scaled_dot_product_attention(q.transpose(1, 2), kk.transpose(1, 2), vv.transpose(1, 2),
                                         attn_mask=mask[:, None, :, :], scale=scale)
    out = out.transpose(1, 2)
    return out * valid[:, :, None, None].float()


for name, B, T, S, H, G, D, causal, offset, key_start, scale in [
    ("attention_causal_gqa", 2, 5, 5, 6, 2, 8, True, 0, None, None),
    ("attention_causal_mha", 2, 5, 5, 3, 3, 8, True, 0, None, None),
    ("attention_noncausal_gqa", 2, 4, 6, 6, 2, 8, False, 0, None, None),
    ("attention_kvcache_step", 2, 2, 7, 6, 2, 8, True, 5, None, None),
    ("attention_kvcache_offset", 1, 2, 9, 6, 2, 8, True, 4, None, None),
    ("attention_decode_single", 2, 1, 7, 6, 2, 8, True, 6, None, None),
    ("attention_left_padding", 2, 6, 6, 6, 2, 8, True, 0, [0, 2], None),
    ("attention_left_padding_decode", 2, 1, 6, 6, 2, 8, True, 5, [0, 3], None),
    ("attention_custom_scale", 1, 4, 4, 4, 4, 16, True, 0, None, 0.2),
]:
    sc = scale if scale is not None else 1.0 / math.sqrt(D)
    params = {"scale": sc, "causal": causal, "queryOffset": offset}
    if key_start is not None:
        params["keyStart"] = key_start
    add_case(name, "attention", {"q": randn(B, T, H, D), "k": randn(B, S, G, D), "v": randn(B, S, G, D)},
             lambda q, k, v, sc=sc, causal=causal, offset=offset, ks=key_start: attention(q, k, v, sc, causal, offset, ks),
             params)

# ---------------------------------------------------------------- cross-entropy
ce_logits = randn(2, 4, 11, scale=3)
ce_targets = torch.tensor([3, 0, -100, 10, 7, -100, 1, 5], dtype=torch.int32)
add_case("cross_entropy_mean", "cross_entropy", {"logits": ce_logits.clone(), "targets": ce_targets.clone()},
         lambda logits, targets: F.cross_entropy(logits.reshape(-1, 11), targets.long(), ignore_index=-100))
add_case("cross_entropy_normalizer", "cross_entropy", {"logits": ce_logits.clone(), "targets": ce_targets.clone()},
         lambda logits, targets: F.cross_entropy(logits.reshape(-1, 11), targets.long(), ignore_index=-100,
                                                 reduction="sum") / 5.0, {"normalizer": 5.0})
add_case("cross_entropy_no_ignore", "cross_entropy",
         {"logits": randn(6, 50, scale=5), "targets": torch.tensor([0, 49, 7, 7, 23, 11], dtype=torch.int32)},
         lambda logits, targets: F.cross_entropy(logits, targets.long()))

# ---------------------------------------------------------------- masking and shapes
add_case("masked_fill", "masked_fill",
         {"x": randn(2, 3, 4), "mask": torch.tensor([[1.0], [0.0], [1.0]])},
         lambda x, mask: x.masked_fill(mask.bool(), -3.5), {"value": -3.5}, nograd=("mask",))
add_case("masked_fill_row", "masked_fill",
         {"x": randn(2, 3, 4), "mask": torch.tensor([0.0, 1.0, 1.0, 0.0])},
         lambda x, mask: x.masked_fill(mask.bool(), 1e4), {"value": 1e4}, nograd=("mask",))
add_case("permute_201", "permute", {"x": randn(2, 3, 4)}, lambda x: x.permute(2, 0, 1), {"axes": [2, 0, 1]})
add_case("permute_4d", "permute", {"x": randn(2, 3, 4, 5)}, lambda x: x.permute(0, 2, 1, 3), {"axes": [0, 2, 1, 3]})
add_case("transpose_last", "transpose", {"x": randn(2, 3, 4)}, lambda x: x.transpose(-2, -1), {"a": -2, "b": -1})
add_case("transpose_0_2", "transpose", {"x": randn(2, 3, 4)}, lambda x: x.transpose(0, 2), {"a": 0, "b": 2})
add_case("slice_axis1", "slice", {"x": randn(3, 5, 4)}, lambda x: x[:, 1:4], {"axis": 1, "start": 1, "end": 4})
add_case("slice_axis0", "slice", {"x": randn(3, 5, 4)}, lambda x: x[1:3], {"axis": 0, "start": 1, "end": 3})
add_case("slice_last", "slice", {"x": randn(3, 5, 4)}, lambda x: x[..., 2:3], {"axis": -1, "start": 2, "end": 3})
add_case("concat_axis1", "concat", {"p0": randn(2, 3, 4), "p1": randn(2, 1, 4), "p2": randn(2, 2, 4)},
         lambda p0, p1, p2: torch.cat([p0, p1, p2], dim=1), {"axis": 1})
add_case("concat_axis0", "concat", {"p0": randn(1, 3), "p1": randn(2, 3)},
         lambda p0, p1: torch.cat([p0, p1], dim=0), {"axis": 0})
add_case("split_last", "split", {"x": randn(2, 3, 7)}, lambda x: torch.split(x, [2, 4, 1], dim=-1),
         {"axis": -1, "sizes": [2, 4, 1]})
add_case("split_axis0", "split", {"x": randn(5, 3)}, lambda x: torch.split(x, [3, 2], dim=0),
         {"axis": 0, "sizes": [3, 2]})

OUT.parent.mkdir(parents=True, exist_ok=True)
save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, str(OUT),
          metadata={"cases": json.dumps(cases, sort_keys=True), "torch": torch.__version__})
print(f"wrote {len(cases)} cases, {len(tensors)} tensors, {OUT.stat().st_size} bytes to {OUT}")
