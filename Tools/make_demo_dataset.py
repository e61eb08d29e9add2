#!/usr/bin/env python3
"""Writes the fine-tuning demo's dataset: Examples/Data/sku/{train,test}.jsonl (alpaca format).

The task, invented for Tailor: turn a free-form product description into the shop's inventory code
CATEGORY-MATERIAL-COLOUR-SIZE using fixed abbreviation tables, e.g.
"a large blue wool sweater" -> "SWT-WOL-BLU-L". A general model cannot know the tables or the
order; a LoRA adapter learns them from a few hundred examples. Test examples use (category,
material, colour) combinations that never occur in training, although every single value does.

Deterministic: python3 Tools/make_demo_dataset.py (standard library only).
"""
import itertools
import json
import pathlib
import random

CATEGORIES = {"sweater": "SWT", "jacket": "JKT", "shirt": "SHT", "scarf": "SCF", "hat": "HAT",
              "coat": "COT", "dress": "DRS", "skirt": "SKT"}
MATERIALS = {"wool": "WOL", "cotton": "CTN", "linen": "LIN", "silk": "SLK", "denim": "DNM", "leather": "LTH"}
COLOURS = {"red": "RED", "blue": "BLU", "green": "GRN", "black": "BLK", "white": "WHT", "grey": "GRY",
           "yellow": "YLW", "purple": "PRP"}
SIZES = {"small": "S", "medium": "M", "large": "L", "extra large": "XL"}
SIZE_WORDS = {"small": ["small", "size S", "S-sized"], "medium": ["medium", "size M", "M-sized"],
              "large": ["large", "size L", "L-sized"], "extra large": ["extra large", "size XL", "XL-sized"]}

TEMPLATES = [
    "a {size} {colour} {material} {category}",
    "{colour} {material} {category}, {size}",
    "{category} in {colour} {material}, {size}",
    "one {size} {category} made of {colour} {material}",
    "{material} {category} ({colour}, {size})",
    "the {colour} {category} in {material}, {size}",
]
INSTRUCTION = "Write the inventory code for this product."


def describe(rng, category, material, colour, size):
    size_word = rng.choice(SIZE_WORDS[size])
    text = rng.choice(TEMPLATES).format(size=size_word, colour=colour, material=material, category=category)
    return text[0].upper() + text[1:] if rng.random() < 0.5 else text


def main():
    rng = random.Random(20261123)
    combos = list(itertools.product(CATEGORIES, MATERIALS, COLOURS))
    rng.shuffle(combos)
    held_out = set(combos[:100])
    train_combos = combos[100:]

    def example(c, m, k):
        size = rng.choice(list(SIZES))
        return {"instruction": INSTRUCTION, "input": describe(rng, c, m, k, size),
                "output": f"{CATEGORIES[c]}-{MATERIALS[m]}-{COLOURS[k]}-{SIZES[size]}"}

    train = [example(*rng.choice(train_combos)) for _ in range(400)]
    test = [example(*combo) for combo in sorted(held_out)]
    rng.shuffle(test)
    out = pathlib.Path(__file__).resolve().parent.parent / "Examples" / "Data" / "sku"
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        with open(out / f"{name}.jsonl", "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    seen = {tuple(r["output"].split("-")[:3]) for r in train}
    assert not any(tuple(r["output"].split("-")[:3]) in seen for r in test), "test combinations leak into training"
    print(len(train), "train,", len(test), "test")


if __name__ == "__main__":
    main()
