#!/usr/bin/env bash
# Regenerates samples/: Fashion-MNIST test images (Debian package dataset-fashion-mnist), speech from
# espeak-ng, short synthetic videos from ffmpeg. Needs: gzip, od, ffmpeg, espeak-ng, sox.
#   bash scripts/make-samples.sh [output-dir]      (default: samples)
set -euo pipefail
out="${1:-samples}"
data="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
classes=(t-shirt trouser pullover dress coat sandal shirt sneaker bag ankle-boot)
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

mkdir -p "$out/images" "$out/audio" "$out/video"
rm -f "$out"/images/*.png "$out"/audio/*.wav "$out"/video/*

# --- images: the first test image of each class, 28x28 8-bit gray, named fmnist-<index>-<class>.png
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gzip -dc "$data/t10k-labels-idx1-ubyte.gz" > "$tmp/labels"
gzip -dc "$data/t10k-images-idx3-ubyte.gz" > "$tmp/images"
labels=$(head -c 1008 "$tmp/labels" | tail -c +9 | od -An -v -tu1 -w1)  # first 1000 labels
image() {  # image INDEX -> 784 raw gray bytes on stdout (idx3 header is 16 bytes)
  dd if="$tmp/images" bs=784 skip=0 iflag=skip_bytes,count_bytes skip=$((16 + $1 * 784)) count=784 status=none
}
declare -A first
i=0
for label in $labels; do
  if [[ -z "${first[$label]:-}" ]]; then first[$label]=$i; fi
  (( ${#first[@]} == 10 )) && break
  i=$((i + 1))
done
for c in $(seq 0 9); do
  idx=${first[$c]}
  image "$idx" | ff -f rawvideo -pix_fmt gray -s 28x28 -i - "$out/images/fmnist-$idx-${classes[$c]}.png"
done

# --- the same kind of images at other sizes and PNG colour types (for resolution handling and decoding)
pick() { ls "$out/images" | grep -E "^fmnist-[0-9]+-$1\.png$" | head -1; }
ff -i "$out/images/$(pick trouser)" -vf scale=56:56:flags=bicubic -pix_fmt rgb24 \
   "$out/images/$(basename "$(pick trouser)" .png)-56x56-rgb.png"
ff -i "$out/images/$(pick sneaker)" -vf scale=14:14:flags=area -pix_fmt gray \
   "$out/images/$(basename "$(pick sneaker)" .png)-14x14-gray.png"
ff -i "$out/images/$(pick bag)" -vf scale=42:42:flags=bicubic -pix_fmt pal8 \
   "$out/images/$(basename "$(pick bag)" .png)-42x42-palette.png"
ff -i "$out/images/$(pick dress)" -vf scale=28:28 -pix_fmt gray16be \
   "$out/images/$(basename "$(pick dress)" .png)-28x28-gray16.png"

# --- audio: speech from espeak-ng (22,050 Hz mono 16-bit), resampled and re-encoded with sox
espeak-ng -w "$out/audio/speech-hello-22k.wav" "Hello. This is a state space model, listening to real speech."
espeak-ng --stdout "zero one two three four five six seven eight nine" \
  | sox -t wav - -r 16000 -b 16 "$out/audio/speech-digits-16k.wav"
espeak-ng -v en+f3 --stdout "Sound, images and video, on an ordinary processor." \
  | sox -t wav - -r 44100 -b 24 -c 2 "$out/audio/speech-stereo-44k-24bit.wav"

# --- video: short synthetic clips in three codecs/containers
ff -f lavfi -i testsrc2=size=160x120:rate=25 -t 2 -c:v libx264 -preset medium -crf 28 -pix_fmt yuv420p \
   -movflags +faststart "$out/video/testsrc-h264.mp4"
ff -f lavfi -i mandelbrot=size=128x96:rate=15 -t 2 -c:v mpeg4 -q:v 5 "$out/video/mandelbrot-mpeg4.avi"
ff -f lavfi -i "gradients=size=96x72:rate=10:speed=0.05" -t 1 -c:v ffv1 "$out/video/gradients-ffv1.mkv"

# --- two moving-items test clips (the default video model's data): a test item moving left
# (H.264) and one moving up (VP9), as scripts/make-moving-digits.sh renders them with seed 1.
ssm="$(dirname "$0")/../.build/release/ssm"
if [[ -x $ssm ]]; then
  "$ssm" dataset render-motion "$data/t10k-images-idx3-ubyte.gz" --out "$tmp/motion" --clips 8 --frames 32 --size 64 --seed 1 >/dev/null
  raw=(-f rawvideo -pix_fmt gray -s 64x64 -r 16)
  ff "${raw[@]}" -i "$tmp/motion/left/00001.gray" -c:v libx264 -preset veryfast -crf 12 -pix_fmt yuv420p -threads 1 "$out/video/moving-left-h264.mp4"
  ff "${raw[@]}" -i "$tmp/motion/up/00007.gray" -c:v libvpx-vp9 -crf 20 -b:v 0 -deadline realtime -cpu-used 8 -pix_fmt yuv420p -threads 1 "$out/video/moving-up-vp9.webm"
else
  echo "make-samples: $ssm missing (run scripts/setup.sh); the moving-items clips are not made" >&2
fi

du -sh "$out"
