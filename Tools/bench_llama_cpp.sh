#!/usr/bin/env bash
# llama.cpp inference benchmarks on a GGUF, the peer of `tailor-bench prefill` / `tailor-bench decode`.
# llama.cpp runs its own quantized kernels (Q4_K_M etc.) directly on the file; it does not dequantize to fp32.
#
# Usage: Tools/bench_llama_cpp.sh [--model default|PATH] [--threads 2] [--prompt 512] [--gen 64]
#                                 [--batch 8] [--decode-prompt 16] [--reps 5]
#   Build llama.cpp first: Scripts/build-llama-cpp.sh  (LLAMA_CPP_BIN overrides the bin folder)
#
# Prints one JSON object per line (keys sorted):
#   {"bench":"prefill","impl":"llama.cpp","tool":"llama-bench",...}  llama-bench -p PROMPT: one batch of PROMPT
#        tokens into an empty context; mean tokens/s over --reps runs (plus stddev).
#   {"bench":"decode","impl":"llama.cpp","tool":"llama-bench","batch":1,...}  llama-bench -n GEN: GEN tokens
#        generated one at a time from an empty context; mean tokens/s over --reps runs.
#   {"bench":"decode","impl":"llama.cpp","tool":"llama-batched-bench","batch":B,...}  for B in 1 and --batch:
#        B sequences, each with its own --decode-prompt-token prompt, then GEN decode steps of B tokens each;
#        tokens/s = B*GEN / decode time (one run; the same set-up as `bench_torch.py decode`).
# peak_rss_mb is the benchmark process's peak RSS; the model file is mmapped, so its pages count.
set -euo pipefail

log() { echo "bench_llama_cpp: $*" >&2; }
die() { log "error: $*"; exit 1; }

cache_root="${TAILOR_CACHE:-$HOME/.cache/tailor}"
bin="${LLAMA_CPP_BIN:-$cache_root/llama.cpp/build/bin}"
model="default" threads=2 prompt=512 gen=64 batch=8 decode_prompt=16 reps=5
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --prompt) prompt="$2"; shift 2 ;;
    --gen) gen="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --decode-prompt) decode_prompt="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for v in "$threads" "$prompt" "$gen" "$batch" "$decode_prompt" "$reps"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "expected a positive integer, got '$v'"
done

if [ "$model" = "default" ]; then
  path="$cache_root/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"; name="qwen2.5-coder-0.5b"
else
  path="$model"; name="$(basename "$model")"
fi
[ -f "$path" ] || die "model file not found: $path (run Scripts/fetch-default-model.sh)"
[ -x "$bin/llama-bench" ] || die "$bin/llama-bench not found (run Scripts/build-llama-cpp.sh)"
[ -x "$bin/llama-batched-bench" ] || die "$bin/llama-batched-bench not found (run Scripts/build-llama-cpp.sh)"

# The runner starts each tool, records its peak RSS (wait4), and turns its JSON output into our lines.
commit="$(head -c 12 "$cache_root/llama.cpp/COMMIT" 2>/dev/null || true)"
exec python3 - "$bin" "$path" "$name" "$threads" "$prompt" "$gen" "$batch" "$decode_prompt" "$reps" "${commit:-unknown}" <<'EOF'
import json, os, subprocess, sys, tempfile

bin_dir, path, name = sys.argv[1:4]
threads, prompt, gen, batch, decode_prompt, reps = map(int, sys.argv[4:10])
commit = sys.argv[10]

def run(argv):
    """Runs argv; returns (stdout lines, peak RSS in MB). Exits with the tool's log on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0); err.seek(0)
        text = out.read().decode(errors="replace"); log = err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(log[-4000:])
        sys.exit(f"bench_llama_cpp: {os.path.basename(argv[0])} exited with {proc.returncode}")
    return (text + "\n" + log).splitlines(), round(usage.ru_maxrss / 1024)

def emit(fields):
    fields.update(impl="llama.cpp", model=name, threads=threads, build=commit)
    print(json.dumps(fields, sort_keys=True, separators=(",", ":")), flush=True)

lines, rss = run([f"{bin_dir}/llama-bench", "-m", path, "-t", str(threads), "-p", str(prompt),
                  "-n", str(gen), "-r", str(reps), "-o", "jsonl"])
for line in lines:
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    common = {"tool": "llama-bench", "batch": 1, "repeats": reps, "tokens_per_s": round(r["avg_ts"], 2),
              "stddev": round(r["stddev_ts"], 2), "weights": r.get("model_type", ""), "peak_rss_mb": rss}
    if r["n_prompt"] > 0 and r["n_gen"] == 0:
        emit({"bench": "prefill", "tokens": r["n_prompt"], **common})
    elif r["n_gen"] > 0 and r["n_prompt"] == 0:
        emit({"bench": "decode", "prompt": 0, "tokens": r["n_gen"], **common})

sizes = sorted({1, batch})
ctx = max(sizes) * (decode_prompt + gen) + 64
lines, rss = run([f"{bin_dir}/llama-batched-bench", "-m", path, "-t", str(threads), "-tb", str(threads),
                  "-c", str(ctx), "-npp", str(decode_prompt), "-ntg", str(gen),
                  "-npl", ",".join(map(str, sizes)), "--output-format", "jsonl"])
for line in lines:
    if not line.startswith('{"n_kv_max"'):
        continue
    r = json.loads(line)
    emit({"bench": "decode", "tool": "llama-batched-bench", "batch": r["pl"], "prompt": r["pp"], "tokens": r["tg"],
          "tokens_per_s": round(r["speed_tg"], 2), "ms_per_step": round(1000 * r["t_tg"] / r["tg"], 2),
          "peak_rss_mb": rss})
EOF
