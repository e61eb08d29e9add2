#!/usr/bin/env python3
"""A small, bounded load generator for `tailor serve` (loopback only).

C concurrent clients each send streaming /v1/completions requests one after another until each has
sent R requests or the time limit passes. Reports per concurrency: requests answered / refused (429)
/ failed, aggregate generated tokens per second, p50/p99 time to first token and p50/p99 inter-token
latency (client side, from SSE chunk arrival times).

    python3 Tools/load_test_server.py --port 8080 --concurrency 1 4 8 --requests 4 --max-tokens 64

Start the server first, e.g. `.build/release/tailor serve --port 8080`. Uses only the standard
library; refuses hosts other than 127.0.0.1/localhost.
"""
import argparse
import http.client
import json
import statistics
import threading
import time


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def one_request(host, port, prompt, max_tokens, timeout):
    """Returns (status, generated chunks, ttft seconds, [inter-token gaps])."""
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True})
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    start = time.perf_counter()
    conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        response.read()
        conn.close()
        return response.status, 0, None, []
    tokens, ttft, gaps, last = 0, None, [], None
    buffer = b""
    while True:
        chunk = response.read1(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            data = event[len(b"data: "):]
            if data == b"[DONE]":
                continue
            payload = json.loads(data)
            if "error" in payload:
                conn.close()
                return 500, tokens, ttft, gaps
            now = time.perf_counter()
            for choice in payload.get("choices", []):
                if choice.get("finish_reason") is None:  # one chunk per token carrying text
                    tokens += 1
                    if ttft is None:
                        ttft = now - start
                    elif last is not None:
                        gaps.append(now - last)
                    last = now
    conn.close()
    return 200, tokens, ttft, gaps


def run_level(host, port, clients, requests, max_tokens, time_limit, prompt):
    results = []
    lock = threading.Lock()
    deadline = time.perf_counter() + time_limit

    def worker(i):
        for r in range(requests):
            if time.perf_counter() > deadline:
                return
            try:
                outcome = one_request(host, port, f"{prompt} #{i}.{r}", max_tokens, timeout=time_limit)
            except OSError as e:
                outcome = (-1, 0, None, [])
            with lock:
                results.append(outcome)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    ok = [r for r in results if r[0] == 200]
    tokens = sum(r[1] for r in ok)
    ttfts = [r[2] for r in ok if r[2] is not None]
    gaps = [g for r in ok for g in r[3]]
    return {
        "clients": clients, "answered": len(ok), "refused_429": sum(r[0] == 429 for r in results),
        "failed": sum(r[0] not in (200, 429) for r in results), "seconds": round(elapsed, 2),
        "tokens": tokens, "tokens_per_s": round(tokens / elapsed, 2) if elapsed > 0 else 0,
        "ttft_p50_ms": round(1000 * percentile(ttfts, 50), 1), "ttft_p99_ms": round(1000 * percentile(ttfts, 99), 1),
        "itl_p50_ms": round(1000 * percentile(gaps, 50), 1), "itl_p99_ms": round(1000 * percentile(gaps, 99), 1),
        "itl_mean_ms": round(1000 * statistics.fmean(gaps), 1) if gaps else float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=3, help="requests per client (at most 50)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per concurrency level (at most 900)")
    parser.add_argument("--prompt", default="Write a Python function that checks whether a number is prime.")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost"):
        raise SystemExit("loopback only")
    args.requests = min(args.requests, 50)
    args.time_limit = min(args.time_limit, 900)
    for c in args.concurrency:
        print(json.dumps(run_level(args.host, args.port, min(c, 64), args.requests, args.max_tokens, args.time_limit,
                                   args.prompt)), flush=True)


if __name__ == "__main__":
    main()
