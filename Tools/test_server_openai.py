#!/usr/bin/env python3
"""End-to-end test of `tailor serve` with the official `openai` Python client.

Starts `tailor serve` on 127.0.0.1 (a free port) with the tiny Qwen2 fixture and its LoRA adapter
(Tests/GenerateTests/Fixtures/cli), then checks completions, chat, streaming (SSE chunks ending in
[DONE]), n/seed, adapter selection by `model`, OpenAI error objects (400s and a 429 from a second
server with no queue room), /health, /metrics and that a dropped stream frees its batch row.

Run after `swift build -c release` (needs the `openai` package):

    ~/.cache/tailor/pyenv/bin/python Tools/test_server_openai.py [--tailor .build/release/tailor] [--model DIR|GGUF]

Exits non-zero on the first failed check. Loopback only; the servers are stopped at the end.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/GenerateTests/Fixtures/cli"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `tailor serve` child process on loopback."""

    def __init__(self, tailor, model, extra=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [tailor, "serve", "--model", model, "--host", "127.0.0.1", "--port", str(self.port),
                "--model-name", "tiny", "--log-level", "warning", *extra]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"tailor serve exited: {self.process.stderr.read()}")
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("tailor serve did not become healthy")

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.status, r.read().decode()

    def client(self):
        return openai.OpenAI(base_url=self.base + "/v1", api_key="unused", max_retries=0, timeout=120)

    def metric(self, name):
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


CHECKS = 0


def check(condition, message):
    global CHECKS
    CHECKS += 1
    if not condition:
        raise SystemExit(f"FAILED: {message}")


def expect_error(call, status, code=None, param=None):
    try:
        call()
    except openai.APIStatusError as e:
        check(e.status_code == status, f"status {e.status_code} != {status}: {e}")
        body = e.body if isinstance(e.body, dict) else {}
        err = body.get("error", body)  # the client may hand over the inner object
        check({"message", "type", "param", "code"} <= set(err), f"OpenAI error object: {e.body}")
        if code:
            check(err.get("code") == code, f"code {err.get('code')} != {code}")
        if param:
            check(err.get("param") == param, f"param {err.get('param')} != {param}")
        return
    check(False, f"expected HTTP {status}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tailor", default=str(ROOT / ".build/release/tailor"))
    parser.add_argument("--model", default=str(FIXTURES / "tiny-qwen2"))
    args = parser.parse_args()
    os.environ["NO_PROXY"] = "127.0.0.1"

    server = Server(args.tailor, args.model, ["--adapter", f"tuned={FIXTURES / 'adapter'}", "--max-batch-size", "4"])
    try:
        client = server.client()
        models = [m.id for m in client.models.list().data]
        check(models == ["tiny", "tuned"], f"models {models}")

        # Completions: greedy, usage, and the same text when streamed.
        whole = client.completions.create(model="tiny", prompt="def add(a, b):", max_tokens=12, temperature=0)
        check(whole.object == "text_completion", whole.object)
        text = whole.choices[0].text
        check(whole.usage.completion_tokens >= 1 and whole.usage.total_tokens ==
              whole.usage.prompt_tokens + whole.usage.completion_tokens, f"usage {whole.usage}")
        check(whole.choices[0].finish_reason in ("length", "stop"), whole.choices[0].finish_reason)
        pieces, reasons = [], []
        for chunk in client.completions.create(model="tiny", prompt="def add(a, b):", max_tokens=12, temperature=0,
                                               stream=True):
            for c in chunk.choices:
                pieces.append(c.text)
                if c.finish_reason:
                    reasons.append(c.finish_reason)
        check("".join(pieces) == text, f"streamed {''.join(pieces)!r} != {text!r}")
        check(reasons == [whole.choices[0].finish_reason], f"finish reasons {reasons}")

        # n and seed: reproducible, choices indexed 0..n-1; stop strings are not emitted.
        a = client.completions.create(model="tiny", prompt="hello", max_tokens=10, temperature=0.9, seed=3, n=2)
        b = client.completions.create(model="tiny", prompt="hello", max_tokens=10, temperature=0.9, seed=3, n=2)
        check([c.text for c in a.choices] == [c.text for c in b.choices], "same seed, same choices")
        check(sorted(c.index for c in a.choices) == [0, 1], "choice indices")
        if len(text) > 4:
            stop = text[2:4]
            stopped = client.completions.create(model="tiny", prompt="def add(a, b):", max_tokens=12, temperature=0,
                                                stop=[stop])
            check(stop not in stopped.choices[0].text and stopped.choices[0].finish_reason == "stop",
                  f"stop {stop!r}: {stopped.choices[0]}")

        # Chat, whole and streamed (the first delta carries the role).
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
        chat = client.chat.completions.create(model="tiny", messages=messages, max_tokens=10, temperature=0)
        check(chat.object == "chat.completion" and chat.choices[0].message.role == "assistant", str(chat))
        check(chat.usage.prompt_tokens > 0, "chat usage")
        deltas, roles = [], []
        stream = client.chat.completions.create(model="tiny", messages=messages, max_tokens=10, temperature=0,
                                                stream=True, stream_options={"include_usage": True})
        usage = None
        for chunk in stream:
            check(chunk.object == "chat.completion.chunk", chunk.object)
            usage = chunk.usage or usage
            for c in chunk.choices:
                deltas.append(c.delta.content or "")
                if c.delta.role:
                    roles.append(c.delta.role)
        check("".join(deltas) == (chat.choices[0].message.content or ""), "streamed chat text")
        check(roles == ["assistant"], f"roles {roles}")
        check(usage is not None and usage.completion_tokens == chat.usage.completion_tokens, f"stream usage {usage}")

        # Log-probabilities, parsed by the client's own types: legacy completions (logprobs: N) and chat
        # (logprobs + top_logprobs); values are ≤ 0, greedy tokens are the most probable, one entry per
        # generated token, and streamed chunks carry the same entries as the whole answer.
        lp = client.completions.create(model="tiny", prompt="def add(a, b):", max_tokens=8, temperature=0, logprobs=3)
        legacy = lp.choices[0].logprobs
        check(legacy is not None and len(legacy.tokens) == lp.usage.completion_tokens, f"legacy logprobs {legacy}")
        check(len(legacy.token_logprobs) == len(legacy.top_logprobs) == len(legacy.text_offset) == len(legacy.tokens),
              "legacy lists align")
        for value, top in zip(legacy.token_logprobs, legacy.top_logprobs):
            check(value <= 0 and 1 <= len(top) <= 4 and abs(max(top.values()) - value) < 1e-6,
                  f"greedy token is the best: {value} {top}")
        streamed = []
        for chunk in client.completions.create(model="tiny", prompt="def add(a, b):", max_tokens=8, temperature=0,
                                               logprobs=3, stream=True):
            for c in chunk.choices:
                if c.logprobs is not None:
                    streamed += c.logprobs.token_logprobs
        check(streamed == legacy.token_logprobs, f"streamed logprobs {streamed} != {legacy.token_logprobs}")
        lp_chat = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8, temperature=0,
                                                 logprobs=True, top_logprobs=4)
        content = lp_chat.choices[0].logprobs.content
        check(len(content) == lp_chat.usage.completion_tokens, f"chat logprobs {len(content)} tokens")
        for entry in content:
            values = [t.logprob for t in entry.top_logprobs]
            check(len(values) == 4 and values == sorted(values, reverse=True) and values[0] == entry.logprob,
                  f"chat top_logprobs {entry}")
            check(bytes(entry.bytes).decode("utf-8", "replace") == entry.token, f"chat bytes {entry}")
        plain = client.chat.completions.create(model="tiny", messages=messages, max_tokens=4, temperature=0)
        check(plain.choices[0].logprobs is None, "no logprobs unless asked")
        expect_error(lambda: client.completions.create(model="tiny", prompt="x", logprobs=6), 400, "invalid_value",
                     "logprobs")
        expect_error(lambda: client.chat.completions.create(model="tiny", messages=messages, logprobs=True,
                                                            top_logprobs=21), 400, "invalid_value", "top_logprobs")

        # The adapter by model name.
        tuned = client.completions.create(model="tuned", prompt="def add(a, b):", max_tokens=12, temperature=0)
        check(tuned.model == "tuned", tuned.model)

        # Errors: OpenAI's error object with status 400.
        expect_error(lambda: client.completions.create(model="nope", prompt="x"), 400, "model_not_found", "model")
        expect_error(lambda: client.completions.create(model="tiny", prompt="x", temperature=5), 400, "invalid_value",
                     "temperature")
        expect_error(lambda: client.completions.create(model="tiny", prompt="x", n=0), 400, param="n")
        expect_error(lambda: client.completions.create(model="tiny", prompt="a " * 5000), 400, "context_length_exceeded")
        expect_error(lambda: client.chat.completions.create(model="tiny", messages=[{"role": "wizard", "content": "x"}]),
                     400, param="messages")
        request = urllib.request.Request(server.base + "/v1/completions", data=b"{not json", method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=30)
            check(False, "malformed JSON accepted")
        except urllib.error.HTTPError as e:
            body = json.loads(e.read())
            check(e.code == 400 and body["error"]["code"] == "invalid_json", f"malformed JSON: {e.code} {body}")

        # A dropped stream frees its row at once.
        stream = client.completions.create(model="tiny", prompt="once upon a time", max_tokens=400, temperature=0.8,
                                           stream=True)
        for i, _ in enumerate(stream):
            if i == 2:
                break
        stream.close()
        deadline = time.time() + 20
        while time.time() < deadline and server.metric("tailor_running_sequences") != 0:
            time.sleep(0.05)
        check(server.metric("tailor_running_sequences") == 0, "the dropped stream's row is freed")

        status, health = server.get("/health")
        check(status == 200, "health")
        check(server.metric("tailor_generated_tokens_total") > 0, "generated tokens counted")
        check(server.metric("tailor_time_to_first_token_seconds_count") > 0, "TTFT recorded")
    finally:
        server.stop()

    # 429 when the queue has no room.
    busy = Server(args.tailor, args.model, ["--max-queue", "0"])
    try:
        expect_error(lambda: busy.client().completions.create(model="tiny", prompt="x"), 429, "rate_limit_exceeded")
    finally:
        busy.stop()
    print(f"ok: {CHECKS} checks passed")


if __name__ == "__main__":
    main()
