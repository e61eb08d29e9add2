#!/usr/bin/env python3
"""Loads adapters saved by Tailor into peft and compares peft's logits with Tailor's ("save here → load there").

First let the Swift suite write the adapters and its logits:
    TAILOR_ROUNDTRIP_DIR=/tmp/roundtrip swift test -c release -Xswiftc -enable-testing --filter AdapterMethodTests/testSaveAndLoadRoundTrip
then:
    ~/.cache/tailor/pyenv/bin/python Tools/check_adapter_roundtrip.py /tmp/roundtrip
Prints the largest |Δlogit| per adapter and exits non-zero if any exceeds 1e-4.
"""
import json
import pathlib
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "Tests" / "ModelTests" / "Fixtures" / "tiny-models"


def main(folder):
    worst = 0.0
    for case in sorted(pathlib.Path(folder).iterdir()):
        info = json.loads((case / "tailor_logits.json").read_text())
        arch = info["architecture"]
        base = AutoModelForCausalLM.from_pretrained(MODELS / arch, attn_implementation="eager")
        model = PeftModel.from_pretrained(base, case)
        model.eval()
        ids = torch.tensor(info["input_ids"])
        with torch.no_grad():
            logits = model(input_ids=ids).logits
        logits = logits[:, -ids.shape[1]:].flatten()
        diff = (logits - torch.tensor(info["logits"])).abs().max().item()
        worst = max(worst, diff)
        print(f"{case.name}: max |Δlogit| {diff:.2e}")
    print(f"worst {worst:.2e}")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main(sys.argv[1])
