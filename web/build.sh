#!/usr/bin/env bash
# Builds the session page into web/dist/ (the server embeds it at compile time).
# Idempotent and quick when nothing changed: npm ci runs only when package-lock.json changed
# since the last install, vite build only when a source file is newer than the last build.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
  echo "web/build.sh: npm is missing (Node.js 20 or newer is needed to build the page)" >&2
  exit 1
fi

stamp=node_modules/.openliveness-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "web: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

newest_source=$(find index.html vite.config.ts tsconfig.json package.json package-lock.json compress.mjs src public -type f -newer dist/index.html 2>/dev/null | head -1 || true)
if [[ -f dist/index.html && -z $newest_source ]]; then
  echo "web: dist/ is up to date"
  exit 0
fi
echo "web: vite build"
npm run --silent build
