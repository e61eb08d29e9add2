#!/usr/bin/env python3
"""Writes Tests/GenerateTests/Fixtures/utf8_replacement.json: how a full decode turns byte sequences
(valid and invalid UTF-8) into text, which the streaming `UTF8StreamDecoder` must reproduce for every split.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/make_utf8_fixtures.py

The reference is the Hugging Face `tokenizers` ByteLevel decoder (Rust `String::from_utf8_lossy`) on a
tokenizer whose tokens are single bytes; the script checks it agrees with Python's
`bytes.decode("utf-8", errors="replace")` (both substitute U+FFFD per maximal subpart).
"""
import json
import pathlib

from tokenizers import Tokenizer, decoders, models
from tokenizers.pre_tokenizers import ByteLevel

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "GenerateTests" / "Fixtures" / "utf8_replacement.json"

byte_to_unicode = ByteLevel.alphabet()  # the 256 printable stand-ins GPT-2 style BPE uses for raw bytes
# ByteLevel.alphabet() is unordered; rebuild the GPT-2 byte -> char table explicitly.
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
table = {b: chr(c) for b, c in zip(bs, cs)}
assert set(table.values()) == set(byte_to_unicode)

vocab = {table[b]: b for b in range(256)}
tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
tok.decoder = decoders.ByteLevel()

samples = {
    "ascii": b"Hello, world",
    "two_byte": "caf\u00e9 na\u00efve".encode(),
    "three_byte": "\u4e2d\u6587 \u20ac".encode(),
    "four_byte_emoji": "hi \U0001F600\U0001F44D\U0001F3FD!".encode(),
    "lone_continuation": b"a\x80b",
    "many_continuations": b"\x80\x81\xbf",
    "truncated_two_byte_mid": b"a\xc3b",
    "truncated_three_byte_mid": b"x\xe4\xb8y",
    "truncated_four_byte_mid": b"\xf0\x9f\x98z",
    "truncated_at_end": b"ok\xe4\xb8",
    "truncated_lead_at_end": b"ok\xf0",
    "overlong_c0": b"\xc0\xaf",
    "overlong_e0": b"\xe0\x80\xaf",
    "surrogate_ed": b"\xed\xa0\x80",
    "above_max_f4": b"\xf4\x90\x80\x80",
    "invalid_f5_ff": b"\xf5\xfe\xff",
    "lead_then_lead": b"\xe4\xe4\xb8\xad",
    "mixed": "\u00e9".encode() + b"\xff" + "\u4e2d".encode()[:2] + "\U0001F600".encode() + b"\xc3",
}

cases = []
for name, data in samples.items():
    reference = tok.decode(list(data), skip_special_tokens=False)
    assert reference == data.decode("utf-8", errors="replace"), name
    cases.append({"name": name, "bytes": list(data), "text": reference})

OUT.write_text(json.dumps({"cases": cases}, ensure_ascii=True, indent=1) + "\n")
print(f"wrote {len(cases)} cases to {OUT}")
