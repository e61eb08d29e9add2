#!/usr/bin/env python3
"""Writes the reference values for Tailor's training objectives and learning-rate schedules.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/make_objective_fixtures.py
(the venv of Tools/make_tensor_fixtures.py plus transformers, for the schedules).

1. Tests/TensorTests/Fixtures/torch_objectives.safetensors — torch's values and gradients of the
   objective ops, in the format of Tools/make_tensor_fixtures.py: per case `name/<input>`, the
   outputs `name/out0`, the upstream gradient `name/gy0` and `name/grad_<input>` for every
   differentiable input; `__metadata__["cases"]` is JSON (op, inputs, grads, parameters).
   - kl_div: T² · Σ_rows KL / normalizer between softmax(teacher/T) and softmax(student/T),
     forward KL(p_teacher ‖ q_student) or reverse KL(q ‖ p) (F.kl_div with log_target).
   - kl_div_topk: the same over the teacher's top-k tokens per row, both distributions
     renormalised over those k tokens.
   - weighted_sq_dist: Σ w (x − a)² (EWC with w = Fisher; L2-SP without weights).
   - weighted_objective: 0.6 · CE + 0.3 · KL + 0.1 · λ/2 Σ F (θ − θ*)², the issue's example mix.
2. Tests/TrainTests/Fixtures/lr_schedules.json — transformers' get_linear_schedule_with_warmup,
   get_cosine_schedule_with_warmup, get_constant_schedule_with_warmup and
   get_cosine_with_min_lr_schedule_with_warmup, stepped like its Trainer (the rate used by
   optimizer step i is the scheduler's last rate after i scheduler steps).
Everything runs on CPU in float32 with fixed seeds; both files are small and committed.
"""
import json
import pathlib

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_cosine_with_min_lr_schedule_with_warmup, get_linear_schedule_with_warmup)

torch.manual_seed(20261201)
torch.set_num_threads(1)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPS = ROOT / "Tests" / "TensorTests" / "Fixtures" / "torch_objectives.safetensors"
SCHEDULES = ROOT / "Tests" / "TrainTests" / "Fixtures" / "lr_schedules.json"

cases, tensors = {}, {}


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float32) * scale).contiguous()


def add_case(name, op, inputs, fn, params=None, nograd=()):
    """Records inputs, fn's scalar output, a fixed upstream gradient and the input gradients."""
    leaves = {k: (v.detach().clone().requires_grad_(True) if v.dtype == torch.float32 and k not in nograd else v)
              for k, v in inputs.items()}
    out = fn(*leaves.values())
    gy = torch.tensor(1.75)
    (out * gy).backward()
    tensors[f"{name}/out0"] = out.detach().reshape(1)
    tensors[f"{name}/gy0"] = gy.reshape(1)
    grads = [k for k, v in leaves.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    for k, v in inputs.items():
        tensors[f"{name}/{k}"] = v.contiguous()
    for k in grads:
        tensors[f"{name}/grad_{k}"] = leaves[k].grad.contiguous()
    meta = {"op": op, "inputs": list(inputs), "outputs": 1, "grads": grads}
    meta.update(params or {})
    cases[name] = meta


def kl(student, teacher, temperature, direction, normalizer):
    log_q = F.log_softmax(student / temperature, dim=-1)
    log_p = F.log_softmax(teacher / temperature, dim=-1)
    if direction == "forward":
        value = F.kl_div(log_q, log_p, log_target=True, reduction="sum")
    else:
        value = F.kl_div(log_p, log_q, log_target=True, reduction="sum")
    return value * temperature ** 2 / normalizer


for direction in ("forward", "reverse"):
    for temperature in (1.0, 2.0, 0.7):
        n, v = 5, 11
        name = f"kl_{direction}_T{temperature}"
        add_case(name, "kl_div", {"student": randn(n, v, scale=2), "teacher": randn(n, v, scale=2)},
                 lambda s, t, T=temperature, d=direction: kl(s, t, T, d, 3.0),
                 {"direction": direction, "temperature": temperature, "normalizer": 3.0}, nograd=("teacher",))
    n, v, k = 4, 13, 5
    student, teacher = randn(n, v, scale=2), randn(n, v, scale=2)
    values, indices = torch.topk(teacher, k, dim=-1)

    def kl_topk(s, t, idx, d=direction):
        return kl(torch.gather(s, 1, idx.long()), t, 2.0, d, float(n))

    add_case(f"kl_topk_{direction}", "kl_div_topk",
             {"student": student, "teacher": values.contiguous(), "indices": indices.to(torch.int32)},
             kl_topk, {"direction": direction, "temperature": 2.0}, nograd=("teacher",))

add_case("ewc_penalty", "weighted_sq_dist",
         {"x": randn(6, 7), "anchor": randn(6, 7), "weights": torch.rand(6, 7) * 3},
         lambda x, a, w: (w * (x - a) ** 2).sum(), nograd=("anchor", "weights"))
add_case("l2sp_penalty", "weighted_sq_dist", {"x": randn(9), "anchor": randn(9)},
         lambda x, a: ((x - a) ** 2).sum(), nograd=("anchor",))

n, v = 6, 10
targets = torch.randint(0, v, (n,), dtype=torch.int32)
targets[2] = -100


def mixed(logits, t, teacher, theta, anchor, fisher):
    ce = F.cross_entropy(logits, t.long(), ignore_index=-100, reduction="sum") / 5.0
    return 0.6 * ce + 0.3 * kl(logits, teacher, 2.0, "forward", 5.0) + 0.1 * 0.5 * 0.8 * (fisher * (theta - anchor) ** 2).sum()


add_case("weighted_ce_kl_ewc", "weighted_objective",
         {"logits": randn(n, v, scale=2), "targets": targets, "teacher": randn(n, v, scale=2), "theta": randn(4, 3),
          "anchor": randn(4, 3), "fisher": torch.rand(4, 3)},
         mixed, {"weights": [0.6, 0.3, 0.1], "normalizer": 5.0, "temperature": 2.0, "lambda": 0.8},
         nograd=("teacher", "anchor", "fisher"))

OPS.parent.mkdir(parents=True, exist_ok=True)
save_file(tensors, str(OPS), metadata={"cases": json.dumps(cases, sort_keys=True)})

# ---------------------------------------------------------------- schedules
schedules = []
for kind, warmup, total, extra in [
    ("linear", 0, 10, {}), ("linear", 3, 12, {}), ("linear", 1, 5, {}),
    ("cosine", 0, 10, {}), ("cosine", 4, 14, {}), ("cosine", 2, 7, {}),
    ("constant", 3, 8, {}), ("constant", 0, 4, {}),
    ("cosine_min", 2, 11, {"min_lr_rate": 0.1}),
]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    if kind == "linear":
        sched = get_linear_schedule_with_warmup(opt, warmup, total)
    elif kind == "cosine":
        sched = get_cosine_schedule_with_warmup(opt, warmup, total)
    elif kind == "constant":
        sched = get_constant_schedule_with_warmup(opt, warmup)
    else:
        sched = get_cosine_with_min_lr_schedule_with_warmup(opt, warmup, total, min_lr_rate=extra["min_lr_rate"])
    rates = []
    for _ in range(total + 2):
        rates.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    schedules.append({"kind": kind, "peak": 0.5, "warmup": warmup, "total": total, "rates": rates, **extra})
SCHEDULES.write_text(json.dumps({"schedules": schedules}, indent=1) + "\n")
print(f"wrote {OPS} ({OPS.stat().st_size} bytes, {len(cases)} cases) and {SCHEDULES}")
