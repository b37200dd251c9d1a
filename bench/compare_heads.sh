#!/usr/bin/env bash
# The network head against the kernel SVM on VOC2007 Bag-of-Words, as in the README ("Network heads"):
# a BoW + kernel-SVM protocol run (its cache holds every image's histogram), a network-head run on the
# same cache, explanation quality of the network under each composite on the same 60 (class, image)
# pairs (3 seeded positives per class) and of the SVM, 12 val images explained by every variant, and the
# side-by-side page (bowlrp compare --heatmaps). Usage: bench/compare_heads.sh [OUT] (default runs-heads/);
# BOWLRP_VOC_ROOT and BOWLRP (the bowlrp binary, default build/apps/bowlrp) may be set.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
B="${BOWLRP:-$here/build/apps/bowlrp}"
VOC="${BOWLRP_VOC_ROOT:-$here/../shared/datasets/voc2007/VOCdevkit/VOC2007}"
OUT="${1:-runs-heads}"
mkdir -p "$OUT" && cd "$OUT"
C="$PWD/cache"
rules=(z alpha1beta0 alpha2beta1 "input=z,output=epsilon:0.01" "input=w2,output=epsilon:0.01")
name() { echo "$1" | tr ':=,;' '____'; }
[ -f svm/report.json ] || "$B" voc --root "$VOC" --cache "$C" --explain 3 --out svm --quiet
[ -f mlp/report.json ] || "$B" voc --root "$VOC" --head mlp --cache "$C" --explain 3 --out mlp --quiet
for r in "${rules[@]}"; do
  n=q_$(name "$r")
  [ -f "$n/report.json" ] || "$B" voc --root "$VOC" --model mlp/model.bowlrp --cache "$C" --explain 3 --rule "$r" --out "$n" --quiet
done
explain_all() {  # MODEL OUT [RULE]
  local extra=()
  [ -n "${3:-}" ] && extra=(--rule "$3")
  for pair in car:000007,000020 dog:000021,000063 person:000009,000021 cat:000019,000099 bird:000046,000109 \
              aeroplane:000117,000268; do
    local c=${pair%%:*} ids=${pair#*:} files=()
    for i in ${ids//,/ }; do files+=("$VOC/JPEGImages/$i.jpg"); done
    mkdir -p "$2/$c"
    "$B" explain --model "$1" --class "$c" "${extra[@]}" --out "$2/$c" --quiet "${files[@]}"
    for f in "$2/$c"/*; do mv "$f" "$2/${c}_$(basename "$f")"; done
    rmdir "$2/$c"
  done
}
rm -rf hm_svm hm_epsilon && explain_all svm/model.bowlrp hm_svm && explain_all mlp/model.bowlrp hm_epsilon epsilon
names="SVM (hik) LRP,mlp epsilon" maps="hm_svm,hm_epsilon" runs=(svm mlp)
for r in "${rules[@]}"; do
  n=$(name "$r")
  rm -rf "hm_$n" && explain_all mlp/model.bowlrp "hm_$n" "$r"
  names="$names,mlp $n" maps="$maps,hm_$n" runs+=("q_$n")
done
"$B" compare --out compare --names "$names" --heatmaps "$maps" "${runs[@]}"
