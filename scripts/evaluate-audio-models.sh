#!/usr/bin/env bash
# Measures the shipped audio models the way the README reports them:
#   test NLL (bits per sample) of the SaShiMi model next to count-based baselines fitted on train;
#   IS / modified IS of 256 generated one-second samples and of the real test clips;
#   generation speed; a generated sample and its spectrogram under docs/.
#   bash scripts/evaluate-audio-models.sh [SASHIMI_MODEL] [CLASSIFIER]
# Needs: scripts/setup.sh done and data/spoken-digits (scripts/make-spoken-digits.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/spoken-digits-sashimi.safetensors}
classifier=${2:-models/spoken-digits-classifier.safetensors}
data=data/spoken-digits
ssm=.build/release/ssm
work=runs/evaluate-audio
mkdir -p $work docs

echo "== test NLL, bits per sample (model and baselines) =="
$ssm score $data/test --model "$model" --summary --baseline-data $data/train | tail -1

echo "== IS / mIS of real test clips =="
$ssm audio-metrics $data/test --labelled --classifier "$classifier"

echo "== IS / mIS of 256 generated one-second samples =="
rm -rf $work/generated
$ssm generate --model "$model" --seconds 1 --count 256 --seed 1 --out $work/generated > $work/generated.jsonl
$ssm audio-metrics $work/generated --classifier "$classifier"

echo "== the generated sample the classifier is surest of, and its spectrogram =="
best=$($ssm classify $work/generated --audio-classifier "$classifier" --format csv | tail -n +2 | sort -t, -k3 -g -r | head -1)
echo "$best"
cp "${best%%,*}" docs/sashimi-sample.wav
$ssm spectrogram docs/sashimi-sample.wav --out docs/sashimi-sample.png --window 256 --hop 32

echo "== generation speed, one sequence of 4 s =="
$ssm generate --model "$model" --seconds 4 --seed 3 --out $work/speed.wav 2>&1 >/dev/null | tail -1

echo "== convolution vs recurrent mode =="
$ssm check-recurrence --model "$model" --length 8192 --input $data/test/seven/$(ls $data/test/seven | head -1) | tail -1
