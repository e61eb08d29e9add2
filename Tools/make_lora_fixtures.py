#!/usr/bin/env python3
"""PEFT LoRA fixtures for Tests/PEFTTests and Tests/TrainTests, made with transformers + peft.

1. Tests/PEFTTests/Fixtures/peft-adapter/: a LoRA adapter (r=4, alpha=8, q/k/v/o) saved by peft on the
   tiny Llama fixture, with non-zero B, plus expected.json holding the adapted model's logits.
2. Tests/TrainTests/Fixtures/lora-parity/: the initial adapter, a fixed batch, and 10 AdamW steps
   (lr 1e-2, weight decay 0.01, grad-norm clipping 1.0) of torch+peft: per-step losses and every LoRA
   gradient of step 1.

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_lora_fixtures.py   (after Tools/make_model_fixtures.py)
"""
import json
import pathlib

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE = ROOT / "Tests" / "ModelTests" / "Fixtures" / "tiny-models" / "llama"
ADAPTER_OUT = ROOT / "Tests" / "PEFTTests" / "Fixtures" / "peft-adapter"
PARITY_OUT = ROOT / "Tests" / "TrainTests" / "Fixtures" / "lora-parity"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


def lora_model(seed):
    torch.manual_seed(seed)
    base = LlamaForCausalLM.from_pretrained(BASE, attn_implementation="eager")
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = get_peft_model(base, cfg)
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return model


def logits_fixture(model, path):
    ids = torch.randint(0, 96, (2, 7), generator=torch.Generator().manual_seed(11))
    model.eval()
    with torch.no_grad():
        logits = model(ids).logits
    path.write_text(json.dumps({"input_ids": ids.tolist(), "logits_shape": list(logits.shape),
                                "logits": [round(float(x), 7) for x in logits.flatten()]}))


def main():
    model = lora_model(1)
    model.save_pretrained(ADAPTER_OUT)
    logits_fixture(model, ADAPTER_OUT / "expected.json")

    model = lora_model(2)
    PARITY_OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(PARITY_OUT / "initial-adapter")
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 96, (2, 10), generator=g)
    labels = ids.clone()
    labels[0, :3] = -100  # a masked prompt
    labels[1, 7:] = -100  # padding-like tail
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses, grads = [], {}
    for step in range(10):
        opt.zero_grad()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        if step == 0:
            for name, p in model.named_parameters():
                if p.requires_grad:
                    key = name.replace(".default", "")
                    grads[key] = p.grad.detach().clone().contiguous()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss))
    save_file(grads, str(PARITY_OUT / "step1-gradients.safetensors"))
    (PARITY_OUT / "run.json").write_text(json.dumps({
        "input_ids": ids.tolist(), "labels": labels.tolist(), "losses": losses,
        "lr": 1e-2, "weight_decay": 0.01, "max_grad_norm": 1.0}))
    print("losses", losses)


if __name__ == "__main__":
    main()
