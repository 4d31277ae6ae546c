#!/usr/bin/env bash
# Trains the spoken-digit classifier behind `ssm audio-metrics` (Inception Score, modified IS) and
# `ssm classify` on audio files, and prints its test accuracy.
#   bash scripts/train-default-audio-classifier.sh [OUT]   (default runs/spoken-digits-classifier.safetensors)
# Needs: scripts/setup.sh done; the data from scripts/make-spoken-digits.sh (made when missing).
# Copy OUT to models/spoken-digits-classifier.safetensors to make it the default.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/spoken-digits-classifier.safetensors}
data=data/spoken-digits
ssm=.build/release/ssm
[[ -f $data/manifest.tsv ]] || bash scripts/make-spoken-digits.sh "$data" --rate 8000 --seed 0
mkdir -p "$(dirname "$out")"

# 1-D S4 classifier: mu-law embedding (H = 32), bidirectional S4D blocks (N = 32) with 4x pooling
# three times (features doubling), mean over time; 1.02 s windows, AdamW at batch 16.
$ssm train-audio-classifier --data $data/train --val $data/val --out "$out" \
  --epochs 2 --batch-size 16 --length 8192 --d-model 32 --lr 0.004 --seed 0

$ssm audio-metrics $data/test --labelled --classifier "$out"
