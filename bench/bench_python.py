#!/usr/bin/env python3
"""Python's overhead per image for predict and explain, against the same work in C++, same run.

For each of predict and explain, the same images are processed (a) from Python through the package
(`Model.predict(path)`, `Model.explain(path)`: argument conversion, GIL release, numpy results) and
(b) by a C++ loop over the library's own batch calls (`model::predict_files`, `model::explain_files`,
bound as bowlrp._bowlrp._timing, no Python per image), in alternating rounds; the best round of
each side is kept and nothing is subtracted. Ratio = Python / C++ (target <= 1.05). Two modes:
per image (one call per image, single-threaded: the per-call overhead) and batch (one call for
all images with --threads workers).

Images: the first --images ids of VOC2007 ImageSets/Main/val.txt. Model: --model PATH, else one
fitted here on --train images of train.txt labelled person / no person (person_train.txt).

    PYTHONPATH=build/python /usr/bin/python3 bench/bench_python.py [--voc ROOT] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

import bowlrp
from bowlrp import _bowlrp


def voc_root(arg: str | None) -> pathlib.Path:
    here = pathlib.Path(__file__).resolve().parents[1]
    for c in (arg, os.environ.get("BOWLRP_VOC_ROOT"), str(here / ".." / "shared" / "datasets" / "voc2007" / "VOCdevkit" / "VOC2007")):
        if c and (pathlib.Path(c) / "JPEGImages").is_dir():
            return pathlib.Path(c)
    sys.exit("VOC2007 not found: give --voc ROOT or set BOWLRP_VOC_ROOT")


def ids(root: pathlib.Path, image_set: str, n: int) -> list:
    return (root / "ImageSets" / "Main" / f"{image_set}.txt").read_text().split()[:n]


def train_model(root: pathlib.Path, n: int, words: int, threads: int):
    labels = {}
    for line in (root / "ImageSets" / "Main" / "person_train.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            labels[parts[0]] = "person" if parts[1] == "1" else "other"
    chosen = ids(root, "train", n)
    paths = [str(root / "JPEGImages" / f"{i}.jpg") for i in chosen]
    y = [labels.get(i, "other") for i in chosen]
    if len(set(y)) < 2:
        sys.exit("the training images hold one class only; use more --train images")
    t0 = time.perf_counter()
    model = bowlrp.fit(paths, y, words=words, threads=threads)
    return model, time.perf_counter() - t0


def python_predict(model, paths, threads, per_image):
    t0 = time.perf_counter()
    if per_image:
        ok = sum(bool(model.predict(p, threads=threads).ok[0]) for p in paths)
    else:
        ok = int(model.predict(paths, threads=threads).ok.sum())
    return time.perf_counter() - t0, ok


def python_explain(model, paths, threads, per_image):
    t0 = time.perf_counter()
    if per_image:
        ok = 0
        for p in paths:
            e = model.explain(p, threads=threads)
            e.relevance  # the numpy view a user reads
            ok += e.error == ""
    else:
        ok = sum(e.error == "" for e in model.explain(paths, threads=threads))
    return time.perf_counter() - t0, ok


def measure(name, py_fn, cpp_fn, model, paths, threads, per_image, rounds):
    py_times, cpp_times = [], []
    for _ in range(rounds):  # alternate, so that load changes hit both sides alike
        t, ok = py_fn(model, paths, threads, per_image)
        assert ok == len(paths), f"{name}: Python processed {ok} of {len(paths)} images"
        py_times.append(t)
        t, ok = cpp_fn(model, paths, threads, per_image)
        assert ok == len(paths), f"{name}: C++ processed {ok} of {len(paths)} images"
        cpp_times.append(t)
    py, cpp = min(py_times), min(cpp_times)
    return {
        "what": name,
        "mode": "per image" if per_image else "batch",
        "threads": threads,
        "images": len(paths),
        "rounds": rounds,
        "python_ms_per_image": 1000 * py / len(paths),
        "cpp_ms_per_image": 1000 * cpp / len(paths),
        "overhead_ms_per_image": 1000 * (py - cpp) / len(paths),
        "ratio": py / cpp,
        "python_s_rounds": py_times,
        "cpp_s_rounds": cpp_times,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voc", help="VOC2007 root (default: $BOWLRP_VOC_ROOT or ../shared/...)")
    ap.add_argument("--model", help="model file (default: fit one on --train images)")
    ap.add_argument("--images", type=int, default=30, help="val images timed (default 30)")
    ap.add_argument("--train", type=int, default=40, help="train images of the quick model (default 40)")
    ap.add_argument("--words", type=int, default=256, help="codebook size of the quick model (default 256)")
    ap.add_argument("--threads", type=int, default=0, help="workers of the batch mode (0: all cores)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds, best kept (default 3)")
    ap.add_argument("--json", default="bench_python.json", help="output file (default bench_python.json)")
    args = ap.parse_args()

    root = voc_root(args.voc)
    paths = [str(root / "JPEGImages" / f"{i}.jpg") for i in ids(root, "val", args.images)]
    fit_seconds = None
    if args.model:
        model = bowlrp.load(args.model)
    else:
        model, fit_seconds = train_model(root, args.train, args.words, args.threads)
    threads = bowlrp.resolve_threads(args.threads)

    rows = []
    for per_image, t in ((True, 1), (False, threads)):
        rows.append(measure("predict", python_predict, _bowlrp._timing.predict_files, model, paths, t, per_image, args.rounds))
        rows.append(measure("explain", python_explain, _bowlrp._timing.explain_files, model, paths, t, per_image, args.rounds))

    print(f"bowlrp {bowlrp.__version__}: {len(paths)} VOC2007 val images, model {model!r}"
          + (f" (fitted in {fit_seconds:.1f} s)" if fit_seconds else ""))
    header = f"{'call':<8} {'mode':<10} {'thr':>3} {'Python ms/img':>14} {'C++ ms/img':>11} {'overhead ms':>12} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['what']:<8} {r['mode']:<10} {r['threads']:>3} {r['python_ms_per_image']:>14.2f} "
              f"{r['cpp_ms_per_image']:>11.2f} {r['overhead_ms_per_image']:>12.3f} {r['ratio']:>7.3f}")
    worst = max(r["ratio"] for r in rows)
    print(f"worst ratio {worst:.3f} (target <= 1.05): {'met' if worst <= 1.05 else 'NOT met'}")
    out = {
        "bench": "bench_python",
        "version": bowlrp.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "voc_root": str(root),
        "images": [os.path.basename(p) for p in paths],
        "model": args.model or {"train_images": args.train, "words": args.words, "fit_seconds": fit_seconds},
        "rows": rows,
        "worst_ratio": worst,
        "target_ratio": 1.05,
    }
    pathlib.Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
