#!/usr/bin/env python3
"""Makes the tokenizer fixtures under Tests/ModelTests/Fixtures/tokenizers/ with Hugging Face `tokenizers`.

Run (from the repository root):
    ~/.cache/tailor/pyenv/bin/python Tools/make_tokenizer_fixtures.py
(the venv: python3 -m venv ~/.cache/tailor/pyenv && ~/.cache/tailor/pyenv/bin/pip install tokenizers ...)

Writes:
  unicode_classes.json      which code points Oniguruma (inside `tokenizers`) puts in \\s, \\p{L}, \\p{N},
                            \\p{P}, \\p{M}, \\p{S}, as sorted [first, last] ranges
  pretokenizer_cases.json   pre-tokenizer configurations (GPT-2, Llama-3, Qwen2, DeepSeek-LLM/Coder, StarCoder,
                            llama.cpp's default) with random tricky strings and the pieces `tokenizers` cuts them into
  <name>/tokenizer.json     small BPE tokenizers trained here (byte-level with Llama-3, Qwen2, GPT-2 and DeepSeek
                            pre-tokenizers; SentencePiece-style with byte fallback), with added special tokens
  <name>/tokenizer_config.json   chat template and BOS/EOS/PAD for some of them
  <name>/expected.json      ~60 varied strings with the ids, the ids with special tokens added, the ids with special
                            tokens not parsed, and the decoded text, all computed by `tokenizers`
Everything is deterministic (fixed random seed, deterministic trainer).
"""

import json
import os
import random
import sys

import pydoc_data.topics
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelTests", "Fixtures", "tokenizers")

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
DEEPSEEK_LLM = [
    "[\r\n]",
    # Characters that NFC would change are escaped so that no editor can alter them.
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
]
DEEPSEEK_CODER = ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"]
LLAMACPP_DEFAULT = ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_REGEX, "\\p{N}+", "[0-9][0-9][0-9]"]


def splits(patterns):
    return [pre_tokenizers.Split(Regex(p), "isolated") for p in patterns]


def byte_level_after(patterns):
    return pre_tokenizers.Sequence(splits(patterns) + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


# ---------------------------------------------------------------------------------------------------------------
# Random tricky strings

PIECES = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    + ["'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "'ſ", "'ﬆ"]
    + list("0123456789") + ["123", "4567", "3.14"]
    + [" ", " ", " ", "  ", "   ", "\t", "\n", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u000b",
       "\u000c", "\u1680", "\u200b", "\ufeff", "\u2009"]
    + list("!?.,;:-_()[]{}<>\"`~@#$%^&*+=/\\|") + ["…", "—", "“", "”", "、", "。", "！", "？", "～", "‘"]
    + ["é", "ß", "Ä", "ſ", "\u212a", "\u2126", "ǅ", "Ж", "я", "λ", "Ω", "ա", "ა", "Ꭰ", "ﬀ", "Ａ", "ｚ", "µ", "ª", "ʰ"]
    + ["我", "想", "在", "工", "作", "ひ", "カ", "한", "국", "ー", "龥", "一", "ㄱ", "ก", "ب", "ש", "ក", "ា"]
    + ["²", "½", "Ⅻ", "٣", "３", "๓", "𝟙"]
    + ["\u0301", "\u0308", "\u093f", "e\u0301"]
    + ["€", "™", "±", "©", "😀", "🦙", "👍🏽", "❤️", "\u200d", "🫩"]
    + ["\u0378", "\u1acf", "\x00", "\x7f", "ꙮ", "\U0001e900", "\U00010400"]
)


def random_strings(rng, count):
    result = []
    for _ in range(count):
        n = rng.randint(1, 24)
        result.append("".join(rng.choice(PIECES) for _ in range(n)))
    return result


# ---------------------------------------------------------------------------------------------------------------
# Unicode classes as Oniguruma sees them

def unicode_classes():
    chars = "".join(chr(c) for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF))
    result = {}
    for name, pattern in [("s", r"[^\s]"), ("L", r"[^\p{L}]"), ("N", r"[^\p{N}]"), ("P", r"[^\p{P}]"),
                          ("M", r"[^\p{M}]"), ("S", r"[^\p{S}]")]:
        kept = normalizers.Replace(Regex(pattern), "").normalize_str(chars)
        ranges = []
        for c in map(ord, kept):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
        result[name] = ranges
    return result


# ---------------------------------------------------------------------------------------------------------------
# Pre-tokenizer cases

def pretokenizer_configs():
    return {
        "gpt2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        "gpt2-prefix-space": pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        "llama3": byte_level_after([LLAMA3_REGEX]),
        "qwen2": byte_level_after([QWEN2_REGEX]),
        "deepseek-llm": byte_level_after(DEEPSEEK_LLM),
        "deepseek-coder": byte_level_after(DEEPSEEK_CODER),
        "starcoder": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                              pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
        "llamacpp-default": byte_level_after(LLAMACPP_DEFAULT),
        "digits-runs": pre_tokenizers.Digits(individual_digits=False),
        "metaspace-split": pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
    }


BYTE_DECODER = {}


def byte_decoder():
    if not BYTE_DECODER:
        printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
        extra = 0
        for byte in range(256):
            if byte in printable:
                BYTE_DECODER[chr(byte)] = byte
            else:
                BYTE_DECODER[chr(256 + extra)] = byte
                extra += 1
    return BYTE_DECODER


def pieces_of(pre_tokenizer, text, byte_level):
    """The pieces as text: byte-level pieces are mapped back to the bytes they stand for."""
    pieces = [piece for piece, _ in pre_tokenizer.pre_tokenize_str(text)]
    if byte_level:
        table = byte_decoder()
        pieces = [bytes(table[c] for c in piece).decode("utf-8") for piece in pieces]
    return pieces


def pretokenizer_cases(rng):
    fixed = ["", " ", "Hello world", "  Hello", "a  ", "\n\n\n", " \t\n x", "I'm YOU'RE 'ſ 'K", "3333333 12 ٣٤٥",
             "x" + " " * 20 + "y", "\u3000\u3000x", "€  ", "!!!  ", "我想在apple工作1314151天～", "'''' ...", "'ſa", "x'ſ y'Ll z'RE", "'KA", "'"]
    cases = fixed + random_strings(rng, 100)
    result = {}
    for name, pre_tokenizer in pretokenizer_configs().items():
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizer
        config = json.loads(tokenizer.to_str())["pre_tokenizer"]
        entries = []
        byte_level = "ByteLevel" in json.dumps(config)
        for text in cases:
            entries.append({"text": text, "pieces": pieces_of(pre_tokenizer, text, byte_level)})
        result[name] = {"pre_tokenizer": config, "cases": entries}
    return result


# ---------------------------------------------------------------------------------------------------------------
# Trained tokenizers

MULTILINGUAL = """
Äpfel und Birnen wachsen über der Straße. Schöne Grüße aus München!
Это пример текста на русском языке, чтобы было больше букв.
Ελληνικά γράμματα και λέξεις για δοκιμή.
我想在苹果公司工作，今天天气很好。我们一起学习中文吧。
こんにちは世界、カタカナとひらがなのテストです。
안녕하세요 세계, 한국어 문장입니다.
🚀 rockets 😀 smiles 👍🏽 thumbs ❤️ hearts 🦙 llamas
def fibonacci(n):
    if n <= 1:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)
for (int i = 0; i < 10; ++i) { printf("%d\\n", i); }
The year 2024 had 366 days; π ≈ 3.14159 and 1,000,000 is a million.
"""

TRAIN_TEXT = [v for _, v in sorted(pydoc_data.topics.topics.items())] + [MULTILINGUAL] * 20

TEST_STRINGS = [
    "", " ", "  ", "\t", "\n", "\n\n\n", "\t\n",
    "Hello world", " Hello world", "Hello World!", "Hello, world! How are you?",
    "  leading spaces", "trailing spaces   ", "a" + " " * 40 + "b",
    "tabs\tand\nnewlines\r\nmixed \t \n end",
    "I'm sure we've got what they'll need, can't you see? YOU'RE RIGHT, I'D SAY.",
    "numbers: 1 12 123 1234 12345 3.14159 1,000,000 2024-01-01",
    "other digits: ٣٤٥ ３４５ ²³ Ⅻ ½",
    "我想在apple工作1314151天～",
    "こんにちは世界、カタカナ",
    "안녕하세요 세계",
    "Äpfel über Straße, naïve café",
    "combining: e\u0301 vs é, A\u030a vs Å, \u212a vs K, \u2126 vs Ω",
    "Русский текст и Ελληνικά",
    "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 👍🏽 ❤️ 🦙",
    "def fibonacci(n):\n    if n <= 1:\n        return n\n    return fibonacci(n - 1)",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
    "text<|endoftext|>more text",
    "<|im_start|> spaced <|im_end|>",
    "almost <|im_start special <|im_end| tokens",
    "a <tool> call<tool>inside</tool>",
    "<s>Hello</s> <s> world </s>",
    "\u00a0non-breaking\u3000ideographic\u2028line\u0085next",
    "!!!???... ''' \"\"\" ``` ---===",
    "x\u0085y\u000bz\u000cw",
    "unassigned \u0378 and new \u1acf and old \U00010400",
    "https://example.com/path?q=1&b=2#frag",
    "email@domain.org, @handle #hashtag $100 50% ^caret",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "supercalifragilisticexpialidocious" * 3,
    "ſ'S 'ſ long s",
    "ÀÖØöøƺ µ ﬀ ﬆ Ａｚ",
    "Thai ภาษาไทย Arabic العربية Hebrew עברית Khmer ខ្មែរ",
    "\x00control\x7fchars\x1b[0m",
    # Long pieces take the heap path of the BPE merge loop.
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 4 + " " + "thethethe" * 20,
    "9" * 150 + " " + "!?" * 60 + " " + "\u00e9" * 70,
]


def train_byte_level(pre_tokenizer, vocab_size, special_tokens):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(TRAIN_TEXT, trainer=trainer)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def expected_cases(tokenizer, strings):
    cases = []
    for text in strings:
        plain = tokenizer.encode(text, add_special_tokens=False).ids
        with_special = tokenizer.encode(text, add_special_tokens=True).ids
        tokenizer.encode_special_tokens = True
        unparsed = tokenizer.encode(text, add_special_tokens=False).ids
        tokenizer.encode_special_tokens = False
        cases.append({
            "text": text,
            "ids": plain,
            "ids_with_special": with_special,
            "ids_special_not_parsed": unparsed,
            "decoded": tokenizer.decode(with_special, skip_special_tokens=False),
            "decoded_skipping_special": tokenizer.decode(with_special, skip_special_tokens=True),
        })
    return cases


def write(name, tokenizer, config, strings, rng):
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    tokenizer.save(os.path.join(folder, "tokenizer.json"), pretty=False)
    config_path = os.path.join(folder, "tokenizer_config.json")
    if config is not None:
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=1)
    elif os.path.exists(config_path):
        os.remove(config_path)
    # Reload from disk so the expectations come from exactly the saved file.
    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": expected_cases(tokenizer, strings)}, f, ensure_ascii=False)


CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
          "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def make_llama3(strings, rng):
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = train_byte_level(byte_level_after([LLAMA3_REGEX]), 640, specials)
    state = json.loads(tokenizer.to_str())
    state["model"]["ignore_merges"] = True
    tokenizer = Tokenizer.from_str(json.dumps(state))
    tokenizer.add_tokens([AddedToken("<tool>", special=False, normalized=False),
                          AddedToken("</tool>", special=False, normalized=False, lstrip=True, rstrip=True)])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", tokenizer.token_to_id("<|begin_of_text|>"))])
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "chat_template": CHATML}
    write("bytelevel-llama3", tokenizer, config, strings, rng)


def make_qwen2(strings, rng):
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = train_byte_level(byte_level_after([QWEN2_REGEX]), 600, specials)
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    config = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
              "chat_template": [{"name": "default", "template": CHATML}, {"name": "tool_use", "template": "x"}]}
    write("bytelevel-qwen2", tokenizer, config, strings, rng)


def make_gpt2(strings, rng):
    tokenizer = train_byte_level(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), 560,
                                 ["<|endoftext|>"])
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    write("bytelevel-gpt2", tokenizer, None, strings, rng)


def make_deepseek(strings, rng):
    specials = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"]
    tokenizer = train_byte_level(byte_level_after(DEEPSEEK_LLM), 600, specials)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<｜begin▁of▁sentence｜> $A", special_tokens=[("<｜begin▁of▁sentence｜>", 0)])
    config = {"bos_token": {"content": "<｜begin▁of▁sentence｜>", "lstrip": False},
              "eos_token": {"content": "<｜end▁of▁sentence｜>", "lstrip": False}, "add_bos_token": True,
              "add_eos_token": False}
    write("bytelevel-deepseek", tokenizer, config, strings, rng)


def make_sentencepiece(strings, rng):
    # Train on characters with the Metaspace convention, then lay the vocabulary out as Llama-2's
    # tokenizer.json does: <unk>, <s>, </s>, the 256 byte tokens, then the learned pieces.
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=700, show_progress=False, limit_alphabet=120, special_tokens=["<unk>"])
    base.train_from_iterator(TRAIN_TEXT, trainer=trainer)
    state = json.loads(base.to_str())
    learned = sorted(state["model"]["vocab"].items(), key=lambda item: item[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for byte in range(256):
        vocab["<0x%02X>" % byte] = len(vocab)
    for token, _ in learned:
        if token not in vocab:
            vocab[token] = len(vocab)
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in state["model"]["merges"]]

    def build(variant):
        tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
        if variant == "llama2":
            tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
            tokenizer.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                                   decoders.Strip(" ", 1, 0)])
        else:
            tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
            tokenizer.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first"),
                                                   decoders.ByteFallback(), decoders.Fuse()])
        tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
        return tokenizer

    write("sentencepiece-llama2", build("llama2"), {"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True},
          strings, rng)
    write("sentencepiece-metaspace", build("metaspace"), None, strings, rng)


def main():
    rng = random.Random(20261123)
    os.makedirs(ROOT, exist_ok=True)
    with open(os.path.join(ROOT, "unicode_classes.json"), "w") as f:
        json.dump({"classes": unicode_classes()}, f, separators=(",", ":"))
    with open(os.path.join(ROOT, "pretokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"configs": pretokenizer_cases(rng)}, f, ensure_ascii=False, separators=(",", ":"))
    strings = TEST_STRINGS + random_strings(rng, 15)
    make_llama3(strings, rng)
    make_qwen2(strings, rng)
    make_gpt2(strings, rng)
    make_deepseek(strings, rng)
    make_sentencepiece(strings, rng)
    total = 0
    for folder, _, files in os.walk(ROOT):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    print(f"wrote {ROOT} ({total / 1024:.0f} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
