#!/usr/bin/env python3
"""Tiny random GPT-2, Llama (GQA) and Qwen2 models saved with transformers' save_pretrained, and
their logits for fixed inputs (eager attention), as fixtures for Tests/ModelTests.

`save_tiny_qwen2_with_tokenizer` (used by Tools/make_cli_fixtures.py, not by `main`) makes a tiny Qwen2 whose
vocabulary is the byte-level Qwen2 tokenizer fixture's, optionally trains it on token sequences, and saves it
as a complete model folder (weights in F16, config, tokenizer.json, tokenizer_config.json).

Run: ~/.cache/tailor/pyenv/bin/python Tools/make_model_fixtures.py
(venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install "torch==2.13.0+cpu" transformers safetensors)
"""
import json
import pathlib

import torch
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "ModelTests" / "Fixtures" / "tiny-models"


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))


def save(name, model, vocab):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    for extra in ("generation_config.json",):
        (d / extra).unlink(missing_ok=True)
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, vocab, (2, 9), generator=g)
    model.eval()
    with torch.no_grad():
        logits = model(ids).logits
    (d / "expected.json").write_text(json.dumps({
        "input_ids": ids.tolist(),
        "logits_shape": list(logits.shape),
        "logits": [round(float(x), 7) for x in logits.flatten()],
    }))
    print(name, sum(p.numel() for p in model.parameters()), "params")


TOKENIZER_FIXTURE = OUT.parent / "tokenizers" / "bytelevel-qwen2" / "tokenizer.json"
CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                   "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def save_tiny_qwen2_with_tokenizer(directory, sequences=(), steps=0, learning_rate=3e-3, seed=5):
    """A tiny Qwen2 (hidden 32, 2 layers, 4/2 heads, tied embeddings) over the bytelevel-qwen2 tokenizer
    fixture's 600 ids, trained for `steps` Adam steps on `sequences` ((input_ids, labels) pairs, labels
    aligned with the inputs and -100 where no loss is taken), saved to `directory` in F16 with its tokenizer
    (EOS <|im_end|>, PAD <|endoftext|>, plain ChatML chat template). Returns the Float32 model read back."""
    tokenizer = json.loads(TOKENIZER_FIXTURE.read_text())
    ids = list(tokenizer["model"]["vocab"].values()) + [t["id"] for t in tokenizer["added_tokens"]]
    vocab = max(ids) + 1
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                         rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
                                         bos_token_id=None, eos_token_id=2, pad_token_id=0,
                                         attn_implementation="eager"))
    randomize(model, seed)
    if steps:
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
        g = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            batch = [sequences[i] for i in torch.randperm(len(sequences), generator=g)[:8].tolist()]
            length = max(len(x) for x, _ in batch)
            inputs = torch.tensor([x + [0] * (length - len(x)) for x, _ in batch])
            labels = torch.tensor([y + [-100] * (length - len(y)) for _, y in batch])
            mask = torch.tensor([[1] * len(x) + [0] * (length - len(x)) for x, _ in batch])
            loss = model(input_ids=inputs, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print("tiny-qwen2 final training loss", round(float(loss), 4))
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(directory, safe_serialization=True)
    (directory / "generation_config.json").unlink(missing_ok=True)
    (directory / "tokenizer.json").write_bytes(TOKENIZER_FIXTURE.read_bytes())
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>", "clean_up_tokenization_spaces": False, "model_max_length": 256,
        "chat_template": CHATML_TEMPLATE}, indent=1) + "\n")
    reloaded = Qwen2ForCausalLM.from_pretrained(directory, torch_dtype=torch.float32, attn_implementation="eager")
    reloaded.eval()
    return reloaded


def main():
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=96, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                      attn_implementation="eager"))
    randomize(gpt2, 1)
    save("gpt2", gpt2, 96)

    llama = LlamaForCausalLM(LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
                                         attn_implementation="eager"))
    randomize(llama, 2)
    save("llama", llama, 96)

    llama3 = LlamaForCausalLM(LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64,
                                          rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
                                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
                                          attn_implementation="eager"))
    randomize(llama3, 3)
    save("llama3-tied", llama3, 96)

    qwen = Qwen2ForCausalLM(Qwen2Config(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False,
                                        attn_implementation="eager"))
    randomize(qwen, 4)
    save("qwen2", qwen, 96)


if __name__ == "__main__":
    main()
