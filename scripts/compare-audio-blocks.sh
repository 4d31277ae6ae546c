#!/usr/bin/env bash
# SaShiMi with S4 (S4D), Mamba and S5 residual blocks on the spoken-digit data, same budget:
# validation NLL in bits per sample after the same number of steps, training samples/s, and
# recurrent generation samples/s (one 2-second sequence). Prints one Markdown table.
#   bash scripts/compare-audio-blocks.sh [RUN_DIR]      (default runs/compare-audio-blocks)
# Environment: STEPS (default 150), SEED (default 1). Needs scripts/setup.sh done; makes the
# spoken-digit data (scripts/make-spoken-digits.sh, ~3 min) when missing. Finished rows are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/compare-audio-blocks}
steps=${STEPS:-150}; seed=${SEED:-1}
data=data/spoken-digits
ssm=.build/release/ssm
[[ -x $ssm ]] || { echo "compare-audio-blocks: $ssm missing — run scripts/setup.sh first" >&2; exit 1; }
[[ -f $data/manifest.tsv ]] || bash scripts/make-spoken-digits.sh "$data" --rate 8000 --seed 0
mkdir -p "$run"

# label | options (d_state: S4D and S5 64 (32 complex modes), Mamba its default 16)
specs=(
  "s4 (S4D)|--block s4"
  "mamba|--block mamba --d-state 16"
  "s5|--block s5"
)
field() { grep -o "\"$1\": [-0-9.e]*" | tail -1 | sed 's/.*: //'; }

for spec in "${specs[@]}"; do
  label=${spec%%|*}; extra=${spec#*|}
  dir=$run/${label%% *}
  if [[ ! -f $dir/model.safetensors ]]; then
    rm -rf "$dir"
    echo "compare-audio-blocks: training $label" >&2
    # shellcheck disable=SC2086
    $ssm train-sashimi --data $data/train --val $data/val --out "$dir" --sample-rate 8000 \
      --d-model 32 --layers 2 --pool 4,4 --expand 2 --ff 2 --steps "$steps" --batch-size 8 --length 4096 \
      --lr 0.004 --ssm-lr 0.001 --weight-decay 0.01 --warmup 20 --eval-every "$steps" --checkpoint-every "$steps" \
      --seed "$seed" $extra > "$dir.train.jsonl"
  fi
  if [[ ! -f $dir/generated/summary.json ]]; then
    rm -rf "$dir/generated"
    $ssm generate --model "$dir/model.safetensors" --seconds 2 --count 1 --seed 3 --out "$dir/generated" > /dev/null
  fi
done

{
  echo "| block | parameters | val NLL (bits/sample) after $steps steps | training samples/s | generation samples/s (1 sequence) |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for spec in "${specs[@]}"; do
    label=${spec%%|*}; dir=$run/${label%% *}
    $ssm inspect "$dir/model.safetensors" > "$dir/inspect.jsonl"
    params=$(head -1 "$dir/inspect.jsonl" | field parameters)
    nll=$(grep '"val_bits_per_sample"' "$dir.train.jsonl" | field val_bits_per_sample)
    sps=$(grep '"samples_per_s"' "$dir.train.jsonl" | field samples_per_s)
    gen=$(field samples_per_s < "$dir/generated/summary.json")
    printf '| %s | %s | %.3f | %.0f | %.0f |\n' "$label" "$params" "$nll" "$sps" "$gen"
  done
} | tee "$run/table.md"
