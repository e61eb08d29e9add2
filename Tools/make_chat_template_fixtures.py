#!/usr/bin/env python3
"""Builds Tests/ModelTests/Fixtures/chat_templates.json: conversations rendered by the real Jinja
chat templates through Hugging Face transformers' chat-template renderer (the engine behind
`tokenizer.apply_chat_template`), so ChatTemplateTests can check Tailor's renderers byte for byte.

Run:  ~/.cache/tailor/pyenv/bin/python Tools/make_chat_template_fixtures.py [path/to/qwen.gguf]

Templates:
- Qwen2.5-Coder-0.5B-Instruct: read from the GGUF's `tokenizer.chat_template`
  (default ~/.cache/tailor/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf, see /work/shared/REFERENCE.md).
- plain ChatML (no default system prompt), Llama-2-chat (meta-llama/Llama-2-7b-chat-hf) and
  Llama-3-instruct (meta-llama/Meta-Llama-3-8B-Instruct) as published in those models'
  tokenizer_config.json.
- Alpaca has no Jinja template; it is rendered here from the Alpaca project's prompt strings.
"""
import json
import os
import sys

import gguf
from transformers.utils.chat_template_utils import render_jinja_template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures", "chat_templates.json")
DEFAULT_GGUF = os.path.expanduser("~/.cache/tailor/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

ALPACA_NO_INPUT = ("Below is an instruction that describes a task. "
                   "Write a response that appropriately completes the request.")
ALPACA_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input that provides "
                     "further context. Write a response that appropriately completes the request.")


def alpaca_prompt(instruction, inp):
    if inp:
        return f"{ALPACA_WITH_INPUT}\n\n### Instruction:\n{instruction}\n\n### Input:\n{inp}\n\n### Response:\n"
    return f"{ALPACA_NO_INPUT}\n\n### Instruction:\n{instruction}\n\n### Response:\n"


def alpaca_render(messages, add_generation_prompt):
    """Alpaca layout for conversations (Tailor's documented multi-turn extension)."""
    rest = messages
    if messages[0]["role"] == "system":
        out = messages[0]["content"] + "\n\n"
        rest = messages[1:]
    else:
        out = ALPACA_NO_INPUT + "\n\n"
    for i, m in enumerate(rest):
        if m["role"] == "assistant":
            last = i == len(rest) - 1 and not add_generation_prompt
            out += "### Response:\n" + m["content"] + ("" if last else "\n\n")
        else:
            out += "### Instruction:\n" + m["content"] + "\n\n"
    if add_generation_prompt:
        out += "### Response:\n"
    return out


def read_qwen_template(path):
    reader = gguf.GGUFReader(path)
    field = reader.fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def m(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = [
    ("single user turn", [m("user", "Hello")]),
    ("system user assistant", [m("system", "You are terse."), m("user", "Hi"), m("assistant", "Hello!")]),
    ("multi-turn", [m("system", "Answer in one word."), m("user", "Capital of France?"), m("assistant", "Paris"),
                    m("user", "And of Italy?")]),
    ("two exchanges, no system", [m("user", "2+2?"), m("assistant", "4"), m("user", "3+3?"), m("assistant", "6")]),
    ("whitespace to trim", [m("user", "  spaced out \n"), m("assistant", "\tanswer with tabs\t\n")]),
    ("unicode", [m("user", "Ünïcödé — 日本語 🙂"), m("assistant", "ok ✓")]),
    ("code answer", [m("user", "Write f."), m("assistant", "def f():\n    return 1\n")]),
    ("empty contents", [m("user", ""), m("assistant", "")]),
    ("python whitespace", [m("system", "\u3000sys\u00a0"), m("user", "\x1cfoo\x1f"), m("assistant", "\u2003bar\u2028")]),
    ("sku task", [m("user", "Write the inventory code for: a large blue wool sweater"), m("assistant", "SWT-WOL-BLU-L")]),
]
# ChatML-family only (Llama-2 forbids these orders).
CHATML_ONLY = [
    ("late system message", [m("user", "Hi"), m("assistant", "Yo"), m("system", "Be formal."), m("user", "Hello")]),
    ("assistant first", [m("assistant", "Welcome!"), m("user", "Thanks")]),
]

TEMPLATES = {
    "qwen2.5": None,  # filled from the GGUF
    "chatml": CHATML,
    "llama2": LLAMA2,
    "llama3": LLAMA3,
}
SPECIAL = {
    "qwen2.5": {"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"},
    "chatml": {"bos_token": "", "eos_token": "<|im_end|>"},
    "llama2": {"bos_token": "<s>", "eos_token": "</s>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
}


def main():
    gguf_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_GGUF
    if not os.path.exists(gguf_path):
        sys.exit(f"missing {gguf_path}: assemble the Qwen2.5-Coder GGUF as /work/shared/REFERENCE.md describes")
    TEMPLATES["qwen2.5"] = read_qwen_template(gguf_path)

    cases = []
    for name, jinja in TEMPLATES.items():
        convs = CONVERSATIONS + (CHATML_ONLY if name in ("qwen2.5", "chatml", "llama3") else [])
        for title, messages in convs:
            for gen in (False, True):
                rendered = render_jinja_template(
                    conversations=[messages], chat_template=jinja, add_generation_prompt=gen, **SPECIAL[name])
                text = rendered[0][0] if isinstance(rendered, tuple) else rendered[0]
                cases.append({"template": name, "title": title, "messages": messages,
                              "add_generation_prompt": gen, "expected": text})
    for title, messages in CONVERSATIONS + CHATML_ONLY:
        for gen in (False, True):
            cases.append({"template": "alpaca", "title": title, "messages": messages,
                          "add_generation_prompt": gen, "expected": alpaca_render(messages, gen)})
    alpaca_prompts = [
        {"instruction": "Summarise the text.", "input": "The cat sat on the mat.",
         "expected": alpaca_prompt("Summarise the text.", "The cat sat on the mat.")},
        {"instruction": "Write the inventory code for: a small red silk scarf", "input": "",
         "expected": alpaca_prompt("Write the inventory code for: a small red silk scarf", "")},
    ]
    # A template Tailor should not recognise.
    unknown = "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}"
    fixture = {
        "generator": "Tools/make_chat_template_fixtures.py (transformers render_jinja_template)",
        "templates": TEMPLATES,
        "special_tokens": SPECIAL,
        "unknown_template": unknown,
        "cases": cases,
        "alpaca_prompts": alpaca_prompts,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
