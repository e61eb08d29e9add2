#!/usr/bin/env python3
"""bitsandbytes `AdamW8bit` trajectory fixture for Tests/QuantTests (Tailor's AdamW8bit).

Two parameters — 4200 elements (8-bit blockwise state: 16 full blocks of 256 and a short one) and
100 elements (below `min_8bit_size`, so bitsandbytes keeps Float32 state) — take 6 steps of
AdamW8bit (lr 1e-2, betas 0.9/0.999, eps 1e-8, weight decay 1e-2) with fixed random gradients on
the CPU. Writes `Tests/QuantTests/Fixtures/adamw8bit.safetensors`: `big.init`, `small.init`,
`big.grads` [6, 4200] (F16), `small.grads`, `big.params` [3, 4200] (after steps 1, 3 and 6),
`small.params`, and the big parameter's final `state1`, `state2`, `absmax1`, `absmax2`, `qmap1`,
`qmap2`.

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_adamw8bit_fixtures.py
(venv: ~/.cache/tailor/pyenv with torch 2.13 CPU, bitsandbytes==0.50.2, safetensors)
"""
import pathlib

import torch
import bitsandbytes as bnb
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "QuantTests" / "Fixtures" / "adamw8bit.safetensors"
STEPS = 6
SAVED_STEPS = (1, 3, 6)


def main():
    g = torch.Generator().manual_seed(31)
    big = torch.nn.Parameter(torch.randn(4200, generator=g) * 0.5)
    small = torch.nn.Parameter(torch.randn(100, generator=g) * 0.5)
    init = {"big.init": big.detach().clone(), "small.init": small.detach().clone()}
    opt = bnb.optim.AdamW8bit([big, small], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    grads = {"big": [], "small": []}
    params = {"big": [], "small": []}
    for _ in range(STEPS):
        for name, p in (("big", big), ("small", small)):
            grad = torch.randn(p.shape, generator=g) * torch.exp(torch.randn(p.shape, generator=g))
            grad = grad.half().float()  # stored as F16, exactly
            p.grad = grad.clone()
            grads[name].append(grad)
        opt.step()
        for name, p in (("big", big), ("small", small)):
            params[name].append(p.detach().clone())
    state = opt.state[big]
    assert state["state1"].dtype == torch.uint8 and opt.state[small]["state1"].dtype == torch.float32
    tensors = dict(init)
    for name in ("big", "small"):
        tensors[name + ".grads"] = torch.stack(grads[name]).half()
        tensors[name + ".params"] = torch.stack([params[name][k - 1] for k in SAVED_STEPS])
    for key in ("state1", "state2", "absmax1", "absmax2", "qmap1", "qmap2"):
        tensors["big." + key] = state[key].contiguous()
    save_file(tensors, OUT)
    print("bitsandbytes", bnb.__version__, "->", OUT)


if __name__ == "__main__":
    main()
