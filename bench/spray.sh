#!/usr/bin/env bash
# Time of `bowlrp spray` against the time of `bowlrp explain` on the same images (target: <= 2x).
#   bench/spray.sh --model MODEL --class CLASS|all [--voc ROOT] [--set val] [--build DIR] [--out DIR]
# With --class all, every class of the model in turn, then the total of both.
# The images are the class's positives of the VOC set; both commands run on all cores, one after the
# other, each under /usr/bin/time -v; the ratio of their wall times and both peak memories are printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(dirname "$here")"
voc="${BOWLRP_VOC_ROOT:-$src/../shared/datasets/voc2007/VOCdevkit/VOC2007}"
set_name=val
build="$src/build"
out="$(mktemp -d)"
model=""
cls=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --class) cls="$2"; shift 2 ;;
    --voc) voc="$2"; shift 2 ;;
    --set) set_name="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "bench/spray.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] && [ -n "$cls" ] || { echo "usage: bench/spray.sh --model MODEL --class CLASS [--voc ROOT]" >&2; exit 2; }
tool="$build/apps/bowlrp"
mkdir -p "$out"
if [ "$cls" = all ]; then
  total_e=0; total_s=0
  for c in aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse motorbike person pottedplant \
           sheep sofa train tvmonitor; do
    "$0" --model "$model" --class "$c" --voc "$voc" --set "$set_name" --build "$build" --out "$out/$c" > "$out/$c.txt"
    e=$(awk '/^explain:/ {print $2}' "$out/$c.txt"); s=$(awk '/^spray:/ {print $2}' "$out/$c.txt")
    n=$(awk '/^explain:/ {print $4}' "$out/$c.txt"); k=$(awk '/maps of class/ {print $7}' "$out/$c.txt")
    printf "%-12s %5s images  explain %7.2f s  spray %7.2f s  ratio %.2f  clusters %s\n" "$c" "$n" "$e" "$s" \
      "$(awk -v s="$s" -v e="$e" 'BEGIN {print s / e}')" "$k"
    total_e=$(awk -v a="$total_e" -v b="$e" 'BEGIN {print a + b}'); total_s=$(awk -v a="$total_s" -v b="$s" 'BEGIN {print a + b}')
  done
  awk -v s="$total_s" -v e="$total_e" 'BEGIN {printf "all classes: explain %.1f s, spray %.1f s, spray / explain = %.2f (target <= 2)\n", e, s, s / e}'
  exit 0
fi
# The class's positives, as `spray --voc` takes them.
list="$out/images.txt"
awk '$2 == 1 {print $1}' "$voc/ImageSets/Main/${cls}_${set_name}.txt" | sed "s|^|$voc/JPEGImages/|; s|$|.jpg|" > "$list"
n=$(wc -l < "$list")
echo "== $n positives of $cls in $set_name; uptime: $(uptime)"
/usr/bin/time -v -o "$out/explain.time" "$tool" explain --model "$model" --class "$cls" --out "$out/explain" --quiet \
  $(cat "$list") > "$out/explain.log" 2>&1
/usr/bin/time -v -o "$out/spray.time" "$tool" spray --model "$model" --class "$cls" --voc "$voc" --set "$set_name" \
  --out "$out/spray" --quiet > "$out/spray.log" 2>&1
wall() { awk -F': ' '/Elapsed/ {split($2, t, ":"); s = 0; for (i = 1; i <= length(t); ++i) s = s * 60 + t[i]; print s}' "$1"; }
rss() { awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$1"; }
e=$(wall "$out/explain.time"); s=$(wall "$out/spray.time")
echo "explain: ${e} s, ${n} images, peak $(rss "$out/explain.time") MiB"
echo "spray:   ${s} s, peak $(rss "$out/spray.time") MiB"
awk -v s="$s" -v e="$e" 'BEGIN {printf "spray / explain = %.2f (target <= 2)\n", s / e}'
grep -E "clusters|cluster [0-9]|time " "$out/spray.log"
echo "outputs in $out"
