#!/usr/bin/env python3
"""Fixtures for the `tailor` CLI tests (Tests/GenerateTests/CLITests.swift), made with transformers + peft +
tokenizers + sacrebleu + rouge-score.

Writes Tests/GenerateTests/Fixtures/cli/:
  tiny-qwen2/            a tiny Qwen2 over the bytelevel-qwen2 tokenizer fixture's vocabulary, trained here for a
                         few hundred steps on a fruit-colour task; the eval files ask about fruits it has
                         not seen, so greedy answers are partly right
                         (Tools/make_model_fixtures.py: save_tiny_qwen2_with_tokenizer)
  adapter/               a PEFT LoRA adapter for it (r=2, alpha=4, q_proj/v_proj, random non-zero B)
  eval-alpaca.jsonl, eval-chat.jsonl, eval-completion.jsonl   held-out task records in the three formats
  train.jsonl, valid.jsonl   a second task (animal sounds, alpaca) to fine-tune on
  expected.json          for each eval file, with and without the adapter: the token ids and labels the data
                         pipeline must build, mean target-token loss, perplexity, token accuracy (teacher-forced),
                         greedy predictions (max 16 new tokens, stop at EOS), exact match, sacreBLEU and
                         rouge-score ROUGE-1/2/L F1

Formatting follows Tailor's data pipeline: alpaca/chat records rendered with the tokenizer's ChatML template,
prompt and response segments tokenized separately, prompt tokens masked (-100), the text after the last
response dropped, EOS appended when missing; completion records are prompt + completion + EOS.

Run (from the repository root, after Tools/make_tokenizer_fixtures.py):
    ~/.cache/tailor/pyenv/bin/python Tools/make_cli_fixtures.py
(venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install "torch==2.13.0+cpu" transformers peft
 safetensors tokenizers sacrebleu rouge-score)
"""
import json
import math
import pathlib
import sys

import sacrebleu
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from rouge_score import rouge_scorer
from tokenizers import Tokenizer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_model_fixtures import save_tiny_qwen2_with_tokenizer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "GenerateTests" / "Fixtures" / "cli"
MODEL = OUT / "tiny-qwen2"
ADAPTER = OUT / "adapter"
EOS = 2
MAX_NEW_TOKENS = 16

FRUITS = [("banana", "yellow"), ("lemon", "yellow"), ("apple", "red"), ("cherry", "red"), ("strawberry", "red"),
          ("lime", "green"), ("kiwi", "green"), ("grape", "purple"), ("plum", "purple"), ("orange", "orange"),
          ("apricot", "orange"), ("blueberry", "blue"), ("pear", "green"), ("mango", "orange"),
          ("raspberry", "red"), ("coconut", "brown"), ("fig", "purple"), ("peach", "orange"),
          ("pineapple", "yellow"), ("melon", "green")]
ANIMALS = [("dog", "woof"), ("cat", "meow"), ("cow", "moo"), ("duck", "quack"), ("sheep", "baa"), ("owl", "hoot"),
           ("lion", "roar"), ("horse", "neigh"), ("frog", "croak"), ("mouse", "squeak"), ("pig", "oink"),
           ("goat", "bleat"), ("bee", "buzz"), ("snake", "hiss"), ("crow", "caw"), ("wolf", "howl")]


def alpaca(fruit, colour):
    return {"instruction": "What colour is the fruit?", "input": fruit, "output": f"A {fruit} is {colour}."}


def chat(fruit, colour, system=False):
    messages = [{"role": "user", "content": f"What colour is a {fruit}?"},
                {"role": "assistant", "content": f"A {fruit} is {colour}."}]
    if system:
        messages.insert(0, {"role": "system", "content": "You know fruit."})
    return {"messages": messages}


def completion(fruit, colour):
    return {"prompt": f"The colour of a {fruit} is", "completion": f" {colour}."}


def animal(name, sound):
    return {"instruction": "What does the animal say?", "input": name, "output": f"A {name} says {sound}."}


# ---------------------------------------------------------------------------------------------------------------
# Tailor's data pipeline, for ChatML without a default system prompt

def messages_of(record):
    if "messages" in record:
        return record["messages"]
    user = record["instruction"] + ("\n\n" + record["input"] if record.get("input") else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]


def segments(record):
    """(text, is_response) pieces of the training text."""
    if "prompt" in record:
        return [(record["prompt"], False), (record["completion"], True)]
    out = []
    for m in messages_of(record):
        out.append((f"<|im_start|>{m['role']}\n", False))
        if m["role"] == "assistant":
            out.append((m["content"] + "<|im_end|>", True))
            out.append(("\n", False))
        else:
            out.append((m["content"] + "<|im_end|>\n", False))
    merged = []
    for text, response in out:
        if merged and merged[-1][1] == response:
            merged[-1] = (merged[-1][0] + text, response)
        else:
            merged.append((text, response))
    return merged


def encode(tok, record):
    pieces = segments(record)
    last = max(i for i, (_, r) in enumerate(pieces) if r)
    ids, labels = [], []
    for text, response in pieces[:last + 1]:
        t = tok.encode(text, add_special_tokens=False).ids
        ids += t
        labels += t if response else [-100] * len(t)
    if ids[-1] != EOS:
        ids.append(EOS)
        labels.append(EOS)
    labels[0] = -100
    return ids, labels


def prompt_and_reference(record):
    if "prompt" in record:
        return record["prompt"], record["completion"]
    messages = messages_of(record)
    end = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages[:end])
    return text + "<|im_start|>assistant\n", messages[end]["content"]


# ---------------------------------------------------------------------------------------------------------------
# Reference metrics

def evaluate(model, tok, records):
    nll, correct, total = 0.0, 0, 0
    encoded = [encode(tok, r) for r in records]
    with torch.no_grad():
        for ids, labels in encoded:
            logits = model(torch.tensor([ids])).logits[0]
            for t in range(1, len(ids)):
                if labels[t] == -100:
                    continue
                row = logits[t - 1].double()
                nll += float(torch.logsumexp(row, 0) - row[labels[t]])
                correct += int(int(torch.argmax(logits[t - 1])) == labels[t])
                total += 1
    predictions, references = [], []
    for record in records:
        prompt, reference = prompt_and_reference(record)
        ids = torch.tensor([tok.encode(prompt, add_special_tokens=False).ids])
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                 eos_token_id=EOS, pad_token_id=0)
        new = out[0, ids.shape[1]:].tolist()
        predictions.append(tok.decode(new, skip_special_tokens=True).strip())
        references.append(reference)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    scores = [scorer.score(r, p) for p, r in zip(predictions, references)]
    loss = nll / total
    return {
        "input_ids": [e[0] for e in encoded], "labels": [e[1] for e in encoded],
        "loss": loss, "perplexity": math.exp(loss), "token_accuracy": correct / total, "target_tokens": total,
        "predictions": predictions, "references": references,
        "exact_match": sum(p.strip() == r.strip() for p, r in zip(predictions, references)) / len(records),
        "bleu": sacrebleu.corpus_bleu(predictions, [references]).score,
        "rouge1": sum(s["rouge1"].fmeasure for s in scores) / len(scores),
        "rouge2": sum(s["rouge2"].fmeasure for s in scores) / len(scores),
        "rougeL": sum(s["rougeL"].fmeasure for s in scores) / len(scores),
    }


def write_jsonl(name, records):
    (OUT / name).write_text("".join(json.dumps(r) + "\n" for r in records))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(str(ROOT / "Tests" / "ModelTests" / "Fixtures" / "tokenizers" / "bytelevel-qwen2" / "tokenizer.json"))
    held_out = FRUITS[::3]
    corpus = []
    for fruit, colour in FRUITS:
        if (fruit, colour) in held_out:
            continue
        corpus += [alpaca(fruit, colour), chat(fruit, colour), chat(fruit, colour, system=True), completion(fruit, colour)]
    sequences = [encode(tok, r) for r in corpus]
    model = save_tiny_qwen2_with_tokenizer(MODEL, sequences, steps=220, learning_rate=4e-3)

    evals = {
        "eval-alpaca.jsonl": [alpaca(f, c) for f, c in held_out],
        "eval-chat.jsonl": [chat(f, c, system=i % 2 == 1) for i, (f, c) in enumerate(held_out[:4])],
        "eval-completion.jsonl": [completion(f, c) for f, c in held_out[:4]],
    }
    for name, records in evals.items():
        write_jsonl(name, records)
    write_jsonl("train.jsonl", [animal(a, s) for a, s in ANIMALS[:12]])
    write_jsonl("valid.jsonl", [animal(a, s) for a, s in ANIMALS[12:]])

    torch.manual_seed(11)
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                                                  task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(16)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    peft_model.peft_config["default"].base_model_name_or_path = "tiny-qwen2"
    peft_model.save_pretrained(ADAPTER)
    (ADAPTER / "README.md").unlink(missing_ok=True)
    peft_model.eval()

    expected = {"max_new_tokens": MAX_NEW_TOKENS}
    base = peft_model.get_base_model()
    for name, records in evals.items():
        with peft_model.disable_adapter():
            expected[name] = evaluate(base, tok, records)
        print(name, {k: v for k, v in expected[name].items() if k not in ("input_ids", "labels", "references")})
    expected["eval-alpaca.jsonl+adapter"] = evaluate(peft_model, tok, evals["eval-alpaca.jsonl"])
    print("adapter", {k: v for k, v in expected["eval-alpaca.jsonl+adapter"].items()
                      if k not in ("input_ids", "labels", "references")})
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
