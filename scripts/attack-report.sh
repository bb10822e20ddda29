#!/usr/bin/env bash
# Runs the attack suite with 50 genuine sessions and 10 tries of each splice species, and writes
# the APCER/BPCER report to docs/attack-suite.md. Takes about 25 minutes: every session is
# streamed in real time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/models/setup.sh
OPENLIVENESS_SUITE_GENUINE="${OPENLIVENESS_SUITE_GENUINE:-50}" \
OPENLIVENESS_SUITE_SPLICES="${OPENLIVENESS_SUITE_SPLICES:-10}" \
OPENLIVENESS_SUITE_REPORT="$PWD/docs/attack-suite.md" \
  cargo test --workspace --test live attack_suite -- --nocapture
echo "report written to docs/attack-suite.md"
