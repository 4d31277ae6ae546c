#!/usr/bin/env bash
# Builds the moving-items video data set: Fashion-MNIST items sliding down, left, right or up across
# a wrapping canvas, encoded with ffmpeg in four codecs. Only the motion tells the class.
#   bash scripts/make-moving-digits.sh OUT [--train N] [--test N] [--frames T] [--size S] [--seed N] [--jobs J]
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  cat <<'USAGE'
usage: bash scripts/make-moving-digits.sh OUT [--train N] [--test N] [--frames T] [--size S] [--seed N] [--jobs J]

Renders clips with `ssm dataset render-motion` (training clips from the Fashion-MNIST training images,
test clips from its test images, so test items are unseen) and encodes them with ffmpeg at 16 frames/s.
The codec depends on the clip's number, not its class (each class has every codec equally):
  H.264 (.mp4, libx264), VP9 (.webm, libvpx-vp9), FFV1 (.mkv, lossless), GIF (.gif)

  OUT/{train,test}/{down,left,right,up}/<index>.<ext>
  OUT/{train,test}/manifest.tsv   file, class, item, speed, start (from render-motion)

options:
  --train N   training clips, a multiple of 4 (default 2000)
  --test N    test clips, a multiple of 4 (default 400)
  --frames T  frames per clip (default 32)
  --size S    canvas side in pixels (default 64)
  --seed N    seed (default 0); the same seed gives the same clips
  --jobs J    ffmpeg processes in parallel (default 2)
  -h, --help  this text

Needs scripts/setup.sh done (release build of ssm, ffmpeg, Debian's dataset-fashion-mnist).
OUT must not exist yet; the folder appears when every clip is encoded.
USAGE
}

out="" ; train=2000 ; test=400 ; frames=32 ; size=64 ; seed=0 ; jobs=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --train) train=$2; shift 2 ;;
    --test) test=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "make-moving-digits: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [[ -z $out ]] || { echo "make-moving-digits: one OUT only" >&2; exit 2; }; out=$1; shift ;;
  esac
done
[[ -n $out ]] || { usage >&2; exit 2; }
[[ ! -e $out ]] || { echo "make-moving-digits: $out exists; choose a new OUT" >&2; exit 1; }
ssm=$root/.build/release/ssm
[[ -x $ssm ]] || { echo "make-moving-digits: $ssm missing; run scripts/setup.sh" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "make-moving-digits: ffmpeg missing (apt-get install ffmpeg)" >&2; exit 1; }
src=/usr/share/datasets/fashion-mnist
[[ -f $src/train-images-idx3-ubyte.gz ]] || { echo "make-moving-digits: $src missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; }

staging="$out.partial-$$"
raw="$staging/raw"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"
"$ssm" dataset render-motion $src/train-images-idx3-ubyte.gz --out "$raw/train" --clips "$train" --frames "$frames" --size "$size" --seed "$seed" >/dev/null
"$ssm" dataset render-motion $src/t10k-images-idx3-ubyte.gz --out "$raw/test" --clips "$test" --frames "$frames" --size "$size" --seed "$((seed + 1))" >/dev/null

# One clip: raw gray frames -> OUT/<split>/<class>/<index>.<ext>; the codec cycles with index / 4.
encode() {
  local rawfile=$1 dest=$2 size=$3
  local base=${rawfile##*/}; base=${base%.gray}
  local n=$((10#$base / 4 % 4))
  local in=(-hide_banner -loglevel error -nostdin -f rawvideo -pix_fmt gray -s "${size}x${size}" -r 16 -i "$rawfile")
  case $n in
    0) ffmpeg "${in[@]}" -c:v libx264 -preset veryfast -crf 12 -pix_fmt yuv420p -threads 1 "$dest/$base.mp4" ;;
    1) ffmpeg "${in[@]}" -c:v libvpx-vp9 -crf 20 -b:v 0 -deadline realtime -cpu-used 8 -pix_fmt yuv420p -threads 1 "$dest/$base.webm" ;;
    2) ffmpeg "${in[@]}" -c:v ffv1 -pix_fmt gray -threads 1 "$dest/$base.mkv" ;;
    3) ffmpeg "${in[@]}" -vf "split[a][b];[a]palettegen=max_colors=256[p];[b][p]paletteuse=dither=none" -f gif "$dest/$base.gif" ;;
  esac
}
export -f encode
for split in train test; do
  for c in down left right up; do mkdir -p "$staging/$split/$c"; done
  cp "$raw/$split/manifest.tsv" "$staging/$split/manifest.tsv"
  find "$raw/$split" -name '*.gray' | sort | while read -r f; do
    c=$(basename "$(dirname "$f")")
    printf '%s\0%s\0%s\0' "$f" "$staging/$split/$c" "$size"
  done | xargs -0 -n 3 -P "$jobs" bash -c 'encode "$0" "$1" "$2"'
  echo "make-moving-digits: $split: $(find "$staging/$split" -type f ! -name manifest.tsv | wc -l) clips" >&2
done
rm -rf "$raw"
mv "$staging" "$out"
trap - EXIT
echo "make-moving-digits: wrote $out (train $train, test $test clips of $frames frames, ${size}x${size})" >&2
