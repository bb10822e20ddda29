#!/usr/bin/env bash
# The capacity benchmark (docs/benchmarks.md, "Capacity"): the release `openliveness` binary as
# a process of its own, genuine sessions over the live protocol from pre-rendered frames, one at
# a time and then at 0.5×, 1× and 2× the load the machine can carry. Settings are environment
# variables, see crates/server/benches/capacity.rs (OPENLIVENESS_CAPACITY_SECONDS, _LOADS,
# _CALIBRATE, _SERVER_ENV). Run it on a quiet machine: the figures are CPU and latency.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/models/setup.sh >/dev/null
cargo build --release --locked --workspace --bins
cargo bench --locked --workspace --bench capacity
