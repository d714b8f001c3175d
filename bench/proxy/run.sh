#!/usr/bin/env bash
# authflow-proxy vs Express (http-proxy-middleware) vs nginx, same upstream,
# one run. Installs what it needs: nginx (Debian) and the Express proxy's npm
# packages (into bench/proxy/node_modules, git-ignored); builds the proxy in
# release mode; then runs `cargo bench -p authflow-bench --bench proxy`.
# Knobs: PROXY_BENCH_SECS (default 5), PROXY_BENCH_CONNS (default 32).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  else
    echo "nginx missing (apt-get install nginx); it will be skipped" >&2
  fi
fi
if [ ! -d node_modules/express ] || [ ! -d node_modules/http-proxy-middleware ]; then
  npm install --no-audit --no-fund --silent
fi
cd "$here/../.."
cargo build --release -p authflow-proxy
cargo bench -p authflow-bench --bench proxy
