#!/usr/bin/env bash
# Binding benchmarks, side by side in one run:
#
#   - Python binding vs httpx.AsyncClient: 1,000 concurrent `validate` calls
#     (bench/bindings/py_validate.py);
#   - Node binding vs fetch (undici): the same (bench/bindings/node_validate.mjs);
#   - per-call cost of one sequential `validate`: both bindings, httpx, fetch,
#     the Rust SDK, the FFI facade called from Rust and raw reqwest
#     (bench/ffi_overhead.rs);
#
# all against the in-process AuthFlow mock; then the same Python and Node
# comparisons with the mock in a child process, to show how much sharing the
# process with the mock weighs. Prints a markdown report (also written to
# target/bench-bindings/report.md, with the raw JSON next to it).
#
# Builds release artefacts of its own, leaving the test builds alone:
#   - the Python wheel (maturin build --release) into the venv
#     target/bench-py-venv, with httpx pinned;
#   - the Node addon (napi build --release) into target/bench-node, loaded
#     through NAPI_RS_NATIVE_LIBRARY_PATH by the committed bindings/node/index.js
#     (bindings/node/index.d.ts and native.js are checked and restored if the
#     build touched them).
#
# Environment: PYTHON (interpreter for the venv, default python3), ROUNDS
# (batches per contender, default 10), BATCH (calls per batch, default 1000),
# SEQ (sequential calls per contender, default 2000), SKIP_BUILD=1 (reuse the
# artefacts of an earlier run), MOCK_MODES (default "inproc child").
# Needs Rust, Python >= 3.11 with pip, Node >= 20 with npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

PY="${PYTHON:-python3}"
VENV="$ROOT/target/bench-py-venv"
WHEELS="$ROOT/target/bench-py-wheels"
NODE_OUT="$ROOT/target/bench-node"
OUT="$ROOT/target/bench-bindings"
ROUNDS="${ROUNDS:-10}"
BATCH="${BATCH:-1000}"
SEQ="${SEQ:-2000}"
MOCK_MODES="${MOCK_MODES:-inproc child}"

mkdir -p "$OUT"
rm -f "$OUT"/*.json

# 1,000 client connections and the mock's 1,000 server ends share one process.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -ge 8192 ]; then
    ulimit -n 8192
else
    ulimit -n "$hard"
fi

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "uptime: $(uptime)"
    echo "cores: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || echo unknown)"
    echo "rustc: $(rustc --version)"
    echo "python: $("$PY" --version 2>&1)"
    echo "node: $(node --version)"
    echo "rounds: $ROUNDS, batch: $BATCH, sequential calls: $SEQ"
    echo "open files limit: $(ulimit -n)"
} | tee "$OUT/machine.txt"

# ------------------------------------------------------------------ build
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== building the Python wheel (release) into $VENV" >&2
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        maturin==1.16.0 httpx==0.28.1
    rm -rf "$WHEELS"
    "$VENV/bin/maturin" build --release --locked --quiet \
        --manifest-path bindings/python/Cargo.toml \
        --interpreter "$VENV/bin/python" \
        --out "$WHEELS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --force-reinstall --no-deps "$WHEELS"/authflow-*.whl

    echo "== building the Node addon (release) into $NODE_OUT" >&2
    cd "$ROOT/bindings/node"
    if [ ! -x node_modules/.bin/napi ]; then
        npm ci --no-audit --no-fund --loglevel=error
    fi
    SNAP="$(mktemp -d)"
    for f in index.d.ts native.js; do
        [ -f "$f" ] && cp "$f" "$SNAP/$f"
    done
    mkdir -p "$NODE_OUT"
    build_rc=0
    node_modules/.bin/napi build --platform --release \
        --output-dir "$NODE_OUT" --js native.js --dts index.d.ts -- --locked || build_rc=$?
    # The output directory gets the generated files; should the CLI still
    # have written them into the package, put the previous ones back (only
    # when the package's file is exactly what this build generated, so a
    # concurrent edit of the binding is never undone).
    for f in index.d.ts native.js; do
        if [ -f "$SNAP/$f" ] && ! cmp -s "$f" "$SNAP/$f" && cmp -s "$f" "$NODE_OUT/$f"; then
            echo "run.sh: napi build rewrote bindings/node/$f; restoring it" >&2
            cp "$SNAP/$f" "$f"
        fi
    done
    rm -rf "$SNAP"
    cd "$ROOT"
    [ "$build_rc" = 0 ] || exit "$build_rc"
fi

ADDON="$NODE_OUT/authflow.linux-x64-gnu.node"
[ -f "$ADDON" ] || { echo "run.sh: $ADDON missing (run without SKIP_BUILD)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || { echo "run.sh: $VENV missing (run without SKIP_BUILD)" >&2; exit 1; }

# Build the Rust bench before any timing starts.
echo "== building bench ffi_overhead (release)" >&2
cargo bench -p authflow-bench --bench ffi_overhead --no-run --quiet

# ------------------------------------------------------------------ run
echo "== Rust: SDK vs FFI facade vs reqwest" >&2
AUTHFLOW_BENCH_JSON="$OUT/rust.json" AUTHFLOW_BENCH_ROUNDS="$ROUNDS" \
    AUTHFLOW_BENCH_BATCH="$BATCH" AUTHFLOW_BENCH_SEQ="$SEQ" \
    cargo bench -p authflow-bench --bench ffi_overhead --quiet

for mode in $MOCK_MODES; do
    echo "== Python: binding vs httpx (mock: $mode)" >&2
    PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" bench/bindings/py_validate.py \
        --mock "$mode" --rounds "$ROUNDS" --batch "$BATCH" --seq "$SEQ" \
        --json "$OUT/py-$mode.json" 2>"$OUT/py-$mode.log"
    echo "== Node: binding vs fetch (mock: $mode)" >&2
    NAPI_RS_NATIVE_LIBRARY_PATH="$ADDON" node bench/bindings/node_validate.mjs \
        --mock "$mode" --rounds "$ROUNDS" --batch "$BATCH" --seq "$SEQ" \
        --json "$OUT/node-$mode.json" 2>"$OUT/node-$mode.log"
done

echo "uptime after: $(uptime)" | tee -a "$OUT/machine.txt"
"$VENV/bin/python" bench/bindings/report.py "$OUT" | tee "$OUT/report.md"
