#!/usr/bin/env bash
# Start-up cost of bowlrp (README "Benchmarks"): for each build directory given, in one run,
#   - `bowlrp --version`: median wall and CPU time of --runs runs (default 20);
#   - `python3 -c "import bowlrp"` (PYTHONPATH=<build>/python): median of --py-runs runs (default 10);
#   - `bowlrp predict --model M IMAGE` of one JPEG and of one PNG: median of --predict-runs runs
#     (default 10), with a small model trained once by the first build on generated shapes (the
#     model file is read by every build: the format is the same);
#   - the shared objects each of these maps: the number the dynamic loader loads (LD_DEBUG=files,
#     "generating link map" entries: the dependencies and everything dlopen'd, Python's own
#     extension modules included) and their mapped size in MB.
# Builds are measured alternately (A B A B ...), so that load on a shared machine hits both alike;
# `uptime` is printed before and after. Compare builds within one run, not absolute times across runs.
#
# usage: bench/startup.sh [--runs N] [--py-runs N] [--predict-runs N] [--jpeg IMAGE] [--work DIR]
#                         [BASELINE_BUILD] [BUILD]
#   BUILD defaults to ./build of this checkout; BASELINE_BUILD (optional) is measured beside it.
#   --jpeg defaults to VOC2007 000005.jpg (BOWLRP_VOC_ROOT or ../shared), else a JPEG made from a shape.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(dirname "$here")"
runs=20
py_runs=10
predict_runs=10
jpeg=""
work=""
builds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --py-runs) py_runs="$2"; shift 2 ;;
    --predict-runs) predict_runs="$2"; shift 2 ;;
    --jpeg) jpeg="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "bench/startup.sh: unknown flag '$1' (try --help)" >&2; exit 2 ;;
    *) builds+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
[ ${#builds[@]} -le 2 ] || { echo "bench/startup.sh: at most two build directories (BASELINE_BUILD BUILD)" >&2; exit 2; }
[ ${#builds[@]} -eq 2 ] || builds+=("$src/build")
for b in "${builds[@]}"; do
  [ -x "$b/apps/bowlrp" ] || { echo "bench/startup.sh: $b/apps/bowlrp is missing (build it first)" >&2; exit 2; }
done
[ -n "$work" ] || work="$(mktemp -d)"
mkdir -p "$work"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

echo "load before: $(uptime)"
first="${builds[-1]}/apps/bowlrp"
# A small model on generated shapes, and one PNG and one JPEG to predict.
if [ ! -f "$work/model.bowlrp" ]; then
  "$first" demo --out "$work/demo" --images-per-class 20 --gallery 0 --explain 0 --words 64 --threads 2 > "$work/demo.log" 2>&1 ||
    { cat "$work/demo.log" >&2; exit 1; }
  "$first" train --data "$work/demo/shapes/images" --words 64 --threads 2 --out "$work/model.bowlrp" \
    > "$work/train.log" 2>&1 || { cat "$work/train.log" >&2; exit 1; }
fi
png="$(find "$work/demo/shapes/images" -name '*.png' | sort | head -1)"
if [ -z "$jpeg" ]; then
  voc="${BOWLRP_VOC_ROOT:-$src/../shared/datasets/voc2007/VOCdevkit/VOC2007}"
  jpeg="$voc/JPEGImages/000005.jpg"
  if [ ! -f "$jpeg" ]; then
    jpeg="$work/shape.jpg"
    "$python" -c "import sys, cv2; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))" "$png" "$jpeg"
  fi
fi

# median_ms N CMD...: "<wall>/<cpu>": median wall time and median CPU time (user + system, from
# getrusage of the children) of N runs in ms (output discarded; a failing run is an error). CPU time
# is less sensitive than wall time to other work on the machine.
median_ms() {
  "$python" - "$@" <<'PY'
import resource, statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
wall, cpu = [], []
for _ in range(n):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit("bench/startup.sh: failed: %s\n%s" % (" ".join(cmd), done.stderr.decode(errors="replace")))
    wall.append((t1 - t0) * 1e3)
    cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1e3)
print("%.0f/%.0f" % (statistics.median(wall), statistics.median(cpu)))
PY
}

# objects CMD...: "<count> / <MB>" of the shared objects the dynamic loader maps for CMD: the
# "generating link map" entries of LD_DEBUG=files (dependencies and everything dlopen'd) and the sum
# of their mapped sizes.
objects() {
  local log="$work/ld.$$"
  rm -f "$log".*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$log" "$@" > /dev/null 2>&1 || true
  cat "$log".* | "$python" -c '
import re, sys
n = size = 0
want = False
for line in sys.stdin:
    if "generating link map" in line:
        n, want = n + 1, True
    elif want and "size: 0x" in line:
        size, want = size + int(re.search(r"size: 0x([0-9a-f]+)", line).group(1), 16), False
print("%d / %.0f MB" % (n, size / 1048576))'
  rm -f "$log".*
}

declare -A res
for b in "${builds[@]}"; do
  tool="$b/apps/bowlrp"
  res[$b,version_n]=$(objects "$tool" --version)
  res[$b,import_n]=$(PYTHONPATH="$b/python" objects "$python" -c "import bowlrp")
  res[$b,jpeg_n]=$(objects "$tool" predict --model "$work/model.bowlrp" "$jpeg")
  res[$b,png_n]=$(objects "$tool" predict --model "$work/model.bowlrp" "$png")
done
# Timings, builds alternating in each round.
rounds=3
for r in $(seq $rounds); do
  for b in "${builds[@]}"; do
    tool="$b/apps/bowlrp"
    res[$b,version,$r]=$(median_ms $(( (runs + rounds - 1) / rounds )) "$tool" --version)
    res[$b,import,$r]=$(PYTHONPATH="$b/python" median_ms $(( (py_runs + rounds - 1) / rounds )) "$python" -c "import bowlrp")
    res[$b,jpeg,$r]=$(median_ms $(( (predict_runs + rounds - 1) / rounds )) "$tool" predict --model "$work/model.bowlrp" "$jpeg")
    res[$b,png,$r]=$(median_ms $(( (predict_runs + rounds - 1) / rounds )) "$tool" predict --model "$work/model.bowlrp" "$png")
  done
done
echo "load after:  $(uptime)"
echo
echo "median wall/CPU (user + system) time in ms, one column per round (rounds alternate the builds);"
echo "shared objects the dynamic loader maps (LD_DEBUG=files link maps, dlopen included) / their mapped size"
printf '%-34s %-36s %s\n' "" "${builds[@]}"
for what in version import jpeg png; do
  case $what in
    version) label="bowlrp --version" ;;
    import) label="python3 -c 'import bowlrp'" ;;
    jpeg) label="bowlrp predict (1 JPEG)" ;;
    png) label="bowlrp predict (1 PNG)" ;;
  esac
  line=""
  for b in "${builds[@]}"; do
    cell=""
    for r in $(seq $rounds); do cell="$cell${cell:+ }${res[$b,$what,$r]}"; done
    line="$line$(printf '%-36s ' "$cell")"
  done
  printf '%-34s %s\n' "$label (ms)" "$line"
  line=""
  for b in "${builds[@]}"; do line="$line$(printf '%-36s ' "${res[$b,${what}_n]}")"; done
  printf '%-34s %s\n' "  shared objects / MB mapped" "$line"
done
echo
echo "JPEG: $jpeg"
echo "PNG:  $png"
echo "work: $work"
