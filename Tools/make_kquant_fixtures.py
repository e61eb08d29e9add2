#!/usr/bin/env python3
"""Makes the fixture for Tailor's Q4_1/Q5_1/K-quant encoders: Tests/QuantTests/Fixtures/ggml/encode-k/.

Ten blocks of 256 Float32 values (normal at several scales, weight-like values with outliers, an all-zero
block, tiny values whose scales underflow fp16, constant and one-signed sub-blocks, a quarter-step grid that
makes rounding ties, heavy tails) are written to values.f32 and encoded by ggml's own reference quantizers,
quantize_row_{q4_1,q5_1,q4_K,q5_K,q6_K}_ref: Tools/ggml_quantize_ref.c is compiled against the static
libggml-base.a that Scripts/build-llama-cpp.sh builds, and its output bytes are <TYPE>.bin. ORIGIN records the
llama.cpp commit. Tests compare Tailor's bytes with these exactly.

Run (from the repository root, after Scripts/build-llama-cpp.sh):
    ~/.cache/tailor/pyenv/bin/python Tools/make_kquant_fixtures.py
(needs numpy and a C compiler; venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install numpy)
"""
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("TAILOR_CACHE", pathlib.Path.home() / ".cache/tailor"))
LLAMA = CACHE / "llama.cpp"
OUT = ROOT / "Tests/QuantTests/Fixtures/ggml/encode-k"
TYPES = {"q4_1": "Q4_1", "q5_1": "Q5_1", "q4_K": "Q4_K", "q5_K": "Q5_K", "q6_K": "Q6_K"}


def blocks(rng):
    outliers = rng.normal(0, 0.02, 256)
    outliers[rng.choice(256, 6, replace=False)] *= 60
    tiny = rng.normal(0, 1e-7, 256)
    tiny[:32] = rng.normal(0, 1e-3, 32)           # one sub-block with a usable scale, the rest underflow
    signs = np.concatenate([rng.uniform(0.1, 1, 32), -rng.uniform(0.1, 1, 32), np.full(32, 0.5), np.full(32, -0.25),
                            rng.uniform(-1, 1, 64), np.zeros(16), rng.uniform(-1, 1, 48)])
    zero_sub = rng.uniform(-1, 1, 256)
    zero_sub[64:96] = 0
    return [
        rng.normal(0, 1, 256),
        outliers,
        np.zeros(256),
        tiny,
        signs,
        zero_sub,
        rng.normal(0, 1000, 256),
        (np.arange(256) % 31 - 15) * 0.25,           # quarter steps: rounding ties
        rng.standard_t(2, 256) * 0.05,
        rng.normal(0.3, 0.1, 256),                   # all positive: the minimum clamps to 0
    ]


def main():
    library = LLAMA / "build/ggml/src/libggml-base.a"
    if not library.exists():
        sys.exit(f"{library} is missing: run Scripts/build-llama-cpp.sh")
    values = np.concatenate(blocks(np.random.default_rng(20261203))).astype("<f4")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "values.f32").write_bytes(values.tobytes())
    with tempfile.TemporaryDirectory() as tmp:
        tool = pathlib.Path(tmp) / "ggml-quantize-ref"
        subprocess.run(["cc", "-O2", "-o", tool, ROOT / "Tools/ggml_quantize_ref.c", library,
                        "-lstdc++", "-lm", "-lpthread", "-fopenmp"], check=True)
        for arg, name in TYPES.items():
            subprocess.run([tool, arg, OUT / "values.f32", OUT / f"{name}.bin"], check=True)
    commit = (LLAMA / "COMMIT").read_text().strip() if (LLAMA / "COMMIT").exists() else "unknown"
    (OUT / "ORIGIN").write_text(f"Made by Tools/make_kquant_fixtures.py with ggml's quantize_row_*_ref from llama.cpp {commit}.\n")
    print(f"wrote {OUT} ({len(values)} values; {', '.join(TYPES.values())})")


if __name__ == "__main__":
    main()
