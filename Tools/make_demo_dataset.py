#!/usr/bin/env python3
"""Writes the demo fine-tuning dataset Examples/Data/sku/{train,test}.jsonl (Alpaca format).

The task (see Examples/Data/sku/README.md): turn a short product description such as
"a large blue wool sweater" into its inventory code "SWT-WOL-BLU-L", using fixed abbreviation
tables invented for Tailor. A general model cannot know the tables; a few hundred examples teach them.
The test split holds combinations never seen in training, while every single value is seen.

Run:  python3 Tools/make_demo_dataset.py            (deterministic: same files every time)
      ~/.cache/tailor/pyenv/bin/python Tools/make_demo_dataset.py --check-tokens [model.gguf]
          also prints token lengths with the Qwen2.5-Coder tokenizer and ChatML wrapper.
"""
import itertools
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Examples", "Data", "sku")
SEED = 20241123
TRAIN_SIZE = 400
TEST_SIZE = 100

# Code order: CATEGORY-MATERIAL-COLOUR-SIZE. Some codes are deliberately not the obvious
# abbreviation (shirt SHR, shorts SHT, coat CTE, socks SOK, polyester PES, leather LTR, yellow YEL).
CATEGORIES = [
    ("sweater", "SWT"), ("jacket", "JKT"), ("shirt", "SHR"), ("trousers", "TRS"),
    ("scarf", "SCF"), ("hat", "HAT"), ("socks", "SOK"), ("dress", "DRS"),
    ("coat", "CTE"), ("shorts", "SHT"), ("skirt", "SKR"), ("gloves", "GLV"),
]
MATERIALS = [
    ("wool", "WOL"), ("cotton", "CTN"), ("linen", "LIN"), ("silk", "SLK"),
    ("denim", "DNM"), ("leather", "LTR"), ("polyester", "PES"), ("cashmere", "CSH"),
]
COLOURS = [
    ("blue", "BLU"), ("red", "RED"), ("green", "GRN"), ("black", "BLK"), ("white", "WHT"),
    ("grey", "GRY"), ("yellow", "YEL"), ("navy", "NVY"), ("brown", "BRN"), ("pink", "PNK"),
]
SIZES = [("extra small", "XS"), ("small", "S"), ("medium", "M"), ("large", "L"), ("extra large", "XL")]

PLURAL = {"trousers", "socks", "shorts", "gloves"}
INSTRUCTION = "Write the inventory code for: {item}"


def describe(size, colour, material, category):
    """"a large blue wool sweater", "an extra small red silk scarf", "a pair of small grey wool socks"."""
    words = f"{size} {colour} {material} {category}"
    if category in PLURAL:
        return "a pair of " + words
    return ("an " if words[0] in "aeiou" else "a ") + words


def record(combo):
    (cat, cat_code), (mat, mat_code), (col, col_code), (size, size_code) = combo
    instruction = INSTRUCTION.format(item=describe(size, col, mat, cat))
    return {"instruction": instruction, "input": "", "output": f"{cat_code}-{mat_code}-{col_code}-{size_code}"}


def make_split():
    combos = list(itertools.product(CATEGORIES, MATERIALS, COLOURS, SIZES))
    rng = random.Random(SEED)
    rng.shuffle(combos)
    train, test = combos[:TRAIN_SIZE], combos[TRAIN_SIZE:TRAIN_SIZE + TEST_SIZE]
    # Every individual value must be seen in training.
    for position, table in enumerate((CATEGORIES, MATERIALS, COLOURS, SIZES)):
        seen = {c[position] for c in train}
        missing = [v for v in table if v not in seen]
        assert not missing, f"values missing from training: {missing}"
    assert not set(train) & set(test)
    return train, test


def write(path, combos):
    with open(path, "w", encoding="utf-8") as f:
        for combo in combos:
            f.write(json.dumps(record(combo), ensure_ascii=False) + "\n")


def check_tokens(gguf_path):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
    for name in ("train", "test"):
        rows = [json.loads(line) for line in open(os.path.join(OUT_DIR, f"{name}.jsonl"), encoding="utf-8")]
        inst = [len(tok(r["instruction"])["input_ids"]) for r in rows]
        out = [len(tok(r["output"])["input_ids"]) for r in rows]
        full = [len(tok(tok.apply_chat_template([{"role": "user", "content": r["instruction"]},
                                                 {"role": "assistant", "content": r["output"]}], tokenize=False))["input_ids"])
                for r in rows]
        print(f"{name}: instruction tokens max {max(inst)}, answer tokens max {max(out)} "
              f"(mean {sum(out) / len(out):.1f}), ChatML example max {max(full)} (mean {sum(full) / len(full):.1f})")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    train, test = make_split()
    write(os.path.join(OUT_DIR, "train.jsonl"), train)
    write(os.path.join(OUT_DIR, "test.jsonl"), test)
    print(f"wrote {len(train)} train and {len(test)} test examples to {OUT_DIR}")
    if "--check-tokens" in sys.argv:
        rest = [a for a in sys.argv[1:] if a != "--check-tokens"]
        check_tokens(rest[0] if rest else os.path.expanduser("~/.cache/tailor/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))


if __name__ == "__main__":
    main()
