#!/usr/bin/env python3
"""The Python binding's `validate` against `httpx.AsyncClient`, side by side.

Run by `bench/bindings/run.sh` (which builds the release wheel into
`target/bench-py-venv` with httpx pinned); standalone:

    target/bench-py-venv/bin/python bench/bindings/py_validate.py [--json OUT]

One AuthFlow mock (`authflow.MockServer`), one user signed up and logged in;
then, against that mock:

- concurrent: R rounds of B (1,000) concurrent `validate` calls with
  `asyncio.gather`, through the binding (`await client.validate(session)`)
  and through one `httpx.AsyncClient` (`GET /auth/validate` with the query
  the SDK sends, built once; every response's JSON body parsed and checked
  to say `{"valid": true}`), order rotated every round;
- sequential: S calls one at a time, each timed.

The binding's reqwest pool has no connection cap (it opens a connection
whenever none is idle and keeps them all idle for 90 s), so the main httpx
contender gets `httpx.Limits(max_connections=B, max_keepalive_connections=B,
keepalive_expiry=90)`; httpx with its default limits (100 connections, 20
kept alive) is measured too, for reference. Both httpx clients get a 60 s
timeout (the default 5 s pool timeout trips while 1,000 requests queue for
100 connections).

`--mock inproc` (default, as the issue asks) starts the mock in this
process: its axum server then runs on the binding's tokio runtime (the
pyo3-async-runtimes default: one worker thread per core) next to the
binding's client. `--mock child` starts it in a child process instead
(`--serve-mock`), so that this process does client work only.

Every secret (API key, password, session token) stays in memory or on the
pipe to the child; nothing prints one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import urlencode

import httpx

import authflow
from authflow import AuthFlowClient, MockServer, Session

EMAIL = "bench-py@example.com"
PASSWORD = "BenchPass123!"
ROLE = "member"


def thread_names() -> dict[str, int]:
    """Threads of this process by name (Linux: /proc/self/task/*/comm)."""
    names: Counter[str] = Counter()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as f:
                names[f.read().strip()] += 1
    except OSError:
        pass
    return dict(sorted(names.items()))


def serve_mock() -> None:
    """Child mode: start a mock, hand its address and key to the parent on
    stdout (a pipe), serve until stdin closes."""
    mock = MockServer.start_blocking()
    info = {
        "base_url": mock.base_url,
        "api_key": mock.api_key.expose(),
        "threads": thread_names(),
    }
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    sys.stdin.read()
    mock.shutdown_blocking()


class ChildMock:
    """A mock served by a child process (`--serve-mock`)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-mock"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.base_url: str = info["base_url"]
        self.api_key: str = info["api_key"]
        self.threads: dict[str, int] = info["threads"]

    async def shutdown(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


async def binding_batch(client: AuthFlowClient, session: Session, n: int) -> float:
    t = time.perf_counter()
    results = await asyncio.gather(*[client.validate(session) for _ in range(n)])
    took = time.perf_counter() - t
    if not all(r is True for r in results):
        raise SystemExit("binding: a validate call did not say valid")
    return took


async def httpx_one(hc: httpx.AsyncClient, url: str) -> bool:
    r = await hc.get(url)
    return r.status_code == 200 and r.json().get("valid") is True


async def httpx_batch(hc: httpx.AsyncClient, url: str, n: int) -> float:
    t = time.perf_counter()
    results = await asyncio.gather(*[httpx_one(hc, url) for _ in range(n)])
    took = time.perf_counter() - t
    if not all(results):
        raise SystemExit("httpx: a validate call did not say valid")
    return took


async def sequential(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        ok = await call()
        samples.append((time.perf_counter_ns() - t) / 1000.0)
        if ok is not True:
            raise SystemExit("sequential validate did not say valid")
    return samples


def batch_summary(samples: list[float], n: int) -> dict:
    med = statistics.median(samples)
    return {
        "batch_size": n,
        "batch_rounds": len(samples),
        "batch_p50_ms": med * 1e3,
        "batch_min_ms": min(samples) * 1e3,
        "batch_max_ms": max(samples) * 1e3,
        "batch_calls_per_s": n / med,
    }


def seq_summary(samples: list[float]) -> dict:
    s = sorted(samples)
    return {
        "seq_calls": len(s),
        "seq_p50_us": statistics.median(s),
        "seq_mean_us": statistics.fmean(s),
        "seq_p99_us": s[min(len(s) - 1, int(len(s) * 0.99))],
    }


async def journal_shapes(hc: httpx.AsyncClient, base_url: str) -> list[str]:
    """The journaled `validate` requests: method, path, query (secrets redacted)."""
    r = await hc.get(f"{base_url}/__mock/requests")
    r.raise_for_status()
    entries = r.json()
    if isinstance(entries, dict):
        entries = entries.get("requests", entries.get("entries", []))
    out = []
    for e in entries:
        if e.get("route") == "validate":
            q = "&".join(f"{k}={v}" for k, v in e["query"])
            out.append(f"{e['method']} {e['path']}?{q}")
    return out


async def main(args: argparse.Namespace) -> dict:
    n, rounds, seq_n = args.batch, args.rounds, args.seq
    if args.mock == "child":
        mock = ChildMock()
        base_url, api_key, mock_threads = mock.base_url, mock.api_key, mock.threads
        mock_desc = "child process (authflow.MockServer.start_blocking), its own tokio runtime"
    else:
        mock = await MockServer.start()
        base_url, api_key, mock_threads = mock.base_url, mock.api_key, None
        mock_desc = "in-process (authflow.MockServer.start), on the binding's tokio runtime"
    client = AuthFlowClient(api_key, base_url)
    await client.sign_up(EMAIL, PASSWORD, "Bench User", ROLE)
    session = await client.login(EMAIL, PASSWORD, ROLE)
    assert isinstance(session, Session), "no 2FA in this bench"
    # The query the SDK sends (serde_json's ordered map: email, sessionToken),
    # encoded once; checked against the mock's journal below.
    query = urlencode({"email": session.email, "sessionToken": session.token.expose()})
    url = f"{base_url}/auth/validate?{query}"

    matched = httpx.Limits(max_connections=n, max_keepalive_connections=n, keepalive_expiry=90)
    # httpx's 5 s default pool timeout trips when 1,000 requests queue for
    # 100 connections; no timeout is what the comparison is about.
    timeout = httpx.Timeout(60.0)
    hc = httpx.AsyncClient(limits=matched, timeout=timeout)
    hc_default = httpx.AsyncClient(timeout=timeout)
    async with hc, hc_default:
        # Same request on the wire?
        assert await client.validate(session) is True
        assert await httpx_one(hc, url)
        shapes = await journal_shapes(hc, base_url)
        if len(shapes) < 2 or shapes[-1] != shapes[-2]:
            raise SystemExit(f"binding and httpx send different validate requests: {shapes[-2:]}")
        wire = shapes[-1]

        contenders = {
            "py_binding": lambda: binding_batch(client, session, n),
            "py_httpx": lambda: httpx_batch(hc, url, n),
            "py_httpx_default_limits": lambda: httpx_batch(hc_default, url, n),
        }
        # Warm-up: connections, caches.
        for run in contenders.values():
            await run()
        batches: dict[str, list[float]] = {k: [] for k in contenders}
        peak_threads: dict[str, int] = {}
        keys = list(contenders)
        for r in range(rounds):
            for i in range(len(keys)):
                k = keys[(i + r) % len(keys)]
                batches[k].append(await contenders[k]())
                print(f"  round {r + 1} {k}: {batches[k][-1] * 1e3:.1f} ms", file=sys.stderr)
                # Idle blocking-pool threads linger 10 s: sample the peak here.
                now = thread_names()
                if sum(now.values()) > sum(peak_threads.values()):
                    peak_threads = now

        # No I/O: the SDK's input check refuses an empty token before any
        # request, so this is the binding's call machinery (future, tokio
        # task, GIL, event-loop wake-up) plus raising AuthflowError.
        empty = Session("", session.email)

        async def refused() -> bool:
            try:
                await client.validate(empty)
            except authflow.AuthflowError as e:
                return e.code == "invalid_input"
            return False

        seq_calls = {
            "py_binding": lambda: client.validate(session),
            "py_httpx": lambda: httpx_one(hc, url),
            "py_binding_noio": refused,
        }
        for call in seq_calls.values():
            await sequential(call, 200)
        seqs: dict[str, list[float]] = {k: [] for k in seq_calls}
        blocks = 5
        for b in range(blocks):
            for i, k in enumerate(seq_calls):
                kk = list(seq_calls)[(i + b) % len(seq_calls)]
                seqs[kk].extend(await sequential(seq_calls[kk], -(-seq_n // blocks)))
        threads = thread_names()
    await mock.shutdown()

    results = {}
    labels = {
        "py_binding": "Python binding AuthFlowClient.validate",
        "py_httpx": f"httpx.AsyncClient (max_connections={n}, keep-alive {n})",
        "py_httpx_default_limits": "httpx.AsyncClient (default limits: 100 / 20 keep-alive)",
    }
    for k in contenders:
        results[k] = {"label": labels[k], **batch_summary(batches[k], n)}
        if k in seqs:
            results[k].update(seq_summary(seqs[k]))
    results["py_binding_noio"] = {
        "label": "Python binding validate, refused before I/O (raises AuthflowError)",
        **seq_summary(seqs["py_binding_noio"]),
    }
    return {
        "bench": "py_validate",
        "python": sys.version.split()[0],
        "httpx": httpx.__version__,
        "authflow_module": authflow._native.__file__,
        "cores": os.cpu_count(),
        "mock": mock_desc,
        "wire": wire,
        "threads": threads,
        "threads_peak": peak_threads,
        "mock_threads": mock_threads,
        "results": results,
    }


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=1000, help="concurrent calls per batch (1000)")
    p.add_argument("--rounds", type=int, default=10, help="measured batches per contender (10)")
    p.add_argument("--seq", type=int, default=2000, help="sequential calls per contender (2000)")
    p.add_argument("--mock", choices=["inproc", "child"], default="inproc")
    p.add_argument("--json", help="write the results there as JSON")
    p.add_argument("--serve-mock", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_mock:
        serve_mock()
        return
    doc = asyncio.run(main(args))
    print(f"py_validate: mock {doc['mock']}; threads {doc['threads']}")
    print(f"validate request (both): {doc['wire']}")
    for r in doc["results"].values():
        line = f"{r['label']:<60}"
        if "batch_p50_ms" in r:
            line += (
                f" batch p50 {r['batch_p50_ms']:8.1f} ms  min {r['batch_min_ms']:8.1f} ms"
                f"  {r['batch_calls_per_s']:8.0f} calls/s"
            )
        if "seq_p50_us" in r:
            line += f"  seq p50 {r['seq_p50_us']:7.1f} µs mean {r['seq_mean_us']:7.1f} µs"
        print(line)
    b, h = doc["results"]["py_binding"], doc["results"]["py_httpx"]
    print(f"binding vs httpx (batch p50): {h['batch_p50_ms'] / b['batch_p50_ms']:.2f}x faster")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    cli()
