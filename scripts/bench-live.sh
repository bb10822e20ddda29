#!/usr/bin/env bash
# Finish → result latency (p50/p99, one session and 8 at once) and server time per
# verified session, over the real live protocol with the rendered genuine subject.
# Test profile (dependencies and the vision crate at opt-level 2, as in CI); prints the figures recorded in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/models/setup.sh >/dev/null
OPENLIVENESS_BENCH_ROUNDS="${OPENLIVENESS_BENCH_ROUNDS:-3}" \
  cargo test --locked --workspace --bench live 2>&1 | grep -E '^concurrency'
