#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target of both fuzz crates (crates/vision/fuzz,
# crates/server/fuzz) for SECONDS each, one at a time, and fails if any target finds a crash,
# a leak, a timeout or an out-of-memory input. docs/reliability.md lists the targets and the
# figures of the last long run.
#
#   bash scripts/fuzz.sh [SECONDS]            # default 300 per target, AddressSanitizer, nightly
#   bash scripts/fuzz.sh --quick [SECONDS]    # CI's smoke run (scripts/test.sh): 15 s per target
#
# --quick builds without a sanitizer in the dev profile (the fuzz crates leave dependencies
# unoptimised there), in a target directory cached under ~/.cache/openliveness keyed on the
# toolchain, so CI pays for the dependencies once; it uses the project's stable toolchain
# (cargo-fuzz's instrumentation flags are stable; RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# `-Z` options) when nightly is not installed. Panics, hangs and out-of-memory inputs are
# found the same way; memory errors in unsafe code need the full run.
#
# Installs cargo-fuzz (pinned) into ~/.cache/openliveness when it is missing. Each target
# starts from its committed seeds (corpus/<target>/seed-*) plus whatever earlier runs left
# there; a failing input is written to the fuzz crate's artifacts/<target>/ and named in the
# output.
set -euo pipefail

quick=0
if [[ "${1:-}" == "--quick" ]]; then
  quick=1
  shift
fi
seconds="${1:-$( ((quick)) && echo 15 || echo 300)}"
case "$seconds" in
'' | *[!0-9]*)
  echo "usage: bash scripts/fuzz.sh [--quick] [SECONDS]" >&2
  exit 2
  ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_crates=(crates/vision/fuzz crates/server/fuzz)
# One input taking this long is a failure: no parser of outside data may stall a worker.
per_input_timeout=60
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openliveness"

cargo_fuzz_version=0.13.2
export PATH="$cache/cargo-fuzz-$cargo_fuzz_version/bin:$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  echo "fuzz: installing cargo-fuzz $cargo_fuzz_version into $cache (once)"
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked \
    --root "$cache/cargo-fuzz-$cargo_fuzz_version"
fi

build_flags=()
run_flags=()
if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
elif ((quick)); then
  toolchain=()
  export RUSTC_BOOTSTRAP=1
else
  echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly); --quick runs on stable" >&2
  exit 1
fi
if ((quick)); then
  build_flags=(--dev --sanitizer none)
  run_flags=(--dev --sanitizer none)
  # One target directory for both crates (their dependencies coincide), kept between runs.
  export CARGO_TARGET_DIR="$cache/fuzz-target-$(rustc "${toolchain[@]}" --version | tr -c 'a-z0-9.\n' '-')"
fi
echo "fuzz: $(cargo fuzz --version), $(rustc "${toolchain[@]}" --version)${CARGO_TARGET_DIR:+, target $CARGO_TARGET_DIR}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
for crate in "${fuzz_crates[@]}"; do
  cd "$root/$crate"
  echo "fuzz: building $crate"
  cargo "${toolchain[@]}" fuzz build "${build_flags[@]}"
  for target in $(cargo "${toolchain[@]}" fuzz list); do
    echo "fuzz: $crate $target for ${seconds}s"
    mkdir -p "corpus/$target"
    if cargo "${toolchain[@]}" fuzz run "${run_flags[@]}" "$target" -- \
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
