#!/usr/bin/env python3
"""Render the JSON results of `bench/bindings/run.sh` as a markdown report.

Usage: report.py DIR   (DIR holds rust.json, py-MODE.json, node-MODE.json,
machine.txt; MODE is inproc and/or child)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PY_GOAL = 2.0
NODE_GOAL = 1.0


def load(d: Path, name: str) -> dict | None:
    p = d / name
    return json.loads(p.read_text()) if p.exists() else None


def ms(x: float) -> str:
    return f"{x:.1f}"


def us(x: float) -> str:
    return f"{x:.0f}"


def main() -> None:
    d = Path(sys.argv[1])
    rust = load(d, "rust.json")
    modes = [m for m in ("inproc", "child") if (d / f"py-{m}.json").exists() or (d / f"node-{m}.json").exists()]
    out: list[str] = []
    w = out.append

    machine = (d / "machine.txt").read_text().strip().splitlines() if (d / "machine.txt").exists() else []
    w("### Setup (this run)")
    w("")
    for line in machine:
        w(f"- {line}")
    if rust:
        w(f"- Rust bench: {rust['mock']}")
    for m in modes:
        for lang in ("py", "node"):
            doc = load(d, f"{lang}-{m}.json")
            if doc:
                extra = f"; mock process threads {doc['mock_threads']}" if doc.get("mock_threads") else ""
                peak = doc.get("threads_peak") or doc["threads"]
                w(f"- {doc['bench']} (mock {m}): {doc['mock']}; bench process threads: peak during the batches {peak}, at the end {doc['threads']}{extra}")
    wires = {re.sub(r"email=[^&]*", "email=<email>", doc["wire"]) for doc in [rust, *[load(d, f"{lang}-{m}.json") for m in modes for lang in ("py", "node")]] if doc}
    w(f"- request every contender sends (from the mock's journal): `{' | '.join(sorted(wires))}`")
    w("")

    for m in modes:
        py, node = load(d, f"py-{m}.json"), load(d, f"node-{m}.json")
        title = "in-process mock" if m == "inproc" else "mock in a child process"
        size = (py or node or {}).get("results", {})
        size = next(iter(size.values()))["batch_size"] if size else "?"
        w(f"### {size} concurrent `validate` calls, {title}")
        w("")
        w("| contender | batch median | batch min | calls/s (median) | ratio | goal |")
        w("| --- | --- | --- | --- | --- | --- |")
        if py:
            r = py["results"]
            b = r["py_binding"]
            for k in ("py_binding", "py_httpx", "py_httpx_default_limits"):
                x = r[k]
                ratio = x["batch_p50_ms"] / b["batch_p50_ms"]
                goal = ""
                if k == "py_httpx":
                    goal = f"≥ {PY_GOAL:g}×: **{'met' if ratio >= PY_GOAL else 'missed'}**"
                rtext = "1 (baseline)" if k == "py_binding" else f"binding {ratio:.2f}× faster"
                w(f"| {x['label']} | {ms(x['batch_p50_ms'])} ms | {ms(x['batch_min_ms'])} ms | {x['batch_calls_per_s']:.0f} | {rtext} | {goal} |")
        if node:
            r = node["results"]
            b, f = r["node_binding"], r["node_fetch"]
            ratio = f["batch_p50_ms"] / b["batch_p50_ms"]
            w(f"| {b['label']} | {ms(b['batch_p50_ms'])} ms | {ms(b['batch_min_ms'])} ms | {b['batch_calls_per_s']:.0f} | 1 (baseline) | |")
            w(
                f"| {f['label']} | {ms(f['batch_p50_ms'])} ms | {ms(f['batch_min_ms'])} ms | {f['batch_calls_per_s']:.0f} "
                f"| binding {ratio:.2f}× faster | ≥ {NODE_GOAL:g}×: **{'met' if ratio >= NODE_GOAL else 'missed'}** |"
            )
        if rust and m == "inproc":
            for k in ("rust_sdk", "rust_ffi_facade", "rust_reqwest"):
                x = rust["results"][k]
                w(
                    f"| (reference) {x['label']} | {ms(x['batch_p50_ms'])} ms | {ms(x['batch_min_ms'])} ms "
                    f"| {x['batch_calls_per_s']:.0f} | {x['batch_vs_sdk']:.2f}× the SDK's time | |"
                )
        w("")

    py, node = load(d, "py-inproc.json"), load(d, "node-inproc.json")
    if rust:
        sdk = rust["results"]["rust_sdk"]["seq_p50_us"]
        w("### Per-call cost: one `validate` at a time, in-process mock")
        w("")
        w("| contender | median | mean | p99 | over the Rust SDK (median) |")
        w("| --- | --- | --- | --- | --- |")
        rows = [rust["results"][k] for k in ("rust_sdk", "rust_ffi_facade", "rust_reqwest")]
        if py:
            rows += [py["results"]["py_binding"], py["results"]["py_httpx"]]
        if node:
            rows += [node["results"]["node_binding"], node["results"]["node_fetch"]]
        for x in rows:
            over = x["seq_p50_us"] - sdk
            over_text = "—" if x is rows[0] else f"{over:+.0f} µs ({x['seq_p50_us'] / sdk:.2f}×)"
            w(f"| {x['label']} | {us(x['seq_p50_us'])} µs | {us(x['seq_mean_us'])} µs | {us(x['seq_p99_us'])} µs | {over_text} |")
        w("")
        noio = [rust["results"][k] for k in ("rust_sdk_noio", "rust_ffi_facade_noio") if k in rust["results"]]
        if py and "py_binding_noio" in py["results"]:
            noio.append(py["results"]["py_binding_noio"])
        if node and "node_binding_noio" in node["results"]:
            noio.append(node["results"]["node_binding_noio"])
        if noio:
            w("Call machinery alone: `validate` with an empty session token, refused by the SDK's input")
            w("check before any request (the bindings add raising/rejecting their error type):")
            w("")
            w("| contender | median | mean | p99 |")
            w("| --- | --- | --- | --- |")
            for x in noio:
                w(f"| {x['label']} | {x['seq_p50_us']:.2f} µs | {x['seq_mean_us']:.2f} µs | {x['seq_p99_us']:.2f} µs |")
            w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
