#!/usr/bin/env python3
"""Reference-stack benchmarks (PyTorch CPU + transformers + peft), the peer of `tailor-bench`.

Prints one JSON object per line, the same shape as `tailor-bench` plus "impl" ("torch" for training,
"transformers" for load/prefill/decode), "threads" and "jemalloc" (whether libjemalloc is mapped in).

Run with the reference venv (created by `python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install
"torch==2.13.0+cpu" transformers peft safetensors tokenizers gguf`); the default model comes from
Scripts/fetch-default-model.sh:
  PY=~/.cache/tailor/pyenv/bin/python
  $PY Tools/bench_torch.py train   --model default|gpt2-124m|llama-135m --seq 256 --batch 1 --steps 3 --rank 8 [--targets q_proj,v_proj]
                                   [--quantize nf4|int8] [--checkpointing]   (QLoRA over bitsandbytes' layers)
  $PY Tools/bench_torch.py prefill --model default --tokens 512
  $PY Tools/bench_torch.py decode  --model default --tokens 64 --batch 1|8 [--prompt 16]
  $PY Tools/bench_torch.py load    --model default
Bottleneck adapters come from AdapterHub's `adapters` (peft has none), in its own venv:
  ~/.cache/tailor/adapters-venv/bin/python Tools/bench_torch.py train --method bottleneck ...
Faster torch (the fair peer; up to ~25% on training, see Docs/Benchmarks.md):
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 $PY Tools/bench_torch.py train ...

What is measured:
  train    LoRA (peft, r=rank, alpha=2*rank, dropout 0, no bias) on q,k,v,o_proj (Llama/Qwen) or c_attn
           (GPT-2), AdamW lr 1e-4, fp32, random token batch with labels = inputs (HF shifts them).
           One warm-up step, then `steps` timed steps: forward + backward + optimizer step.
  prefill  one forward pass over `tokens` random tokens with use_cache=True, logits for the last position only
           (as generate() does); best of --repeats after a warm-up.
  decode   greedy decoding with the KV cache after a `--prompt`-token prefill; steady-state tokens/s over
           `tokens` steps (the first step after the prefill is a warm-up and not timed); batch rows decode together.
  load     seconds for from_pretrained of the default GGUF into fp32 transformers (includes dequantization).
peak_rss_mb is the process's lifetime peak (getrusage ru_maxrss), so it includes loading the model.
"""
import argparse
import json
import os
import pathlib
import resource
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader shows a progress bar

import torch  # noqa: E402

CACHE = pathlib.Path(os.environ.get("TAILOR_CACHE", pathlib.Path.home() / ".cache" / "tailor"))
DEFAULT_GGUF = CACHE / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
DEFAULT_NAME = "qwen2.5-coder-0.5b"


def jemalloc_loaded() -> bool:
    """True when libjemalloc is mapped into this process (normally via LD_PRELOAD)."""
    try:
        with open("/proc/self/maps") as f:
            return any("libjemalloc" in line for line in f)
    except OSError:
        return "jemalloc" in os.environ.get("LD_PRELOAD", "")


def peak_rss_mb() -> float:
    """Lifetime peak resident set size in MB (ru_maxrss is in KB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def emit(fields: dict) -> None:
    fields.update(threads=torch.get_num_threads(), jemalloc=jemalloc_loaded(), torch=torch.__version__.split("+")[0])
    print(json.dumps(fields, sort_keys=True, separators=(",", ":")), flush=True)


def load_model(spec: str):
    """Returns (model, name, kind) for "default", "gpt2-124m", "llama-135m" or a GGUF path."""
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1)
    if spec == "gpt2-124m":
        return GPT2LMHeadModel(GPT2Config()), "gpt2-124m-random", "gpt2"
    if spec == "llama-135m":
        config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                             num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=2048,
                             tie_word_embeddings=True)
        return LlamaForCausalLM(config), "llama-135m-random", "llama"
    path = DEFAULT_GGUF if spec == "default" else pathlib.Path(spec)
    if not path.is_file():
        sys.exit(f"bench_torch: model file not found: {path} (run Scripts/fetch-default-model.sh)")
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    return model, DEFAULT_NAME if spec == "default" else path.name, "llama"


def load_quantized_model(spec: str, quantize: str):
    """The model with bitsandbytes' quantized linear layers (QLoRA's base): NF4 with double quantization
    and Float32 compute, or LLM.int8. transformers quantizes while loading a Hugging Face folder, so the
    dense model is saved once to CACHE/bench/<name>-fp32 (later runs load only the quantized model)."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    name = DEFAULT_NAME if spec == "default" else pathlib.Path(spec).name
    folder = CACHE / "bench" / f"{name}-fp32"
    if not (folder / "config.json").is_file():
        # save_pretrained refuses a model loaded from GGUF: write its weights and config directly.
        from safetensors.torch import save_file
        dense, _, _ = load_model(spec)
        tensors = {k: v.contiguous() for k, v in dense.state_dict().items()}
        if dense.config.tie_word_embeddings:
            tensors.pop("lm_head.weight", None)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        if hasattr(dense.config, "quantization_config"):
            del dense.config.quantization_config
        dense.config.save_pretrained(folder)
        del dense, tensors
    if quantize == "nf4":
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                    bnb_4bit_compute_dtype=torch.float32)
    else:
        config = BitsAndBytesConfig(load_in_8bit=True)
    model = AutoModelForCausalLM.from_pretrained(str(folder), quantization_config=config, dtype=torch.float32,
                                                 device_map="cpu")
    return model, f"{name}-{quantize}", "llama"


def random_tokens(rows: int, count: int, vocab: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, min(vocab, 32000), (rows, count), generator=g)


def peft_config(method, args, kind, targets):
    """The peft configuration `tailor-bench train --method` uses for the same method."""
    from peft import IA3Config, LoraConfig, PrefixTuningConfig, PromptTuningConfig
    gpt2 = kind == "gpt2"
    if method in ("lora", "dora"):
        return LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, bias="none", use_dora=method == "dora",
                          target_modules=targets, fan_in_fan_out=gpt2, task_type="CAUSAL_LM")
    if method == "ia3":
        ia3_targets = args.targets.split(",") if args.targets else (["c_attn", "mlp.c_proj"] if gpt2 else ["k_proj", "v_proj", "down_proj"])
        return IA3Config(target_modules=ia3_targets, feedforward_modules=["mlp.c_proj"] if gpt2 else ["down_proj"],
                         fan_in_fan_out=gpt2, task_type="CAUSAL_LM")
    if method == "prefix":
        return PrefixTuningConfig(num_virtual_tokens=20, task_type="CAUSAL_LM")
    if method == "prompt":
        return PromptTuningConfig(num_virtual_tokens=20, task_type="CAUSAL_LM")
    raise SystemExit(f"unknown method {method}")


def cmd_train(args) -> None:
    model, name, kind = load_quantized_model(args.model, args.quantize) if args.quantize else load_model(args.model)
    if args.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    targets = args.targets.split(",") if args.targets else (
        ["c_attn"] if kind == "gpt2" else ["q_proj", "k_proj", "v_proj", "o_proj"])
    if args.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
    elif args.method == "bottleneck":
        # peft has no bottleneck adapters: AdapterHub's `adapters` (its own venv, transformers~=4.57.6) is the peer.
        import adapters
        adapters.init(model)
        model.add_adapter("bench", config=adapters.SeqBnConfig(reduction_factor=16, non_linearity="relu"))
        model.train_adapter("bench")
    else:
        from peft import get_peft_model
        model = get_peft_model(model, peft_config(args.method, args, kind, targets))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "adamw8bit":
        import bitsandbytes as bnb  # its CPU backend: blockwise 8-bit moments
        optimizer = bnb.optim.AdamW8bit(params, lr=1e-4)
    else:
        optimizer = torch.optim.AdamW(params, lr=1e-4)
    vocab = model.config.vocab_size
    times = []
    for i in range(args.steps + 1):
        ids = random_tokens(args.batch, args.seq, vocab, seed=i)
        labels = ids.clone()
        if args.targets_per_row is not None:  # like a masked prompt: only the last N positions have targets
            labels[:, : max(0, args.seq - args.targets_per_row)] = -100
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=labels, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    timed = times[1:]
    seconds = sum(timed)
    emit({"bench": "train", "impl": "torch", "model": name, "method": args.method, "rank": args.rank,
          "quantize": args.quantize, "checkpointing": args.checkpointing,
          "targets": ",".join(targets), "targets_per_row": args.targets_per_row, "seq": args.seq, "batch": args.batch,
          "optimizer": args.optimizer, "steps": len(timed),
          "tokens_per_s": round(len(timed) * args.batch * args.seq / seconds, 1),
          "step_s": round(seconds / len(timed), 3), "trainable_params": sum(p.numel() for p in params),
          "loss": round(loss.item(), 4), "peak_rss_mb": peak_rss_mb()})


def cmd_prefill(args) -> None:
    model, name, _ = load_model(args.model)
    model.eval()
    ids = random_tokens(args.batch, args.tokens, model.config.vocab_size, seed=7)
    best = float("inf")
    with torch.inference_mode():
        for i in range(args.repeats + 1):
            start = time.perf_counter()
            model(input_ids=ids, use_cache=True, logits_to_keep=1)  # as generate() does
            elapsed = time.perf_counter() - start
            if i > 0:  # the first pass is a warm-up
                best = min(best, elapsed)
    emit({"bench": "prefill", "impl": "transformers", "model": name, "tokens": args.tokens, "batch": args.batch,
          "repeats": args.repeats, "tokens_per_s": round(args.batch * args.tokens / best, 1),
          "seconds": round(best, 3), "peak_rss_mb": peak_rss_mb()})


def cmd_decode(args) -> None:
    model, name, _ = load_model(args.model)
    model.eval()
    prompt = random_tokens(args.batch, args.prompt, model.config.vocab_size, seed=11)
    with torch.inference_mode():
        out = model(input_ids=prompt, use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        next_ids = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
        step_times = []
        for _ in range(args.tokens + 1):  # step 0 is a warm-up
            start = time.perf_counter()
            out = model(input_ids=next_ids, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            next_ids = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
            step_times.append(time.perf_counter() - start)
    timed = step_times[1:]
    seconds = sum(timed)
    emit({"bench": "decode", "impl": "transformers", "model": name, "prompt": args.prompt, "tokens": len(timed),
          "batch": args.batch, "tokens_per_s": round(args.batch * len(timed) / seconds, 2),
          "ms_per_step": round(1000 * seconds / len(timed), 2), "peak_rss_mb": peak_rss_mb()})


def cmd_load(args) -> None:
    import transformers  # noqa: F401  (import time is not load time)

    start = time.perf_counter()
    model, name, _ = load_model(args.model)
    seconds = time.perf_counter() - start
    emit({"bench": "load", "impl": "transformers", "model": name, "dtype": "float32",
          "parameters": sum(p.numel() for p in model.parameters()), "seconds": round(seconds, 2),
          "peak_rss_mb": peak_rss_mb()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="LoRA training tokens/s and peak RSS")
    p.add_argument("--model", default="default", help="default (Qwen GGUF), gpt2-124m, llama-135m, or a GGUF path")
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--targets", help="comma-separated module names (default q,k,v,o_proj; c_attn for GPT-2)")
    p.add_argument("--targets-per-row", type=int, default=None,
                   help="positions with a target per row (default all), like a masked prompt; as tailor-bench train")
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "adamw8bit"],
                   help="torch.optim.AdamW or bitsandbytes' AdamW8bit")
    p.add_argument("--method", default="lora", choices=["lora", "dora", "ia3", "prefix", "prompt", "bottleneck", "full"],
                   help="fine-tuning method, configured as tailor-bench train --method does (default lora)")
    p.add_argument("--quantize", choices=["nf4", "int8"], default=None,
                   help="bitsandbytes base (QLoRA): NF4 with double quantization, or LLM.int8; as tailor-bench train --quantize")
    p.add_argument("--checkpointing", action="store_true", help="gradient checkpointing, as tailor-bench train --checkpointing")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("prefill", help="one forward pass over a prompt, tokens/s")
    p.add_argument("--model", default="default")
    p.add_argument("--tokens", type=int, default=512)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=1, help="timed passes after a warm-up; the best is reported")
    p.set_defaults(func=cmd_prefill)

    p = sub.add_parser("decode", help="greedy decoding with the KV cache, steady-state tokens/s")
    p.add_argument("--model", default="default")
    p.add_argument("--tokens", type=int, default=64, help="timed decode steps")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt", type=int, default=16, help="prompt length prefilled before decoding")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("load", help="seconds to load the model into fp32 transformers")
    p.add_argument("--model", default="default")
    p.set_defaults(func=cmd_load)

    args = parser.parse_args()
    if min(getattr(args, k, 1) for k in ("seq", "batch", "steps", "rank", "tokens", "prompt", "repeats")) < 1:
        parser.error("sizes and counts must be positive")
    torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    args.func(args)


if __name__ == "__main__":
    main()
