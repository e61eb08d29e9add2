#!/usr/bin/env python3
"""Side-by-side table of benchmark JSON lines from `tailor-bench` and the peers.

Reads JSON lines (one object per line, other lines ignored) from the files given, or stdin, and prints a
Markdown table: one row per piece of work, one column per implementation (tokens/s, peak RSS), and the
ratio Tailor / best peer. Lines without "impl" are Tailor's. When an implementation has several lines for
the same work, the best tokens/s is kept.

Run: cat tailor.jsonl peers.jsonl | python3 Tools/bench_compare.py
     python3 Tools/bench_compare.py tailor.jsonl peers.jsonl
(plain python3; no third-party packages)
"""
import json
import sys

TAILOR = "tailor"


def work_key(r: dict) -> tuple:
    """What makes two lines the same piece of work."""
    bench = r.get("bench", "?")
    model = str(r.get("model", "?")).removesuffix("-random")
    if bench == "train":
        return (bench, model, f"{r.get('method', '')} r={r.get('rank')} {r.get('targets', '')}",
                f"seq {r.get('seq')} x batch {r.get('batch')}")
    if bench == "prefill":
        return (bench, model, "", f"{r.get('tokens')} tokens x batch {r.get('batch', 1)}")
    if bench == "decode":
        return (bench, model, "", f"batch {r.get('batch', 1)}")
    return (bench, model, "", "")


def main() -> None:
    sources = [open(p) for p in sys.argv[1:]] or [sys.stdin]
    table: dict[tuple, dict[str, dict]] = {}
    impls: list[str] = []
    for source in sources:
        for line in source:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "tokens_per_s" not in r and "seconds" not in r:
                continue
            impl = r.get("impl", TAILOR)
            if impl not in impls:
                impls.append(impl)
            row = table.setdefault(work_key(r), {})
            old = row.get(impl)
            if old is None or r.get("tokens_per_s", 0) > old.get("tokens_per_s", 0):
                row[impl] = r
    if not table:
        sys.exit("bench_compare: no benchmark lines found")
    impls.sort(key=lambda i: (i != TAILOR, i))

    def cell(r):
        if r is None:
            return "–"
        value = f"{r['tokens_per_s']} tok/s" if "tokens_per_s" in r else f"{r['seconds']} s"
        return value + (f", {r['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in r else "")

    print("| work | model | setting | " + " | ".join(impls) + " | Tailor / best peer |")
    print("|---|---|---|" + "---|" * len(impls) + "---|")
    for key in sorted(table):
        row = table[key]
        ratio = "–"
        mine = row.get(TAILOR)
        peers = [r for i, r in row.items() if i != TAILOR]
        if mine and peers:
            if "tokens_per_s" in mine and all("tokens_per_s" in p for p in peers):
                ratio = f"{mine['tokens_per_s'] / max(p['tokens_per_s'] for p in peers):.2f}×"
            elif "seconds" in mine and all("seconds" in p for p in peers):  # time: smaller is better
                ratio = f"{min(p['seconds'] for p in peers) / mine['seconds']:.2f}× faster"
        bench, model, what, setting = key
        print(f"| {bench} {what}".rstrip() + f" | {model} | {setting} | "
              + " | ".join(cell(row.get(i)) for i in impls) + f" | {ratio} |")


if __name__ == "__main__":
    main()
