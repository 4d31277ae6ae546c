#!/usr/bin/env bash
# Trains the default video classifier (models/moving-items-s4nd.safetensors) on the moving-items clips
# and writes the README's tables: accuracy at the training frames/size and zero-shot at other frames
# and sizes, and the accuracy of the best single-frame image model on the same clips.
#   bash scripts/train-default-video-model.sh [RUN_DIR]      (default runs/moving-items)
# Needs scripts/setup.sh done. About 15 minutes on 2 cores (data 6 min, video model 10, baseline 3).
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/moving-items}
data=data/moving
ssm=.build/release/ssm

[[ -d $data/train ]] || bash scripts/make-moving-digits.sh $data --seed 0

# The shipped model: 3-D S4ND, H=32, 3 blocks, N=32 per axis, 8 frames of 32x32 per clip (evenly
# spaced over the 32-frame clips, random temporal phase and shifts; no flips: they would swap
# left and right), 8 epochs on 1,800 clips (200 held out).
$ssm train-classifier --data $data/train --out "$run" --frames 8 --size 32 \
  --d-model 32 --layers 3 --d-state 32 --epochs 8 --batch-size 16 --seed 1

# Test clips (unseen items): training frames/size, and zero-shot at half and twice each.
$ssm evaluate --data $data/test --model "$run/model.safetensors" --frames 8 4 16 --size 32 16 64 --format table

# Single-frame baseline: the same network as an image model trained on 4 frames of every clip.
frames=data/moving-frames
[[ -d $frames/train ]] || $ssm dataset extract-frames $data/train --out $frames/train --frames 4 --size 32
[[ -d $frames/test ]] || $ssm dataset extract-frames $data/test --out $frames/test --frames 4 --size 32
$ssm train-classifier --data $frames/train --out "$run-single-frame" --size 32 --flip false \
  --d-model 32 --layers 3 --d-state 32 --epochs 4 --batch-size 32 --seed 1
$ssm evaluate --data $frames/test --model "$run-single-frame/model.safetensors" --size 32 --format table
