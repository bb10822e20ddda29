#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target of both fuzz crates (crates/vision/fuzz,
# crates/server/fuzz) for SECONDS each, one at a time, and fails if any target finds a crash,
# a leak, a timeout or an out-of-memory input. docs/reliability.md lists the targets and the
# figures of the last long run.
#
#   bash scripts/fuzz.sh [SECONDS]     # default 300 per target
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz into
# ~/.cargo/bin when it is missing. Each target starts from its committed seeds
# (corpus/<target>/seed-*) plus whatever earlier runs left there; a failing input is written
# to the fuzz crate's artifacts/<target>/ and named in the output.
set -euo pipefail

seconds="${1:-300}"
case "$seconds" in
'' | *[!0-9]*)
  echo "usage: bash scripts/fuzz.sh [SECONDS]" >&2
  exit 2
  ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_crates=(crates/vision/fuzz crates/server/fuzz)
# One input taking this long is a failure: no parser of outside data may stall a worker.
per_input_timeout=60

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is missing: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz into ~/.cargo/bin"
  cargo install cargo-fuzz --locked
fi
echo "fuzz: $(cargo fuzz --version), $(rustc +nightly --version)"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
for crate in "${fuzz_crates[@]}"; do
  cd "$root/$crate"
  echo "fuzz: building $crate"
  cargo +nightly fuzz build
  for target in $(cargo +nightly fuzz list); do
    echo "fuzz: $crate $target for ${seconds}s"
    mkdir -p "corpus/$target"
    if cargo +nightly fuzz run "$target" -- \
      -max_total_time="$seconds" -timeout="$per_input_timeout" >"$log" 2>&1; then
      # libFuzzer's last status line: executions, coverage, corpus, exec/s.
      grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || tail -n 3 "$log"
    else
      tail -n 60 "$log"
      echo "fuzz: FAILED $crate $target (input in $crate/artifacts/$target/)" >&2
      failed+=("$crate:$target")
    fi
  done
done

if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a failure"
