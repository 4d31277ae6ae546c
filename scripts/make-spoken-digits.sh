#!/usr/bin/env bash
# Builds a spoken-digit audio dataset ("zero" ... "nine") with espeak-ng: every English espeak-ng voice
# crossed with every voice variant, at several speeds and pitches, as mono 16-bit WAV clips with the
# leading and trailing silence trimmed. Speakers (voice+variant) are split 80/10/10 into train/val/test.
#   bash scripts/make-spoken-digits.sh OUT [--rate 8000|16000] [--seed N] [--jobs J]
# Needs the Debian packages espeak-ng and sox.
set -euo pipefail
export LC_ALL=C

words=(zero one two three four five six seven eight nine)
speeds=(130 160 190)       # espeak-ng -s, words per minute
pitches=(30 50 70)         # espeak-ng -p, 0..99
max_all=15000              # use every (voice, variant, speed, pitch) combination up to this many clips ...
target_clips=10000         # ... otherwise a seeded subset of this many (each speaker says each digit while speakers <= 1000)

usage() {
  cat <<'EOF'
usage: bash scripts/make-spoken-digits.sh OUT [--rate 8000|16000] [--seed N] [--jobs J]

Synthesises the words "zero" ... "nine" with espeak-ng, using every English voice (espeak-ng --voices=en)
with every voice variant (espeak-ng --voices=variant) at speeds 130/160/190 and pitches 30/50/70. When
that is far more than 15,000 clips, each speaker says each digit at a seeded random subset of the
speeds and pitches, about 10,000 clips in all. Clips are mono 16-bit PCM WAV, silence trimmed; clips
shorter than 0.1 s are skipped. Speakers (voice+variant) are split 80/10/10 by a seeded shuffle, so
no speaker appears in two splits.

  OUT/{train,val,test}/<digit>/<voice>+<variant>_s<speed>_p<pitch>.wav
  OUT/manifest.tsv   split, digit, file, voice, variant, speed, pitch, frames (one row per clip)
  OUT/speakers.tsv   the split of every speaker;  OUT/skipped.tsv  clips dropped as too short

options:
  --rate R   sample rate: 8000 (default) or 16000
  --seed N   seed of the speaker split and of the clip subset (default 0)
  --jobs J   clips made in parallel (default 2); the output does not depend on it
  -h, --help this text

Running again into the same OUT with the same --rate and --seed only makes what is missing.
Needs the Debian packages espeak-ng and sox.
EOF
}

prog=make-spoken-digits
usage_error() {
  echo "$prog: $1" >&2
  echo "usage: bash scripts/make-spoken-digits.sh OUT [--rate 8000|16000] [--seed N] [--jobs J]  (--help for more)" >&2
  exit 2
}
fail() { echo "$prog: $1" >&2; exit 1; }

# --- arguments
out="" rate=8000 seed=0 jobs=2
set_option() {
  case $1 in
    rate) rate=$2 ;;
    seed) seed=$2 ;;
    jobs) jobs=$2 ;;
  esac
}
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --rate|--seed|--jobs)
      (($# >= 2)) || usage_error "option $1 needs a value"
      set_option "${1#--}" "$2"; shift 2 ;;
    --rate=*|--seed=*|--jobs=*)
      opt=${1%%=*}; set_option "${opt#--}" "${1#*=}"; shift ;;
    --) shift; (($# <= 1)) || usage_error "unexpected argument: $2"
        if (($#)); then [[ -z $out ]] || usage_error "unexpected argument: $1"; out=$1; shift; fi ;;
    -?*) usage_error "unknown option: $1" ;;
    *) [[ -z $out ]] || usage_error "unexpected argument: $1"; out=$1; shift ;;
  esac
done
[[ -n $out ]] || usage_error "missing output directory OUT"
[[ $rate == 8000 || $rate == 16000 ]] || usage_error "--rate must be 8000 or 16000, not '$rate'"
[[ $seed =~ ^[0-9]{1,18}$ ]] || usage_error "--seed must be a non-negative integer, not '$seed'"
[[ $jobs =~ ^[1-9][0-9]{0,3}$ ]] || usage_error "--jobs must be a positive integer, not '$jobs'"

# --- tools
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
{ command -v sox >/dev/null 2>&1 && command -v soxi >/dev/null 2>&1; } || missing+=(sox)
if ((${#missing[@]})); then
  fail "not found: ${missing[*]}; install the Debian package(s): apt-get install ${missing[*]}"
fi
for tool in xargs sort timeout; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (coreutils/findutils)"
done

# --- output directory: made by this script with the same options, or new/empty
params="format=1 rate=$rate seed=$seed"
if [[ -e $out && ! -d $out ]]; then fail "$out exists and is not a directory"; fi
if [[ -d $out ]]; then
  if [[ -f $out/.build/params ]]; then
    built=$(<"$out/.build/params")
    [[ $built == "$params" ]] \
      || fail "$out was built with different options ($built); use another OUT or delete it to rebuild"
  elif [[ -n $(ls -A "$out") ]]; then
    fail "$out exists, is not empty and was not made by this script; use another OUT"
  fi
fi
mkdir -p "$out/.build"
out=$(cd "$out" && pwd)
state=$out/.build
printf '%s\n' "$params" >"$state/params"

start=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spoken-digits.XXXXXX")
monitor=""
cleanup() {
  if [[ -n $monitor ]]; then kill "$monitor" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 32-bit hashing in shell arithmetic (results in HR), so that choices depend only on names and seed
M=0xFFFFFFFF
fnv1a() {  # fnv1a STRING
  local s=$1 i c
  HR=2166136261
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%d' "'${s:i:1}"
    HR=$((((HR ^ c) * 16777619) & M))
  done
}
mul32() {  # HR = $1 * $2 mod 2^32, without overflowing 64-bit arithmetic
  HR=$((((((($1 >> 16) * $2) & 0xFFFF) << 16) + ($1 & 0xFFFF) * $2) & M))
}
fmix32() {  # murmur3 finaliser
  local h=$(($1 & M))
  h=$((h ^ (h >> 16))); mul32 "$h" 0x85ebca6b; h=$HR
  h=$((h ^ (h >> 13))); mul32 "$h" 0xc2b2ae35; h=$HR
  HR=$((h ^ (h >> 16)))
}
combine() {  # combine H X -> HR
  local h=$1
  fmix32 "$2"
  fmix32 $(((h ^ (HR + 0x9e3779b9 + (h << 6) + (h >> 2))) & M))
}
sanitize() {  # lower case; anything but a-z 0-9 . - becomes -
  local s=${1,,}
  HR=${s//[^a-z0-9.-]/-}
}

# --- voices and variants that work here
echo "probing espeak-ng voices ..."
probe() {  # probe VOICE-SPEC -> 0 if it synthesises a non-empty clip; reason in $tmp/reason
  local samples
  if timeout 30 espeak-ng -v "$1" -w "$tmp/probe.wav" zero 2>"$tmp/probe.err"; then
    samples=$(soxi -s "$tmp/probe.wav" 2>/dev/null || echo 0)
    ((samples > 0)) && return 0
    echo "no audio" >"$tmp/reason"
  elif grep -qi mbrola "$tmp/probe.err"; then
    echo "MBROLA voice not installed" >"$tmp/reason"
  else
    { head -n 1 "$tmp/probe.err"; echo "espeak-ng failed"; } | head -n 1 >"$tmp/reason"
  fi
  return 1
}

voice_ids=() voice_files=() failed=()
declare -A used_id=() used_file=()
while read -r _ lang _ _ file _; do
  [[ $lang == variant || -z $file || -n ${used_file[$file]:-} ]] && continue
  used_file[$file]=1
  sanitize "${file##*/}"; id=$HR
  n=2; base=$id
  while [[ -n ${used_id[$id]:-} ]]; do id=$base-$n; n=$((n + 1)); done
  if probe "$file"; then
    used_id[$id]=1; voice_ids+=("$id"); voice_files+=("$file")
  else
    failed+=("voice $id ($file): $(<"$tmp/reason")")
  fi
done < <(espeak-ng --voices=en | tail -n +2)
((${#voice_ids[@]})) || fail "no English espeak-ng voice works here (espeak-ng --voices=en)"

variant_ids=() variant_files=()
declare -A used_id=()
while IFS= read -r line; do
  [[ $line == *'!v/'* ]] || continue
  file=${line#*!v/}
  file=${file%% (*}
  file=${file%"${file##*[! ]}"}
  [[ -n $file && -z ${used_file["!v/$file"]:-} ]] || continue
  used_file["!v/$file"]=1
  sanitize "$file"; id=$HR
  n=2; base=$id
  while [[ -n ${used_id[$id]:-} ]]; do id=$base-$n; n=$((n + 1)); done
  if probe "${voice_files[0]}+$file"; then
    used_id[$id]=1; variant_ids+=("$id"); variant_files+=("$file")
  else
    failed+=("variant $id: $(<"$tmp/reason")")
  fi
done < <(espeak-ng --voices=variant | tail -n +2)
((${#variant_ids[@]})) || fail "no espeak-ng voice variant works here (espeak-ng --voices=variant)"

# --- speakers and their split (seeded shuffle, 80/10/10)
fnv1a "spoken-digits/$seed"; hseed=$HR
sp_name=() sp_voice=() sp_variant=() sp_hash=() sp_split=()
for ((i = 0; i < ${#voice_ids[@]}; i++)); do
  for ((j = 0; j < ${#variant_ids[@]}; j++)); do
    name="${voice_ids[i]}+${variant_ids[j]}"
    fnv1a "$name"
    sp_name+=("$name"); sp_voice+=("$i"); sp_variant+=("$j"); sp_hash+=("$HR")
  done
done
nsp=${#sp_name[@]}
ntrain=$(((nsp * 8 + 5) / 10)); nval=$(((nsp + 5) / 10))
combine "$hseed" 1; hsplit=$HR
for ((s = 0; s < nsp; s++)); do
  combine "$hsplit" "${sp_hash[s]}"; echo "$HR $s"
done >"$tmp/split-keys"
r=0
while read -r _ s; do
  if ((r < ntrain)); then sp_split[s]=train
  elif ((r < ntrain + nval)); then sp_split[s]=val
  else sp_split[s]=test; fi
  r=$((r + 1))
done < <(sort -k1,1n -k2,2n "$tmp/split-keys")

# --- which (speed, pitch) combinations each speaker says each digit at
npitch=${#pitches[@]}
ncomb=$((${#speeds[@]} * npitch))
ndigit=${#words[@]}
all=$((nsp * ncomb * ndigit))
declare -A extra=()
if ((all <= max_all)); then
  per=$ncomb; remainder=0
  mode="all $all combinations"
else
  per_digit=$((target_clips / ndigit))
  per=$((per_digit / nsp)); remainder=$((per_digit % nsp))
  mode="a seeded subset of $((per_digit * ndigit)) of $all combinations"
  if ((remainder)); then  # the speakers that say a digit once more than the others
    combine "$hseed" 2; hextra=$HR
    for ((d = 0; d < ndigit; d++)); do
      for ((s = 0; s < nsp; s++)); do
        combine "$hextra" "${sp_hash[s]}"; combine "$HR" "$d"; echo "$d $HR $s"
      done
    done | sort -k1,1n -k2,2n -k3,3n | awk -v r="$remainder" '{ if (n[$1]++ < r) print $1, $3 }' >"$tmp/extra"
    while read -r d s; do extra["$d $s"]=1; done <"$tmp/extra"
  fi
fi

combine "$hseed" 3; hpick=$HR
base_order=()
for ((c = 0; c < ncomb; c++)); do base_order+=("$c"); done
declare -A in_plan=()
for ((d = 0; d < ndigit; d++)); do
  word=${words[d]}
  for ((s = 0; s < nsp; s++)); do
    m=$((per + ${extra["$d $s"]:-0}))
    ((m > 0)) || continue
    i=${sp_voice[s]}; j=${sp_variant[s]}
    order=("${base_order[@]}")
    combine "$hpick" "${sp_hash[s]}"; combine "$HR" "$d"; state32=$HR
    for ((k = 0; k < m; k++)); do   # partial Fisher-Yates shuffle
      fmix32 $((state32 + 0x6d2b79f5)); state32=$HR
      x=$((k + HR % (ncomb - k)))
      t=${order[k]}; order[k]=${order[x]}; order[x]=$t
      c=${order[k]}
      speed=${speeds[c / npitch]}; pitch=${pitches[c % npitch]}
      rel="${sp_split[s]}/$word/${sp_name[s]}_s${speed}_p${pitch}.wav"
      in_plan[$rel]=1
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${sp_split[s]}" "$word" \
        "${voice_ids[i]}" "${voice_files[i]}" "${variant_ids[j]}" "${variant_files[j]}" "$speed" "$pitch" "$rel"
    done
  done
done >"$tmp/plan.tsv"
nplan=$(wc -l <"$tmp/plan.tsv")

echo "voices: ${#voice_ids[@]} (${voice_ids[*]})"
echo "variants: ${#variant_ids[@]}; speakers: $nsp (train $ntrain, val $nval, test $((nsp - ntrain - nval)))"
echo "speeds: ${speeds[*]}; pitches: ${pitches[*]}; clips: $mode (seed $seed)"
if ((${#failed[@]})); then
  echo "not usable here (skipped):"
  printf '  %s\n' "${failed[@]}"
fi

# --- what is already done: records are "status split digit file voice variant speed pitch frames"
declare -A record=()
consolidate() {  # keep the valid records of planned clips in records.tsv; drop per-process parts
  local files=("$state"/records.tsv "$state"/part.*.tsv) line status rel frames
  record=()
  for f in "${files[@]}"; do
    [[ -f $f ]] || continue
    while IFS= read -r line; do
      IFS=$'\t' read -r status _ _ rel _ _ _ _ frames <<<"$line"
      [[ -n ${in_plan[$rel]:-} && $frames =~ ^[0-9]+$ ]] || continue
      if [[ $status == skip || ($status == ok && -f $out/$rel) ]]; then record[$rel]=$line; fi
    done <"$f"
  done
  if ((${#record[@]})); then printf '%s\n' "${record[@]}"; fi | sort >"$state/records.tsv.new"
  mv -f "$state/records.tsv.new" "$state/records.tsv"
  rm -f "$state"/part.*.tsv
}
consolidate

# remove clips that are not in the plan (or left half-written by an interrupted run)
mkdir -p "$out"/{train,val,test}
for split in train val test; do for word in "${words[@]}"; do mkdir -p "$out/$split/$word"; done; done
removed=0
while IFS= read -r -d '' f; do
  rel=${f#"$out"/}
  if [[ $f == */.*.tmp || -z ${in_plan[$rel]:-} ]]; then rm -f "$f"; removed=$((removed + 1)); fi
done < <(find "$out/train" "$out/val" "$out/test" -type f \( -name '*.wav' -o -name '.*.tmp' \) -print0)
((removed == 0)) || echo "removed $removed stale file(s)"

while IFS= read -r line; do
  rel=${line##*$'\t'}
  [[ -n ${record[$rel]:-} ]] || printf '%s\n' "$line"
done <"$tmp/plan.tsv" >"$tmp/todo.tsv"
ntodo=$(wc -l <"$tmp/todo.tsv")

# --- synthesis
make_clips() {  # make_clips PLAN-LINE... (run by xargs; appends records to $STATE/part.<pid>.tsv)
  local line split word vid vfile varid varfile speed pitch rel dst part frames status
  local rec="$STATE/part.$BASHPID.tsv" raw="$TMPD/raw.$BASHPID.wav" err="$TMPD/err.$BASHPID"
  for line; do
    IFS=$'\t' read -r split word vid vfile varid varfile speed pitch rel <<<"$line"
    dst="$OUT/$rel"; part="${dst%/*}/.${dst##*/}.tmp"
    if ! espeak-ng -v "$vfile+$varfile" -s "$speed" -p "$pitch" -w "$raw" "$word" 2>"$err" \
      || ! sox -R -V1 "$raw" -t wav -e signed-integer -b 16 -c 1 "$part" \
             silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse rate -v "$RATE" 2>>"$err" \
      || ! frames=$(soxi -s "$part" 2>>"$err"); then
      rm -f "$part"
      printf '%s\t%s\n' "$rel" "$(head -n 1 "$err" | tr '\t' ' ')" >>"$TMPD/failed.$BASHPID"
      continue
    fi
    if ((frames < RATE / 10)); then
      rm -f "$part"; status=skip
    else
      mv -f "$part" "$dst"; status=ok
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
      "$status" "$split" "$word" "$rel" "$vid" "$varid" "$speed" "$pitch" "$frames" >>"$rec"
  done
  return 0
}
export -f make_clips
export OUT=$out STATE=$state TMPD=$tmp RATE=$rate

if ((ntodo == 0)); then
  echo "all $nplan planned clips are already in $out"
else
  echo "making $ntodo of $nplan clips at $rate Hz with $jobs job(s) ..."
  batch=$(((ntodo + jobs * 8 - 1) / (jobs * 8)))
  ((batch <= 100)) || batch=100
  (
    trap - EXIT INT
    trap 'exit 0' TERM
    while sleep 20; do
      done_now=$(cat "$state"/part.*.tsv "$tmp"/failed.* 2>/dev/null | wc -l || true)
      echo "  $done_now / $ntodo"
    done
  ) &
  monitor=$!
  xargs -d '\n' -a "$tmp/todo.tsv" -P "$jobs" -n "$batch" bash -c 'make_clips "$@"' make_clips \
    || fail "synthesis failed"
  kill "$monitor" 2>/dev/null || true
  wait "$monitor" 2>/dev/null || true
  monitor=""
fi
consolidate

# --- manifest, speaker list, skipped list, summary
{
  printf 'split\tdigit\tfile\tvoice\tvariant\tspeed\tpitch\tframes\n'
  awk -F'\t' -v OFS='\t' '$1 == "ok" { print $2, $3, $4, $5, $6, $7, $8, $9 }' "$state/records.tsv" | sort
} >"$out/manifest.tsv.new"
mv -f "$out/manifest.tsv.new" "$out/manifest.tsv"
{
  printf 'split\tdigit\tfile\tvoice\tvariant\tspeed\tpitch\tframes\n'
  awk -F'\t' -v OFS='\t' '$1 == "skip" { print $2, $3, $4, $5, $6, $7, $8, $9 }' "$state/records.tsv" | sort
} >"$out/skipped.tsv"
{
  printf 'speaker\tvoice\tvariant\tsplit\n'
  for ((s = 0; s < nsp; s++)); do
    printf '%s\t%s\t%s\t%s\n' "${sp_name[s]}" "${voice_ids[${sp_voice[s]}]}" "${variant_ids[${sp_variant[s]}]}" "${sp_split[s]}"
  done | sort
} >"$out/speakers.tsv"

nskip=$(($(wc -l <"$out/skipped.tsv") - 1))
nfailed=0
if compgen -G "$tmp/failed.*" >/dev/null; then
  sort "$tmp"/failed.* >"$tmp/failed.tsv"
  nfailed=$(wc -l <"$tmp/failed.tsv")
fi
for split in train val test; do
  awk -F'\t' -v s="$split" -v rate="$rate" '
    NR > 1 && $1 == s { n++; frames += $8 }
    END { printf "%-6s %6d clips %9.1f s\n", s ":", n, frames / rate }' "$out/manifest.tsv"
done
echo "skipped as shorter than 0.1 s: $nskip; failed: $nfailed; time: $((SECONDS - start)) s; manifest: $out/manifest.tsv"
if ((nfailed)); then
  echo "failed clips (run again to retry):" >&2
  head -n 20 "$tmp/failed.tsv" | sed 's/^/  /' >&2
  exit 1
fi
