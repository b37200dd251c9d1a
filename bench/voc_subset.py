#!/usr/bin/python3
"""Builds a VOC2007-layout folder that lists only a seeded subset of the train and val images, so that
bowlrp and the peer (which picks its own --max-images subset with numpy's generator) run on exactly
the same images. Nothing is copied: JPEGImages, Annotations and SegmentationClass are symbolic links
to the real folders; only ImageSets/Main/<set>.txt and <class>_<set>.txt are written, restricted to
the chosen ids (lines kept verbatim, file order kept).

The choice is stratified like `bowlrp voc --max-images`: classes take turns taking their next positive
in a seeded order until each holds min(its positives, max(1, n / (2 C))); the rest are the seeded
order's next images. So every class has positives to train on even in small subsets.

usage: voc_subset.py --voc ROOT/VOC2007 --out DIR --images N [--seed S] [--sets train,val]
Writes DIR/VOC2007 and prints its path.
"""
import argparse
import os
import random
import sys


def read_lines(path):
    with open(path) as f:
        return [l.rstrip('\n') for l in f if l.strip()]


def choose(ids, labels, n, seed):
    """labels: class -> {id: label}. Returns the chosen ids in list order."""
    if n <= 0 or n >= len(ids):
        return list(ids)
    rng = random.Random(seed)
    order = list(ids)
    rng.shuffle(order)
    classes = sorted(labels)
    quota = max(1, n // (2 * len(classes)))
    taken, chosen = set(), []
    cursor = {c: 0 for c in classes}
    have = {c: 0 for c in classes}
    progress = True
    while progress and len(chosen) < n:
        progress = False
        for c in classes:
            if have[c] >= quota or len(chosen) >= n:
                continue
            while cursor[c] < len(order):
                i = order[cursor[c]]
                cursor[c] += 1
                if labels[c].get(i) == 1 and i not in taken:
                    taken.add(i)
                    chosen.append(i)
                    for d in classes:
                        if labels[d].get(i) == 1:
                            have[d] += 1
                    progress = True
                    break
    for i in order:
        if len(chosen) >= n:
            break
        if i not in taken:
            taken.add(i)
            chosen.append(i)
    keep = set(chosen)
    return [i for i in ids if i in keep]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--voc', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--images', type=int, required=True, help='images per set (0 = all)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--sets', default='train,val')
    a = ap.parse_args()
    src = os.path.abspath(a.voc)
    main_dir = os.path.join(src, 'ImageSets', 'Main')
    dst = os.path.join(os.path.abspath(a.out), 'VOC2007')
    os.makedirs(os.path.join(dst, 'ImageSets', 'Main'), exist_ok=True)
    for sub in ('JPEGImages', 'Annotations', 'SegmentationClass'):
        link = os.path.join(dst, sub)
        if os.path.isdir(os.path.join(src, sub)) and not os.path.lexists(link):
            os.symlink(os.path.join(src, sub), link)
    for k, s in enumerate(a.sets.split(',')):
        ids = [l.split()[0] for l in read_lines(os.path.join(main_dir, s + '.txt'))]
        files = sorted(f for f in os.listdir(main_dir) if f.endswith('_' + s + '.txt') and f.count('_') == 1)
        labels = {}
        for f in files:
            c = f[:-len('_' + s + '.txt')]
            labels[c] = {l.split()[0]: int(l.split()[1]) for l in read_lines(os.path.join(main_dir, f))}
        if not labels:
            sys.exit(f'voc_subset.py: no <class>_{s}.txt lists in {main_dir}')
        chosen = choose(ids, labels, a.images, a.seed * 1000003 + k)
        keep = set(chosen)
        with open(os.path.join(dst, 'ImageSets', 'Main', s + '.txt'), 'w') as f:
            f.write(''.join(i + '\n' for i in chosen))
        for f in files:
            lines = [l for l in read_lines(os.path.join(main_dir, f)) if l.split()[0] in keep]
            with open(os.path.join(dst, 'ImageSets', 'Main', f), 'w') as g:
                g.write(''.join(l + '\n' for l in lines))
    print(dst)


if __name__ == '__main__':
    main()
