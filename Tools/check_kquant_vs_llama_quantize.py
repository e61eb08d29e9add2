#!/usr/bin/env python3
"""Compares `tailor export --quant q4_k|q5_k|q6_k` with llama.cpp's own llama-quantize, tensor by tensor.

For each model: Tailor writes an F32 GGUF (`tailor export --format gguf --quant f32`); llama-quantize --pure turns
it into Q4_K_S / Q5_K_S / Q6_K (--pure: every matrix gets the K type, or llama-quantize's fallback when its rows
are not whole 256-value blocks; no importance matrix, so ggml's quantize_row_*_ref encoders); Tailor exports the
same F32 file with the matching --quant. For every tensor the script reports whether both chose the same type
and whether the stored bytes are identical. Prints one JSON object; exits 1 when any tensor differs.

Run (from the repository root, after `swift build -c release` and Scripts/build-llama-cpp.sh, which builds
llama-quantize):
    ~/.cache/tailor/pyenv/bin/python Tools/check_kquant_vs_llama_quantize.py --tailor .build/release/tailor
Options: --models a,b (tiny-qwen2, tiny-llama, default), --quants q4_k,q6_k (default q4_k,q5_k,q6_k), --work DIR.
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("TAILOR_CACHE", pathlib.Path.home() / ".cache/tailor"))
QUANTIZE = CACHE / "llama.cpp/build/bin/llama-quantize"
MODELS = {
    "tiny-qwen2": ROOT / "Tests/ModelTests/Fixtures/tiny-models/qwen2",
    "tiny-llama": ROOT / "Tests/ModelTests/Fixtures/tiny-models/llama",
    "default": CACHE / "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
FTYPES = {"q4_k": "Q4_K_S", "q5_k": "Q5_K_S", "q6_k": "Q6_K"}


def run(command):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def tensors(path):
    return {t.name: (t.tensor_type.name, np.asarray(t.data).tobytes()) for t in GGUFReader(str(path)).tensors}


def compare(tailor_file, llama_file):
    ours, theirs = tensors(tailor_file), tensors(llama_file)
    same_type, identical, differing, types = 0, 0, [], collections.Counter()
    for name, (kind, data) in theirs.items():
        if name not in ours:
            differing.append(f"{name}: missing in Tailor's file")
            continue
        our_kind, our_data = ours[name]
        types[kind] += 1
        if our_kind != kind:
            differing.append(f"{name}: Tailor {our_kind}, llama-quantize {kind}")
            continue
        same_type += 1
        if our_data == data:
            identical += 1
        else:
            a, b = np.frombuffer(our_data, np.uint8), np.frombuffer(data, np.uint8)
            differing.append(f"{name} ({kind}): {int((a != b).sum())} of {a.size} bytes differ")
    extra = sorted(set(ours) - set(theirs))
    return {"tensors": len(theirs), "same_type": same_type, "identical_bytes": identical,
            "llama_quantize_types": dict(sorted(types.items())), "differing": differing[:20], "only_in_tailor": extra}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tailor", required=True)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--quants", default=",".join(FTYPES))
    parser.add_argument("--work")
    args = parser.parse_args()
    if not QUANTIZE.exists():
        sys.exit(f"{QUANTIZE} is missing: run Scripts/build-llama-cpp.sh")
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="tailor-kquant-check-"))
    tailor = pathlib.Path(args.tailor).resolve()
    report, failed = {}, False
    for name in args.models.split(","):
        model = MODELS[name]
        if not model.exists():
            report[name] = "skipped: not downloaded"
            continue
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        f32 = folder / "f32.gguf"
        run([tailor, "export", "--format", "gguf", "--quant", "f32", "--model", model, "--output", f32])
        report[name] = {}
        for quant in args.quants.split(","):
            ours, theirs = folder / f"tailor-{quant}.gguf", folder / f"llama-quantize-{quant}.gguf"
            run([QUANTIZE, "--pure", f32, theirs, FTYPES[quant]])
            run([tailor, "export", "--format", "gguf", "--quant", quant, "--model", f32, "--output", ours])
            result = compare(ours, theirs)
            failed |= bool(result["differing"])
            report[name][quant] = result
            theirs.unlink()
            ours.unlink()
        f32.unlink()
        print(json.dumps({name: report[name]}), file=sys.stderr)
    print(json.dumps(report, indent=1))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
