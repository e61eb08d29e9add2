#!/usr/bin/env python3
"""Builds Tests/TrainTests/Fixtures/metrics.json: BLEU from sacreBLEU and ROUGE from rouge-score
(their default settings) on varied (hypothesis, reference) pairs, for MetricsTests.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/make_metric_fixtures.py

Recorded per pair: sacreBLEU's 13a tokenization of hypothesis and reference, sentence BLEU
(`sacrebleu.sentence_bleu`, effective order) with its statistics, and rouge-score's rouge1/rouge2/
rougeL precision, recall and F1 (`RougeScorer(['rouge1','rouge2','rougeL'])`, no stemmer).
Corpus level: `sacrebleu.corpus_bleu` (exp smoothing, 13a, 4-grams) over all pairs and over
sub-corpora, a two-reference corpus, other smoothing methods, and the mean ROUGE F1s.
"""
import json
import os
import random

import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TrainTests", "Fixtures", "metrics.json")

HANDWRITTEN = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("The cat sat on the mat.", "The cat is on the mat."),
    ("HELLO World", "hello world"),
    ("It costs $3,000.50 in 2023-24.", "It costs $3,000 in 2023."),
    ("", "Something is here."),
    ("some words here", ""),
    ("", ""),
    ("the the the the the the the", "the cat is on the mat"),
    ("Café naïve résumé — 日本語 テキスト", "Cafe naive resume — 日本語"),
    ("Hello!!! How are you??? (fine), [ok]; {x} <y> a|b ~z^ `q` @me #tag 100% a&b", "Hello! How are you? (fine) [ok]"),
    ("&quot;quoted&quot; &amp; &lt;tag&gt; &amp;lt;", "\"quoted\" & <tag>"),
    ("state-\nof-the-art results\nacross lines", "stateof-the-art results across lines"),
    ("<skipped> words after a skip", "words after a skip"),
    ("3.14 and 2,5 and .5 and 5. end, 1,000,000.", "3.14 and 2.5 and 0.5 and 5 end"),
    ("SWT-WOL-BLU-L", "SWT-WOL-BLU-M"),
    ("SWT-WOL-BLU-L", "SWT-WOL-BLU-L"),
    ("def f(x): return x+1", "def f(x):\n    return x + 1"),
    ("The Kelvin sign \u212a and \u0130stanbul", "the kelvin sign k and istanbul"),
    ("a\t\tb   c\u3000d\u00a0e", "a b c d e"),
    ("yes", "no"),
    ("yes", "yes"),
    ("This is already tokenized .", "This is already tokenized."),
    ("12-3 4-five six-7 -8 9 -", "12 - 3 4 - five six-7 -8 9 -"),
    ("e.g. i.e. U.S.A. Mr. Smith, Jr.", "e.g. i.e. USA Mr Smith Jr"),
    ("naïve coöperation façade", "naive cooperation facade"),
    ("Emoji 🙂🙃 test 👍🏽 ok", "Emoji 🙂 test ok"),
    ("trailing spaces   ", "trailing spaces"),
    ("   leading spaces", "leading spaces"),
    ("It's John's book, isn't it?", "It is John's book, is it not?"),
    ("a b c d e f g h i j", "a b c d e f g h i j k l m n o p"),
    ("a b c d e f g h i j k l m n o p", "a b c d e f g h i j"),
    ("one two three four", "four three two one"),
    ("x.y,z", "x . y , z"),
    ("Dr.Who vs. Dr. Who", "Dr. Who versus Dr. Who"),
    ("under_score and back\\slash / slash", "under score and back slash slash"),
    ("Ελληνικά κείμενο ΣΊΣΥΦΟΣ", "ελληνικά κείμενο σίσυφος"),
    ("numbers 1 2 3 4 5 6 7 8 9 10", "numbers 1 2 3 4 5 6 7 8 9 10 11"),
    ("repeated repeated repeated words words", "repeated words"),
    ("\n\nnewlines only\n\n", "newlines only"),
    ("-", "-"),
    ("...", "…"),
]

WORDS = ("the a quick brown fox jumps over lazy dog model learns to write short answers "
         "tokens data train test code value small large blue red wool cotton").split()
PUNCT = [".", ",", "!", "?", ";", ":", "-", "'s", "(", ")"]


def random_sentence(rng, n):
    words = []
    for _ in range(n):
        w = rng.choice(WORDS)
        if rng.random() < 0.15:
            w = w.capitalize()
        if rng.random() < 0.1:
            w = str(rng.randint(0, 2000))
        words.append(w)
        if rng.random() < 0.12:
            words[-1] += rng.choice(PUNCT)
    return " ".join(words)


def perturb(rng, sentence):
    words = sentence.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            out.append(rng.choice(WORDS))
            continue
        out.append(w)
        if r > 0.95:
            out.append(w)
    if rng.random() < 0.3 and len(out) > 3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def make_pairs():
    rng = random.Random(20241123)
    pairs = list(HANDWRITTEN)
    while len(pairs) < 80:
        ref = random_sentence(rng, rng.randint(3, 25))
        pairs.append((perturb(rng, ref), ref))
    return pairs


def bleu_dict(score):
    return {"score": score.score, "counts": list(score.counts), "totals": list(score.totals),
            "precisions": list(score.precisions), "bp": score.bp, "sys_len": score.sys_len, "ref_len": score.ref_len}


def main():
    pairs = make_pairs()
    hyps = [h for h, _ in pairs]
    refs = [r for _, r in pairs]
    tok = Tokenizer13a()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])

    per_pair = []
    for h, r in pairs:
        rs = scorer.score(r, h)  # rouge-score takes (target, prediction)
        per_pair.append({
            "hypothesis": h,
            "reference": r,
            "hypothesis_13a": tok(h.rstrip()),
            "reference_13a": tok(r.rstrip()),
            "sentence_bleu": bleu_dict(sacrebleu.sentence_bleu(h, [r])),
            "rouge": {k: {"precision": v.precision, "recall": v.recall, "f1": v.fmeasure} for k, v in rs.items()},
        })

    corpora = [
        {"name": "all", "range": [0, len(pairs)]},
        {"name": "handwritten", "range": [0, len(HANDWRITTEN)]},
        {"name": "generated", "range": [len(HANDWRITTEN), len(pairs)]},
        {"name": "first ten", "range": [0, 10]},
        {"name": "single empty hypothesis", "range": [4, 5]},
        {"name": "exact sku", "range": [15, 16]},
    ]
    for c in corpora:
        a, b = c["range"]
        c["bleu"] = bleu_dict(sacrebleu.corpus_bleu(hyps[a:b], [refs[a:b]]))

    # Other smoothing methods and options, over corpora with and without empty n-gram orders.
    variants = []
    for (a, b), (name, kwargs) in ((r, v) for r in ((0, len(pairs)), (0, 10), (2, 4), (7, 8), (3, 4)) for v in [
        ("none", {"smooth_method": "none"}),
        ("floor", {"smooth_method": "floor", "smooth_value": 0.1}),
        ("add-k", {"smooth_method": "add-k", "smooth_value": 1}),
        ("lowercase", {"lowercase": True}),
        ("effective order", {"effective_order": True}),
        ("no tokenizer", {"tokenize": "none"}),
    ]):
        metric = BLEU(**kwargs)
        variants.append({"name": name, "range": [a, b], "options": kwargs,
                         "bleu": bleu_dict(metric.corpus_score(hyps[a:b], [refs[a:b]]))})

    # Two references per hypothesis (second reference: a perturbed copy of the first).
    rng = random.Random(7)
    refs2 = [perturb(rng, r) if r else "" for r in refs]
    multi = {"second_references": refs2, "bleu": bleu_dict(sacrebleu.corpus_bleu(hyps, [refs, refs2]))}

    n = len(pairs)
    fixture = {
        "generator": f"Tools/make_metric_fixtures.py (sacrebleu {sacrebleu.__version__}, rouge-score)",
        "pairs": per_pair,
        "corpora": corpora,
        "variants": variants,
        "multi_reference": multi,
        "rouge_mean_f1": {k: sum(p["rouge"][k]["f1"] for p in per_pair) / n for k in ("rouge1", "rouge2", "rougeL")},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {n} pairs to {OUT}; corpus BLEU {fixture['corpora'][0]['bleu']['score']:.4f}")


if __name__ == "__main__":
    main()
