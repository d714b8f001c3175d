#!/usr/bin/env bash
# authflow-proxy vs Express (http-proxy-middleware) vs nginx, same upstream,
# one run. Installs what it needs: wrk and nginx (Debian packages) and the
# Express proxy's npm packages (into bench/proxy/node_modules, git-ignored);
# builds the proxy in release mode; then runs
# `cargo bench -p authflow-bench --bench proxy`, which measures each target
# with `wrk --latency` and with its own Rust load generator, and does the
# paced half-peak run with the latter.
# Knobs: PROXY_BENCH_SECS (default 5), PROXY_BENCH_CONNS (default 32),
# PROXY_BENCH_WRK_THREADS (default 1), PROXY_BENCH_WRK=0 (skip wrk),
# PROXY_BENCH_ONLY=authflow|express|nginx.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
apt_install() { # package, command
  if ! command -v "$2" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$2" ]; then
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }
    else
      echo "$2 missing (apt-get install $1); it will be skipped" >&2
    fi
  fi
}
apt_install wrk wrk
apt_install nginx nginx
echo "load before the run: $(uptime)"
if [ ! -d node_modules/express ] || [ ! -d node_modules/http-proxy-middleware ]; then
  npm install --no-audit --no-fund --silent
fi
cd "$here/../.."
cargo build --release -p authflow-proxy
cargo bench -p authflow-bench --bench proxy
echo "load after the run: $(uptime)"
