#!/usr/bin/env python3
"""SpRAy's preprocessing variants on VOC2007's horse watermark (issue 24; README, SpRAy section).

    bench/spray_horse.py --model voc.bowlrp [--voc VOCdevkit/VOC2007] [--threads N]

The model: `bowlrp train --voc VOC2007 --set train` (the default Bag-of-Words model). Every positive
horse image of val is explained once (spray_images, no causal test); the grid maps are then clustered
with each preprocessing variant (bowlrp.spray, the eigengap's own cluster count), and the cluster
holding most watermarked images is scored: precision = watermarked members / cluster size, recall =
watermarked members in it / all watermarked. WATERMARKED lists the val horse positives that carry the
"C: Lothar Lenz www.pferdefotoarchiv.de" watermark in the lower left, found by looking at the lower-left
quarter of each of the 148 images (2026-12-07).
"""

import argparse
import pathlib
import time

import numpy as np

import bowlrp

WATERMARKED = set("""000328 000435 000760 001254 001927 002183 002261 002520 002633 002786 002842 003294 003362
003618 003696 004662 004789 004935 005741 006611 006617 006645 007448 007919 008867 009024 009841 009954""".split())

VARIANTS = [(f"{n}, {'R+' if p else 'signed'}", dict(normalisation=n, positive=p))
            for p in (False, True) for n in ("max", "l1", "l2", "none")]
for name, base in (("max, R+", dict(normalisation="max", positive=True)), ("l2, signed", dict(normalisation="l2", positive=False))):
    VARIANTS += [(f"{name}, k {k}", dict(base, neighbours=k)) for k in (5, 20)]
    VARIANTS += [(f"{name}, grid {g}", dict(base, grid_width=g, grid_height=g)) for g in (16, 8)]


def main():
    here = pathlib.Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--voc", default=str(here.parent.parent / "shared/datasets/voc2007/VOCdevkit/VOC2007"))
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    voc = pathlib.Path(a.voc)
    ids = [line.split()[0] for line in (voc / "ImageSets/Main/horse_val.txt").read_text().splitlines()
           if line.split()[1] == "1"]
    paths = [voc / "JPEGImages" / f"{i}.jpg" for i in ids]
    model = bowlrp.Model.load(a.model)
    t0 = time.time()
    analysis = bowlrp.spray_images(model, paths, "horse", causal_images=0, threads=a.threads)
    print(f"{len(analysis.analysed)} horse val positives explained in {time.time() - t0:.0f} s; "
          f"{sum(ids[k] in WATERMARKED for k in analysis.analysed)} watermarked")
    marked = np.array([ids[k] in WATERMARKED for k in analysis.analysed])
    # The maps on the finest grid used; coarser grids are their block means (32 divides by 16 and 8).
    print("| variant | precision / recall (clusters) | marked cluster size |")
    print("| --- | --- | --- |")
    for name, options in VARIANTS:
        g = options.get("grid_width", 32)
        maps = analysis.grid_maps if g == 32 else np.stack([bowlrp.downsize_map(m, g, g) for m in analysis.grid_maps])
        r = bowlrp.spray(maps, **{**dict(grid_width=32, grid_height=32), **options})
        counts = np.bincount(r.labels[marked], minlength=r.clusters)
        best = int(counts.argmax())
        precision, recall = counts[best] / r.sizes[best], counts[best] / marked.sum()
        print(f"| {name} | {precision:.2f} / {recall:.2f} ({r.clusters}) | {r.sizes[best]} |")


if __name__ == "__main__":
    main()
