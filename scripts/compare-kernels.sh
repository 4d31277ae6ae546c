#!/usr/bin/env bash
# Trains the same small S4ND classifier with every kernel of the registry on the same Fashion-MNIST
# budget and prints one Markdown table: parameters, training images/s, and test accuracy at the
# training size (28) and, zero-shot, at half (14) and twice (56) the size.
#   bash scripts/compare-kernels.sh [RUN_DIR]        (default runs/compare-kernels)
# Environment: EPOCHS (default 2), MAX_IMAGES (default 30000), SEED (default 0).
# Needs scripts/setup.sh done (release build, Debian's dataset-fashion-mnist). About 20 minutes on
# 2 cores. Finished kernels are kept: rerunning skips every kernel whose model already exists.
#
# The budget is identical for every kernel (seed, images, epochs, batch, learning rates, H = 32,
# 2 layers); d_state (and sgconv's kernel_dim) are chosen per kernel so the parameter counts stay
# within 10% of the s4d model's. Kernels without a continuous-time reading (dlr, ema, sgconv,
# conv) run with no bandlimit; s4d and dplr with the default bandlimit 0.5.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/compare-kernels}
epochs=${EPOCHS:-2}; max=${MAX_IMAGES:-30000}; seed=${SEED:-0}
data=data/fashion-mnist
src=/usr/share/datasets/fashion-mnist
ssm=.build/release/ssm
[[ -x $ssm ]] || { echo "compare-kernels: $ssm missing — run scripts/setup.sh first" >&2; exit 1; }
if [[ ! -d $data/train ]]; then
  $ssm dataset import-idx $src/train-images-idx3-ubyte.gz $src/train-labels-idx1-ubyte.gz --out $data/train --fashion-mnist
fi
if [[ ! -d $data/test ]]; then
  $ssm dataset import-idx $src/t10k-images-idx3-ubyte.gz $src/t10k-labels-idx1-ubyte.gz --out $data/test --fashion-mnist
fi
mkdir -p "$run"

# kernel | extra options (parameter counts within 10% of s4d's)
specs=(
  "s4d|--d-state 16"
  "dplr|--d-state 14"
  "dss|--d-state 16"
  "dlr|--d-state 16"
  "ema|--d-state 8"
  "sgconv|--d-state 16 --kernel-dim 18"
  "conv|--d-state 16"
)

field() { grep -o "\"$1\": [-0-9.e]*" | head -1 | sed 's/.*: //'; }

for spec in "${specs[@]}"; do
  kernel=${spec%%|*}; extra=${spec#*|}
  dir=$run/$kernel
  if [[ ! -f $dir/model.safetensors ]]; then
    rm -rf "$dir"
    echo "compare-kernels: training $kernel ($extra)" >&2
    # shellcheck disable=SC2086
    $ssm train-classifier --data $data/train --val-fraction 0 --max-images "$max" --out "$dir" \
      --epochs "$epochs" --batch-size 32 --lr 0.01 --ssm-lr 0.001 --weight-decay 0.05 \
      --d-model 32 --layers 2 --size 28 --dropout 0.1 --seed "$seed" --kernel "$kernel" $extra \
      > "$dir.train.jsonl"
  fi
  if [[ ! -f $dir/eval.jsonl ]]; then
    $ssm evaluate --data $data/test --model "$dir/model.safetensors" --size 28 --size 14 --size 56 > "$dir/eval.jsonl.tmp"
    mv "$dir/eval.jsonl.tmp" "$dir/eval.jsonl"
  fi
done

{
  echo "| kernel | parameters | train images/s | test acc. 28×28 | zero-shot 14×14 | zero-shot 56×56 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for spec in "${specs[@]}"; do
    kernel=${spec%%|*}; dir=$run/$kernel
    params=$($ssm inspect "$dir/model.safetensors" | head -1 | field parameters)
    # Mean images/s over the epochs (one JSON line per epoch before the final summary line).
    ips=$(grep '"epoch"' "$dir.train.jsonl" | field images_per_s | awk '{s += $1; n++} END {printf "%.0f", s / n}')
    accs=()
    for size in 28 14 56; do
      a=$(grep "\"size\": \[$size, $size\]" "$dir/eval.jsonl" | field accuracy)
      accs+=("$(awk -v a="$a" 'BEGIN {printf "%.1f%%", 100 * a}')")
    done
    echo "| $kernel | $params | $ips | ${accs[0]} | ${accs[1]} | ${accs[2]} |"
  done
} | tee "$run/table.md"
