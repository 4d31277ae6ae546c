#!/usr/bin/env bash
# Sets up a Debian 12 machine for ssm and builds it in release mode.
#   bash scripts/setup.sh          install missing Debian packages (sudo if not root), then swift build -c release
#   bash scripts/setup.sh --deps   only install the packages
# Needs Swift 6.x on PATH for the build step (https://www.swift.org/install/linux/).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  pkg-config
  libsndfile1-dev libpng-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libfftw3-dev libopenblas-dev
  dataset-fashion-mnist
  ffmpeg espeak-ng sox
  python3-pip
)

deps_only=0
case "${1:-}" in
  --deps|--deps-only) deps_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
  *) echo "unknown option: $1 (use --deps)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "Debian packages: all present"
fi

# Best effort: Python's safetensors and numpy, used only by an interoperability test (skipped without them).
if ! python3 -c 'import safetensors, numpy' 2>/dev/null; then
  python3 -m pip install --quiet safetensors numpy 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages safetensors numpy 2>/dev/null \
    || echo "note: python3 safetensors/numpy not installed; the interoperability test will be skipped"
fi

((deps_only)) && exit 0

if ! command -v swift >/dev/null; then
  echo "error: swift not found on PATH; install Swift 6.x from https://www.swift.org/install/linux/" >&2
  exit 1
fi
swift build -c release
echo "built: .build/release/ssm"
