#!/usr/bin/env bash
# The S3-compatible object store the tests run against: s3s-fs, an S3 server over a local
# directory, installed from crates.io once (pinned version, `cargo install --locked`) and
# cached under ~/.cache/openliveness.
#
#   bash scripts/s3.sh install        # prints the server binary's path, installing it if needed
#   bash scripts/s3.sh start DIR      # starts it on a free 127.0.0.1 port over DIR, waits until
#                                     # it answers, prints `export …` lines for the tests and
#                                     # `S3_PID=…`; the caller stops it (kill $S3_PID)
#
# The tests find the store through OPENLIVENESS_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY_ID
# and _SECRET_ACCESS_KEY; each test works under a prefix of its own.
set -euo pipefail

version=0.14.1 # 0.15 and later need a newer Rust than the project's toolchain
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openliveness/s3s-fs-$version"
bin="$cache/bin/s3s-fs"
bucket=openliveness-test
access_key=openliveness-test
secret_key=openliveness-test-secret

install() {
  if [[ ! -x "$bin" ]]; then
    echo "s3: installing s3s-fs $version into $cache (once)" >&2
    cargo install s3s-fs --version "$version" --features binary --locked --root "$cache" >&2
  fi
  echo "$bin"
}

case "${1:-}" in
install)
  install
  ;;
start)
  dir="${2:?usage: bash scripts/s3.sh start DIR}"
  install >/dev/null
  mkdir -p "$dir/$bucket"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$bin" --host 127.0.0.1 --port "$port" --access-key "$access_key" --secret-key "$secret_key" \
    "$dir" >"$dir.log" 2>&1 &
  pid=$!
  # Poll until it answers, for at most 30 s.
  deadline=$((SECONDS + 30))
  until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS > deadline)); then
      echo "s3: s3s-fs did not start on port $port:" >&2
      tail -n 20 "$dir.log" >&2 || true
      kill "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
  echo "export OPENLIVENESS_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
  echo "export OPENLIVENESS_TEST_S3_BUCKET=$bucket"
  echo "export OPENLIVENESS_TEST_S3_ACCESS_KEY_ID=$access_key"
  echo "export OPENLIVENESS_TEST_S3_SECRET_ACCESS_KEY=$secret_key"
  echo "S3_PID=$pid"
  ;;
*)
  echo "usage: bash scripts/s3.sh install | start DIR" >&2
  exit 2
  ;;
esac
