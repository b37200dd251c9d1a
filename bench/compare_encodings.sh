#!/usr/bin/env bash
# Fisher vectors against Bag-of-Words on PASCAL VOC2007 train -> val, in one run, same images:
#   1. the full protocol of each encoding with --explain 0 under /usr/bin/time -v (mAP, wall, peak memory),
#      unless a model is given (--fisher-model / --bow-model);
#   2. explanation quality of both models on the same --explain N positive val images per class
#      (AOPC for LRP / occlusion / sensitivity / random, localisation in boxes and masks);
#   3. `bowlrp compare`: both reports side by side (compare/index.html, compare/compare.json).
# Usage: bench/compare_encodings.sh [--explain N] [--out DIR] [--fisher-model M] [--bow-model M] [--build DIR]
#                                   [--cache DIR]   (feature cache, default OUT/cache)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
voc=${BOWLRP_VOC_ROOT:-$here/../shared/datasets/voc2007/VOCdevkit/VOC2007}
explain=5 out=$here/build-bench/compare-encodings build=$here/build fisher_model= bow_model= cache=
while [ $# -gt 0 ]; do
  case $1 in
    --explain) explain=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fisher-model) fisher_model=$2; shift 2 ;;
    --bow-model) bow_model=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 1 ;;
  esac
done
bowlrp=$build/apps/bowlrp
[ -x "$bowlrp" ] || { echo "build first: $bowlrp is missing" >&2; exit 1; }
mkdir -p "$out"
for enc in fisher bow; do
  model_var=${enc}_model
  if [ -z "${!model_var}" ]; then
    /usr/bin/time -v -o "$out/$enc-full.time" "$bowlrp" voc --root "$voc" --encoding "$enc" --explain 0 -q \
      --out "$out/$enc-full" --cache "${cache:-$out/cache}"
    printf -v "$model_var" %s "$out/$enc-full/model.bowlrp"
  fi
done
for enc in fisher bow; do
  model_var=${enc}_model
  /usr/bin/time -v -o "$out/$enc-quality.time" "$bowlrp" voc --root "$voc" --model "${!model_var}" \
    --explain "$explain" -q --out "$out/$enc-quality" --cache "${cache:-$out/cache}"
done
"$bowlrp" compare --out "$out/compare" --names fisher,bag-of-words "$out/fisher-quality" "$out/bow-quality"
for f in "$out"/*.time; do
  echo "$(basename "$f"): $(grep -E 'Elapsed' "$f" | sed 's/.*: //') wall, $(grep -E 'Maximum resident' "$f" | awk '{print $NF}') kB peak"
done
