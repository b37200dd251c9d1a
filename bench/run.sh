#!/usr/bin/env bash
# The benchmark suite of bowlrp, in one command (see README "Benchmarks"):
#   1. bowlrp_bench: every stage per image and for training, with floors measured in the same run,
#      and bench_python.py: Python's overhead per image for predict and explain against C++
#      (bare vl_dsift, SGEMM rate, memory bandwidth), medians over repetitions, ratios vs targets;
#   2. end to end, `bowlrp voc` against the peer (../shared/peer/sklearn_bow.py) on the SAME VOC2007
#      train and val images: geometry matched (step 8, supports 16/24/32 px, K 1024, no pyramid) and
#      both tools' defaults; wall time and peak RSS by /usr/bin/time -v, mAP from both JSON outputs;
#   3. with --full: the whole VOC2007 train -> val protocol under /usr/bin/time -v (time, peak memory).
# Everything lands in OUT/<date-time>/ (default OUT = build-bench/bench-results) with summary.json;
# the previous run in OUT is compared with this one. Results are not committed.
#
# usage: bench/run.sh [--out DIR] [--images N] [--bench-images N] [--train-images M] [--repeats R]
#                     [--full] [--no-bench] [--no-peer] [--no-e2e] [--build DIR] [--voc ROOT]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(dirname "$here")"
build="$src/build-bench"
out=""
images=200          # per split, end-to-end comparison (the peer takes ~1.2 s per image)
bench_images=16     # per-image stages
train_images=200    # training stages of bowlrp_bench
repeats=5
full=0
stages=1
peer=1
e2e=1
voc="${BOWLRP_VOC_ROOT:-$src/../shared/datasets/voc2007/VOCdevkit/VOC2007}"
peer_script="$src/../shared/peer/sklearn_bow.py"

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --images) images="$2"; shift 2 ;;
    --bench-images) bench_images="$2"; shift 2 ;;
    --train-images) train_images="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --full) full=1; shift ;;
    --no-bench) stages=0; shift ;;
    --no-peer) peer=0; shift ;;
    --no-e2e) e2e=0; shift ;;
    --build) build="$2"; shift 2 ;;
    --voc) voc="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown flag '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$build/bench-results"
voc="$(cd "$voc" && pwd)" || { echo "bench/run.sh: VOC2007 root '$voc' not found (set --voc or BOWLRP_VOC_ROOT)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench/run.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 2; }

# 1. build (incremental; a no-op when up to date)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBOWLRP_BUILD_TESTS=OFF > "$build.cmake.log" 2>&1 ||
  { cat "$build.cmake.log" >&2; exit 1; }
make -C "$build" -j2 bowlrp_bench bowlrp _bowlrp > "$build.make.log" 2>&1 || { tail -50 "$build.make.log" >&2; exit 1; }
bench="$build/bench/bowlrp_bench"
tool="$build/apps/bowlrp"

mkdir -p "$out"
prev="$(ls -1d "$out"/20* 2>/dev/null | tail -1 || true)"
run="$out/$(date +%Y-%m-%d_%H%M%S)"
mkdir -p "$run"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cat > "$run/meta.json" <<EOF
{"date": "$(date -Iseconds)", "host": "$(hostname)", "cores": $(nproc), "git": "$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$src" diff --quiet 2>/dev/null || echo +dirty)",
 "uptime_before": "$(uptime)", "images_per_split": $images, "bench_images": $bench_images, "train_images": $train_images,
 "repeats": $repeats, "voc": "$voc"}
EOF
echo "== bowlrp benchmarks -> $run"
echo "uptime: $(uptime)"
echo "(2-core machine shared with other work: a load average above ~2 means every number was taken under load)"

# 2. per-stage benchmark with its floors
if [ "$stages" = 1 ]; then
  echo "== per-stage benchmark (bowlrp_bench)"
  "$bench" --voc "$voc" --images "$bench_images" --train-images "$train_images" --repeats "$repeats" \
    --json "$run/bench.json" 2> "$run/bench.log" | tee "$run/bench.txt"
fi

# 2b. Python's overhead per image for predict and explain, against the same calls made in C++ in the
# same process (bench/bench_python.py; target: ratio <= 1.05)
if [ "$stages" = 1 ]; then
  echo "== Python against C++ (bench_python.py)"
  PYTHONPATH="$build/python" /usr/bin/python3 "$here/bench_python.py" --voc "$voc" --json "$run/bench_python.json" \
    2> "$run/bench_python.log" | tee "$run/bench_python.txt"
fi

# 3. end to end against the peer, on the same images
timed() {  # timed NAME CMD...: runs CMD under /usr/bin/time -v, log in RUN/NAME.log, times in RUN/NAME.time
  local name="$1"; shift
  echo "-- $name: $*"
  /usr/bin/time -v -o "$run/$name.time" "$@" > "$run/$name.log" 2>&1 ||
    { echo "bench/run.sh: '$name' failed, see $run/$name.log" >&2; tail -20 "$run/$name.log" >&2; return 1; }
}
if [ "$e2e" = 1 ]; then
  echo "== end to end on the same $images train + $images val images, 20 classes"
  subset="$(/usr/bin/python3 "$here/voc_subset.py" --voc "$voc" --out "$tmp/voc" --images "$images")"
  common=(voc --root "$subset" --train-set train --test-set val --explain 0 --gallery 0 --no-cache --quiet)
  timed bowlrp-matched "$tool" "${common[@]}" --out "$run/bowlrp-matched" \
    --step 8 --bin-sizes 4,6,8 --words 1024 --pyramid 1x1 || true
  timed bowlrp-defaults "$tool" "${common[@]}" --out "$run/bowlrp-defaults" || true
  if [ "$peer" = 1 ]; then
    if [ -f "$peer_script" ]; then
      timed peer /usr/bin/python3 "$peer_script" --voc "$subset" --train-set train --test-set val \
        --out "$run/peer.json" || true
    else
      echo "bench/run.sh: peer $peer_script not found; skipped" >&2
    fi
  fi
fi

# 4. the full protocol: time and peak memory
if [ "$full" = 1 ]; then
  echo "== full VOC2007 train -> val"
  timed full "$tool" voc --root "$voc" --train-set train --test-set val --explain 0 --gallery 0 --no-cache --quiet \
    --out "$run/full" || true
fi

echo "uptime after: $(uptime)" | tee "$run/uptime_after.txt"
echo "== summary"
/usr/bin/python3 "$here/summarise.py" "$run" "$prev" | tee "$run/summary.txt"
echo "results: $run (summary.json, bench.json, *.log)"
