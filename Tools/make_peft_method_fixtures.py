#!/usr/bin/env python3
"""Fixtures for the generic adapter test suite (Tests/PEFTTests/AdapterMethodTests.swift), made with
transformers + peft on the tiny GPT-2 and tiny Llama (grouped-query attention) fixture models.

For every method case and architecture, Tests/PEFTTests/Fixtures/methods/<arch>-<case>/ holds:
  adapter/                      the adapter as peft's save_pretrained writes it, with random non-zero
                                weights (an adapter that does nothing proves nothing)
  expected.json                 input_ids [2][7] and the adapted model's logits (peft, eval mode)
  run.json                      a training batch (first token of each row without a target), torch+peft's losses of 10 AdamW steps (lr 1e-2,
                                weight decay 0.01, grad-norm clipping 1.0) and the step-1 loss
  step1-gradients.safetensors   the gradient of the step-1 loss for every adapter parameter, keyed by
                                peft's parameter name without the adapter name (".default")

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_peft_method_fixtures.py [CASE ...]   (after Tools/make_model_fixtures.py;
     with case names, only those cases are regenerated)
"""
import json
import pathlib
import shutil

import torch
from peft import IA3Config, LoraConfig, PrefixTuningConfig, PromptTuningConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "Tests" / "ModelTests" / "Fixtures" / "tiny-models"
OUT = ROOT / "Tests" / "PEFTTests" / "Fixtures" / "methods"

TARGETS = {
    "llama": {"attn": ["q_proj", "v_proj"], "all": ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"],
              "ia3": ["k_proj", "v_proj", "down_proj"], "ff": ["down_proj"],
              "save": ["embed_tokens", "lm_head", "post_attention_layernorm"]},
    "gpt2": {"attn": ["c_attn"], "all": ["c_attn", "attn.c_proj", "mlp.c_fc"],
             "ia3": ["c_attn", "mlp.c_proj"], "ff": ["mlp.c_proj"], "save": ["ln_f", "ln_1"]},
}


def cases(arch):
    t = TARGETS[arch]
    fan = arch == "gpt2"
    return {
        "rslora": LoraConfig(r=4, lora_alpha=8, use_rslora=True, target_modules=t["all"], fan_in_fan_out=fan,
                             task_type="CAUSAL_LM"),
        "dora": LoraConfig(r=4, lora_alpha=8, use_dora=True, target_modules=t["all"], fan_in_fan_out=fan,
                           task_type="CAUSAL_LM"),
        "lora-bias": LoraConfig(r=2, lora_alpha=6, lora_bias=True, target_modules=t["attn"], fan_in_fan_out=fan,
                                task_type="CAUSAL_LM"),
        "ia3": IA3Config(target_modules=t["ia3"], feedforward_modules=t["ff"], fan_in_fan_out=fan, task_type="CAUSAL_LM"),
        "prompt": PromptTuningConfig(num_virtual_tokens=5, task_type="CAUSAL_LM"),
        "prefix": PrefixTuningConfig(num_virtual_tokens=4, task_type="CAUSAL_LM"),
        # LoRA plus full trained copies of an embedding/head and of norms (peft's modules_to_save).
        "lora-save": LoraConfig(r=2, lora_alpha=4, target_modules=t["attn"], fan_in_fan_out=fan, task_type="CAUSAL_LM",
                                modules_to_save=t["save"]),
    }


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            if "modules_to_save" in name:  # a trained copy: the original plus a visible change
                p.add_(0.1 * torch.randn(p.shape, generator=g))
            elif "ia3_l" in name or "lora_magnitude_vector" in name:
                p.mul_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def key(name):
    return name.replace(".default", "")


def make(arch, case, config, seed):
    torch.manual_seed(seed)
    # No dropout anywhere, so train-mode steps are deterministic (GPT-2's configs default to 0.1).
    base = AutoModelForCausalLM.from_pretrained(MODELS / arch, attn_implementation="eager",
                                                **({"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0} if arch == "gpt2" else {}))
    model = get_peft_model(base, config)
    randomize(model, seed + 1)
    out = OUT / f"{arch}-{case}"
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out / "adapter")
    (out / "adapter" / "README.md").unlink(missing_ok=True)

    ids = torch.randint(0, 96, (2, 7), generator=torch.Generator().manual_seed(11))
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    if logits.shape[1] != ids.shape[1]:  # prompt tuning returns the virtual positions too
        logits = logits[:, -ids.shape[1]:]
    (out / "expected.json").write_text(json.dumps({
        "input_ids": ids.tolist(), "logits_shape": list(logits.shape),
        "logits": [round(float(x), 7) for x in logits.flatten()]}))

    g = torch.Generator().manual_seed(5)
    train_ids = torch.randint(0, 96, (2, 10), generator=g)
    labels = train_ids.clone()
    labels[0, :3] = -100
    labels[1, 7:] = -100
    # The first token has no target: with prompt tuning peft would otherwise train the last virtual
    # position to predict it, which a prompt-only batch never asks for.
    labels[:, 0] = -100
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses, grads = [], {}
    for step in range(10):
        opt.zero_grad()
        loss = model(input_ids=train_ids, labels=labels).loss
        loss.backward()
        if step == 0:
            for name, p in model.named_parameters():
                if p.requires_grad:
                    grads[key(name)] = p.grad.detach().clone().contiguous()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss))
    save_file(grads, str(out / "step1-gradients.safetensors"))
    (out / "run.json").write_text(json.dumps({
        "input_ids": train_ids.tolist(), "labels": labels.tolist(), "losses": losses,
        "lr": 1e-2, "weight_decay": 0.01, "max_grad_norm": 1.0}))
    print(arch, case, "params", sum(p.numel() for p in params), "losses", [round(x, 4) for x in losses[:3]], "…")


def main():
    import sys
    only = set(sys.argv[1:])  # optional case names: regenerate only those (seeds stay the same)
    seed = 100
    for arch in ["llama", "gpt2"]:
        for case, config in cases(arch).items():
            if not only or case in only:
                make(arch, case, config, seed)
            seed += 10


if __name__ == "__main__":
    main()
