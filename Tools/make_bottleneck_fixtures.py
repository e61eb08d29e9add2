#!/usr/bin/env python3
"""AdapterHub bottleneck-adapter fixtures for Tests/PEFTTests/BottleneckTests.swift.

Uses AdapterHub's `adapters` 1.3.0 (which needs transformers ~4.57, so it has a venv of its own) on
the tiny Llama (4 heads / 2 key-value heads) and GPT-2 models of Tests/ModelTests/Fixtures/tiny-models
(made by Tools/make_model_fixtures.py; reused so the fixtures stay small).

For every case below it writes Tests/PEFTTests/Fixtures/bottleneck/<case>/:
  adapter/                  the folder `save_adapter(dir, name, use_safetensors=True, with_head=False)`
                            writes (adapter_config.json + adapter.safetensors), with every adapter weight
                            set to random non-zero values (the up-projection starts at zero otherwise)
  expected.safetensors      "logits" [B, T, V] for `input_ids`, and "grad.<key>" = d loss / d <key> for
                            every tensor of adapter.safetensors
  expected.json             input_ids, targets (per position, -100 = ignored), the loss, and the losses
                            of 10 AdamW steps (lr 1e-2, betas 0.9/0.999, eps 1e-8, weight decay 0, no
                            clipping) that train only the adapter, starting from the saved weights

Loss = mean cross-entropy of logits[b, t] against targets[b, t] over positions not ignored. The models
run in eval mode (no dropout; the adapters have dropout 0) with eager attention.

Run:    ~/.cache/tailor/adapters-venv/bin/python Tools/make_bottleneck_fixtures.py
Check:  ~/.cache/tailor/adapters-venv/bin/python Tools/make_bottleneck_fixtures.py --check DIR
        where DIR holds folders written by Tailor (BottleneckTests writes them when the environment
        variable TAILOR_BOTTLENECK_EXPORT=DIR is set): DIR/<case>/adapter/ and DIR/<case>/logits.json
        (input_ids + logits). Each adapter is loaded into `adapters` and its logits compared (save in
        Tailor -> load in AdapterHub).
"""
import argparse
import json
import pathlib
import sys

import torch
import adapters
from adapters import BnConfig, DoubleSeqBnConfig, ParBnConfig, SeqBnConfig
from safetensors.torch import load_file, save_file
from transformers import GPT2LMHeadModel, LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASES = ROOT / "Tests" / "ModelTests" / "Fixtures" / "tiny-models"
OUT = ROOT / "Tests" / "PEFTTests" / "Fixtures" / "bottleneck"
ARCHS = {"llama": LlamaForCausalLM, "gpt2": GPT2LMHeadModel}
VOCAB = 96

# case name -> (architecture, adapter name, configuration)
CASES = {
    # Pfeiffer: one adapter after the feed-forward output, default relu, reduction factor 8.
    "llama-seq_bn": ("llama", "pfeiffer", SeqBnConfig(reduction_factor=8)),
    # Houlsby: after attention and after the feed-forward output; defaults (swish, reduction 16).
    "llama-double_seq_bn": ("llama", "houlsby", DoubleSeqBnConfig()),
    # He et al.: parallel to the feed-forward block, reading its input; scaling 4, relu.
    "llama-par_bn": ("llama", "parallel", ParBnConfig(reduction_factor=8)),
    "gpt2-seq_bn": ("gpt2", "pfeiffer", SeqBnConfig(reduction_factor=4, non_linearity="gelu_new")),
    "gpt2-double_seq_bn": ("gpt2", "houlsby", DoubleSeqBnConfig(reduction_factor=8, non_linearity="tanh")),
    # The less common switches: a new layer norm after the bottleneck, a learned per-channel scaling,
    # a per-layer reduction factor, the residual taken after the sub-layer's residual sum and added
    # before the adapter's own layer norm. (`ln_before` is left out: adapters 1.3.0 registers that
    # layer norm twice and safetensors refuses to save it.)
    "llama-custom": ("llama", "custom", BnConfig(
        mh_adapter=True, output_adapter=True, reduction_factor={"1": 4, "default": 8}, non_linearity="gelu",
        original_ln_before=True, original_ln_after=True, residual_before_ln=False, ln_after=True,
        adapter_residual_before_ln=True, scaling="channel")),
    # An adapter left out of layer 0, a constant scaling, a leaky relu, the adapter's residual added
    # after its own layer norm.
    "gpt2-custom": ("gpt2", "custom", BnConfig(
        mh_adapter=False, output_adapter=True, reduction_factor=4, non_linearity="leakyrelu", leave_out=[0],
        original_ln_before=False, original_ln_after=True, residual_before_ln=True, ln_after=True, scaling=0.5)),
    # Only after attention, a learned scalar scaling (no layer norm after it, which would make its
    # gradient vanish), sigmoid.
    "gpt2-learned": ("gpt2", "learned", BnConfig(
        mh_adapter=True, output_adapter=False, reduction_factor=16, non_linearity="sigmoid",
        original_ln_before=True, residual_before_ln=False, scaling="learned", init_weights="houlsby")),
}


def base_model(arch):
    model = ARCHS[arch].from_pretrained(BASES / arch, attn_implementation="eager")
    model.config.name_or_path = f"tiny-models/{arch}"  # what save_adapter records as model_name
    model.eval()
    adapters.init(model)
    return model


def fixed_batch():
    g = torch.Generator().manual_seed(11)
    ids = torch.randint(0, VOCAB, (2, 6), generator=g)
    targets = torch.cat([ids[:, 1:], torch.full((2, 1), -100)], dim=1)
    targets[0, 0] = -100  # a masked prompt position
    return ids, targets


def loss_of(model, ids, targets):
    logits = model(ids).logits
    return logits, torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def adapter_parameters(model, name):
    """The adapter's parameters under the keys save_adapter writes."""
    marker = f".adapters.{name}."
    return {k: p for k, p in model.named_parameters() if marker in k}


def make_case(case, arch, name, config, seed):
    torch.manual_seed(seed)
    model = base_model(arch)
    model.add_adapter(name, config=config)
    model.set_active_adapters(name)
    for p in model.parameters():
        p.requires_grad_(False)
    params = adapter_parameters(model, name)
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for key, p in params.items():
            if "norm" in key and key.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))  # layer norm gains near 1
            elif key.endswith("scaling"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            p.requires_grad_(True)

    out = OUT / case
    (out / "adapter").mkdir(parents=True, exist_ok=True)
    model.save_adapter(str(out / "adapter"), name, with_head=False, use_safetensors=True)
    saved = load_file(str(out / "adapter" / "adapter.safetensors"))
    assert set(saved) == set(params), (sorted(saved), sorted(params))

    ids, targets = fixed_batch()
    logits, loss = loss_of(model, ids, targets)
    loss.backward()
    tensors = {"logits": logits.detach().contiguous()}
    for key, p in params.items():
        tensors["grad." + key] = p.grad.detach().clone().contiguous()
    save_file(tensors, str(out / "expected.safetensors"))

    opt = torch.optim.AdamW(list(params.values()), lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        _, step_loss = loss_of(model, ids, targets)
        step_loss.backward()
        opt.step()
        losses.append(step_loss.item())
    (out / "expected.json").write_text(json.dumps({
        "architecture": arch, "adapter_name": name, "input_ids": ids.tolist(), "targets": targets.tolist(),
        "loss": loss.item(), "learning_rate": 1e-2, "weight_decay": 0.0, "adamw_losses": losses}, indent=1))
    print(f"{case}: {len(params)} tensors, loss {loss.item():.5f} -> {losses[-1]:.5f}")


def check(directory):
    ok = True
    for case_dir in sorted(p for p in pathlib.Path(directory).iterdir() if (p / "adapter").is_dir()):
        written = json.loads((case_dir / "logits.json").read_text())
        arch = json.loads((case_dir / "adapter" / "adapter_config.json").read_text())["model_type"]
        model = base_model(arch)
        name = model.load_adapter(str(case_dir / "adapter"), use_safetensors=True)
        model.set_active_adapters(name)
        with torch.no_grad():
            logits = model(torch.tensor(written["input_ids"])).logits
        diff = (logits.flatten() - torch.tensor(written["logits"])).abs().max().item()
        ok &= diff < 1e-4
        print(f"{case_dir.name}: adapter '{name}' max |logits difference| {diff:.2e} {'ok' if diff < 1e-4 else 'FAIL'}")
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", metavar="DIR", help="compare adapters written by Tailor instead")
    args = parser.parse_args()
    if args.check:
        sys.exit(0 if check(args.check) else 1)
    for seed, (case, (arch, name, config)) in enumerate(CASES.items()):
        make_case(case, arch, name, config, seed)


if __name__ == "__main__":
    main()
