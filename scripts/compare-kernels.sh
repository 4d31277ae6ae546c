#!/usr/bin/env bash
# Trains the same small S4ND classifier with every kernel of the registry (and the S5, GSS and Mamba
# blocks) on the same Fashion-MNIST budget and prints one Markdown table: parameters, training images/s, and test accuracy at the
# training size (28) and, zero-shot, at half (14) and twice (56) the size.
#   bash scripts/compare-kernels.sh [RUN_DIR]        (default runs/compare-kernels)
# Environment: EPOCHS (default 2), MAX_IMAGES (default 30000), SEED (default 0), WITH_MAMBA=1 to add
# the Mamba block row, ONLY="label,label" (e.g. ONLY="mamba block") to train and print just those rows.
# Needs scripts/setup.sh done (release build, Debian's dataset-fashion-mnist). About 40 minutes on
# 2 cores. Finished rows are kept: rerunning skips every kernel whose model already exists.
#
# The budget is identical for every row (seed, images, epochs, batch, learning rates, H = 32,
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

# label | options. Kernels (in the S4ND layer): parameter counts within 10% of s4d's. Blocks
# (applied along each axis in turn, both directions): S5 within 10% too; GSS (its gates) and
# Mamba (its projections) exceed that budget at H = 32 by themselves, so they run at their
# smallest sensible sizes and the table shows their counts.
specs=(
  "s4d|--kernel s4d --d-state 16"
  "dplr|--kernel dplr --d-state 14"
  "dss|--kernel dss --d-state 16"
  "dlr|--kernel dlr --d-state 16"
  "ema|--kernel ema --d-state 8"
  "sgconv|--kernel sgconv --d-state 16 --kernel-dim 18"
  "conv|--kernel conv --d-state 16"
  "s5 block|--block s5 --d-state 8"
  "gss block|--block gss --kernel s4d --d-state 16"
)
[[ ${WITH_MAMBA:-0} == 1 ]] && specs+=("mamba block|--block mamba --d-state 8")

field() { grep -o "\"$1\": [-0-9.e]*" | head -1 | sed 's/.*: //'; }

wanted() { [[ -z ${ONLY:-} || ",$ONLY," == *",$1,"* ]]; }

for spec in "${specs[@]}"; do
  label=${spec%%|*}; extra=${spec#*|}
  wanted "$label" || continue
  dir=$run/${label// /-}
  if [[ ! -f $dir/model.safetensors ]]; then
    rm -rf "$dir"
    echo "compare-kernels: training $label ($extra)" >&2
    # shellcheck disable=SC2086
    $ssm train-classifier --data $data/train --val-fraction 0 --max-images "$max" --out "$dir" \
      --epochs "$epochs" --batch-size 32 --lr 0.01 --ssm-lr 0.001 --weight-decay 0.05 \
      --d-model 32 --layers 2 --size 28 --dropout 0.1 --seed "$seed" $extra \
      > "$dir.train.jsonl"
  fi
  if [[ ! -f $dir/eval.jsonl ]]; then
    $ssm evaluate --data $data/test --model "$dir/model.safetensors" --size 28 --size 14 --size 56 > "$dir/eval.jsonl.tmp"
    mv "$dir/eval.jsonl.tmp" "$dir/eval.jsonl"
  fi
done

{
  echo "| kernel / block | parameters | train images/s | test acc. 28×28 | zero-shot 14×14 | zero-shot 56×56 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for spec in "${specs[@]}"; do
    label=${spec%%|*}; dir=$run/${label// /-}
    wanted "$label" || continue
    $ssm inspect "$dir/model.safetensors" > "$dir/inspect.jsonl"
    params=$(head -1 "$dir/inspect.jsonl" | field parameters)
    # Mean images/s over the epochs (one JSON line per epoch before the final summary line).
    ips=$(grep '"epoch"' "$dir.train.jsonl" | grep -o '"images_per_s": [-0-9.e]*' | sed 's/.*: //' | awk '{s += $1; n++} END {printf "%.0f", s / n}')
    accs=()
    for size in 28 14 56; do
      a=$(grep "\"size\": \[$size, $size\]" "$dir/eval.jsonl" | field accuracy)
      accs+=("$(awk -v a="$a" 'BEGIN {printf "%.1f%%", 100 * a}')")
    done
    echo "| $label | $params | $ips | ${accs[0]} | ${accs[1]} | ${accs[2]} |"
  done
} | tee "$run/table.md"
