#!/usr/bin/env python3
"""QLoRA fixture for Tests/QuantTests: peft's LoRA over bitsandbytes' NF4 base, on the CPU.

Base: the committed `Tests/QuantTests/Fixtures/bnb-llama-nf4/` checkpoint (a tiny random Llama that
transformers saved with `load_in_4bit`, NF4, double quantization; Tools/make_nf4_fixtures.py).
It is loaded by transformers + bitsandbytes 0.50 (compute dtype float32) and peft adds a LoRA
(r 4, alpha 8, q,k,v,o,gate,up,down) whose A and B are both random and non-zero. Writes
`Tests/QuantTests/Fixtures/qlora-nf4/`:

  adapter/                    the adapter as peft's save_pretrained writes it
  run.json                    a batch of token ids [2][9] with aligned labels (-100 where no loss)
  peft_bnb.safetensors        what peft over bitsandbytes' Linear4bit computes: `logits` [2*9, V], `loss`,
                              and the gradient of the loss for every LoRA parameter (peft's names without
                              ".default").
The script also runs the same LoRA over the base with every NF4 weight decoded to Float32
(bitsandbytes' dequantize_4bit, plain Linear layers) and prints the largest difference: with
bitsandbytes 0.50's CPU fallback (no `kernels` package) the Linear4bit product is that exact
product, so the difference is 0 and one file serves as both references.

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_qlora_fixtures.py
(venv: torch 2.13 CPU, transformers, peft, bitsandbytes==0.50.2, safetensors)
"""
import json
import pathlib

import torch
import bitsandbytes as bnb
import bitsandbytes.functional as F
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "QuantTests" / "Fixtures"
BASE = FIXTURES / "bnb-llama-nf4"
OUT = FIXTURES / "qlora-nf4"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def lora_config():
    return LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")


def randomize_lora(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def decoded_base():
    """The checkpoint with each NF4 weight decoded to Float32, as a plain Llama."""
    saved = load_file(str(BASE / "model.safetensors"))
    config = LlamaConfig.from_pretrained(BASE)
    config.quantization_config = None
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config).eval()
    state = {}
    for key, value in saved.items():
        if key + ".absmax" in saved:
            parts = {k[len(key) + 1:]: v for k, v in saved.items() if k.startswith(key + ".")}
            state[key] = F.dequantize_4bit(value, F.QuantState.from_dict(parts, device=torch.device("cpu"))).float()
        elif not any(key.startswith(q + ".") for q in saved if q + ".absmax" in saved):
            state[key] = value.float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("lm_head" in m for m in missing), (missing, unexpected)
    return model


def run(model, ids, labels):
    """Logits, loss and LoRA gradients of `model` (a peft model) on one batch."""
    model.zero_grad()
    out = model(input_ids=ids, labels=labels)
    out.loss.backward()
    tensors = {"logits": out.logits.detach().reshape(-1, out.logits.shape[-1]).float().contiguous(),
               "loss": out.loss.detach().reshape(1).float()}
    for name, p in model.named_parameters():
        if "lora_" in name:
            tensors[name.replace(".default", "")] = p.grad.detach().float().contiguous()
    return tensors


def main():
    torch.manual_seed(0)
    ids = torch.randint(0, 128, (2, 9), generator=torch.Generator().manual_seed(11))
    labels = ids.clone()
    labels[:, 0] = -100
    labels[1, :4] = -100

    quantized = AutoModelForCausalLM.from_pretrained(BASE, device_map="cpu", dtype=torch.float32,
                                                     attn_implementation="eager")
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in quantized.modules()), "the base must load as Linear4bit"
    quantized.config.use_cache = False
    qlora = get_peft_model(quantized, lora_config())
    randomize_lora(qlora, seed=5)
    qlora.train()
    peft_bnb = run(qlora, ids, labels)

    plain = get_peft_model(decoded_base(), lora_config())
    plain.load_state_dict({k: v for k, v in qlora.state_dict().items() if "lora_" in k}, strict=False)
    plain.train()
    decoded = run(plain, ids, labels)

    OUT.mkdir(parents=True, exist_ok=True)
    qlora.save_pretrained(OUT / "adapter")
    (OUT / "adapter" / "README.md").unlink(missing_ok=True)
    save_file(peft_bnb, str(OUT / "peft_bnb.safetensors"))
    (OUT / "run.json").write_text(json.dumps({"input_ids": ids.tolist(), "labels": labels.tolist()}))
    worst = max((peft_bnb[k] - decoded[k]).abs().max().item() for k in peft_bnb)
    print(f"peft+bnb vs decoded: max |Δ| {worst:.3g}; loss {peft_bnb['loss'].item():.6f} vs {decoded['loss'].item():.6f}")
    print("bitsandbytes", bnb.__version__, "->", OUT)


if __name__ == "__main__":
    main()
