#!/usr/bin/env bash
# Trains the default SaShiMi audio model on spoken digits and scores it on the test split.
#   bash scripts/train-default-audio-model.sh [RUN_DIR]      (default runs/spoken-digits)
# Needs: scripts/setup.sh done (release build; espeak-ng and sox installed). Rerunning continues an
# interrupted run from its last checkpoint. Takes about an hour on 2 cores; the model lands in
# RUN_DIR/model.safetensors — copy it to models/spoken-digits-sashimi.safetensors to make it the default.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/spoken-digits}
data=data/spoken-digits
ssm=.build/release/ssm

[[ -f $data/manifest.tsv ]] || bash scripts/make-spoken-digits.sh "$data" --rate 8000 --seed 0

# The recipe of the shipped model: SaShiMi at 8 kHz, 8-bit mu-law, H = 64 at the finest tier,
# pool [4, 4], expand 2, 2 S4 + FF block pairs per tier, S4D kernels with N = 64 and one shared
# (A, B) per layer (the official SC09 setting n_ssm = 1); AdamW at batch 8 x 4096 samples
# (0.51 s windows; the 0.2-1.2 s clips sit at random offsets in silence), 3,000 steps of a cosine
# schedule after 100 warm-up steps.
resume=()
[[ -f $run/checkpoint.safetensors ]] && resume=(--resume)
$ssm train-sashimi --data $data/train --val $data/val --out "$run" "${resume[@]}" \
  --sample-rate 8000 --d-model 64 --layers 2 --pool 4,4 --expand 2 --ff 2 --d-state 64 --n-ssm 1 \
  --steps 3000 --batch-size 8 --length 4096 --lr 0.004 --ssm-lr 0.001 --weight-decay 0.01 --warmup 100 \
  --eval-every 500 --checkpoint-every 250 --seed 1

# Test NLL in bits per sample (the last line: the sample-weighted mean over the test files); the
# baselines measured the same way are in scripts/evaluate-audio-models.sh.
$ssm score $data/test --model "$run/model.safetensors" --summary | tail -1
