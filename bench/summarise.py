#!/usr/bin/python3
"""Final table of bench/run.sh: bowlrp vs the peer on the same images, ratios against the targets, the
per-stage benchmark's ratios, the full-protocol run, and a comparison with the previous run.

usage: summarise.py RUN_DIR [PREVIOUS_RUN_DIR]
Reads RUN_DIR/{bench.json, peer.json, peer.time, bowlrp-*/report.json, bowlrp-*.time, full/...};
writes RUN_DIR/summary.json and prints the table.
"""
import json
import os
import re
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def gnu_time(path):
    """Wall seconds and peak RSS (bytes) from `/usr/bin/time -v` output."""
    try:
        text = open(path).read()
    except OSError:
        return None
    wall = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)', text)
    rss = re.search(r'Maximum resident set size \(kbytes\): (\d+)', text)
    status = re.search(r'Exit status: (\d+)', text)
    if not wall or not rss:
        return None
    parts = [float(p) for p in wall.group(1).split(':')]
    secs = 0.0
    for p in parts:
        secs = secs * 60 + p
    return {'wall_s': secs, 'peak_rss_bytes': int(rss.group(1)) * 1024,
            'exit_status': int(status.group(1)) if status else None}


def run_summary(run_dir, name):
    rep = load(os.path.join(run_dir, name, 'report.json'))
    t = gnu_time(os.path.join(run_dir, name + '.time'))
    if rep is None or t is None:
        return None
    return {'map': rep.get('map'), 'wall_s': t['wall_s'], 'peak_rss_bytes': t['peak_rss_bytes'],
            'timings': rep.get('timings', {}), 'exit_status': t['exit_status']}


def gib(b):
    return b / 2 ** 30


def main():
    run_dir = sys.argv[1]
    prev_dir = sys.argv[2] if len(sys.argv) > 2 else ''
    out = {'run': os.path.basename(os.path.normpath(run_dir))}
    meta = load(os.path.join(run_dir, 'meta.json')) or {}
    out['meta'] = meta
    lines = []
    checks = []

    def check(name, value, target, ok):
        checks.append({'target': name, 'value': value, 'goal': target, 'met': ok})

    peer = load(os.path.join(run_dir, 'peer.json'))
    peer_t = gnu_time(os.path.join(run_dir, 'peer.time'))
    matched = run_summary(run_dir, 'bowlrp-matched')
    defaults = run_summary(run_dir, 'bowlrp-defaults')
    if peer and peer_t:
        out['peer'] = {'map': peer['map'], 'wall_s': peer_t['wall_s'], 'peak_rss_bytes': peer_t['peak_rss_bytes'],
                       'seconds': peer['seconds'], 'train_images': peer['train_images'],
                       'test_images': peer['test_images'], 'descriptors_per_image': peer['descriptors_per_image']}
    out['bowlrp_matched'] = matched
    out['bowlrp_defaults'] = defaults
    if peer and peer_t:
        lines.append('End to end on the same %d train + %d val VOC2007 images, 20 classes (wall time incl. start-up):'
                     % (peer['train_images'], peer['test_images']))
        lines.append('  %-44s %9s %9s %8s %8s' % ('run', 'wall s', 'peak MiB', 'mAP', 'speed-up'))
        lines.append('  %-44s %9.1f %9.0f %8.3f %8s' % ('peer (opencv+sklearn, defaults: step 8, 16/24/32)',
                                                       peer_t['wall_s'], peer_t['peak_rss_bytes'] / 2 ** 20,
                                                       peer['map'], '1.0x'))
        for label, r in (('bowlrp matched (--step 8 --bin-sizes 4,6,8 1x1)', matched),
                         ('bowlrp defaults', defaults)):
            if r:
                lines.append('  %-44s %9.1f %9.0f %8.3f %7.1fx' % (label, r['wall_s'], r['peak_rss_bytes'] / 2 ** 20,
                                                                  r['map'], peer_t['wall_s'] / r['wall_s']))
        ps = peer['seconds']
        lines.append('  peer stages: extract %.1f s, codebook %.1f s, encode %.1f s, Gram %.1f s, SVMs %.1f s'
                     % (ps['extract_s'], ps['codebook_s'], ps['encode_s'], ps['gram_s'], ps['svm_s']))
        for label, r in (('matched', matched), ('defaults', defaults)):
            if r:
                lines.append('  bowlrp %s stages: ' % label +
                             ', '.join('%s %.1f s' % (k, v) for k, v in r['timings'].items()))
        if matched:
            sp = peer_t['wall_s'] / matched['wall_s']
            check('end to end, matched geometry: speed-up vs peer', sp, '>= 20', sp >= 20)
        if defaults:
            sp = peer_t['wall_s'] / defaults['wall_s']
            check('end to end, defaults: speed-up vs peer', sp, '> 1', sp > 1)
            check('end to end, defaults: mAP bowlrp - peer', defaults['map'] - peer['map'], '> 0',
                  defaults['map'] > peer['map'])
    full = run_summary(run_dir, 'full')
    out['full'] = full
    if full:
        lines.append('Full VOC2007 train -> val (all images, --explain 0): wall %.1f s (%.1f min), peak RSS %.2f GiB, mAP %.3f'
                     % (full['wall_s'], full['wall_s'] / 60, gib(full['peak_rss_bytes']), full['map']))
        lines.append('  stages: ' + ', '.join('%s %.1f s' % (k, v) for k, v in full['timings'].items()))
        check('full train -> val wall time (min)', full['wall_s'] / 60, '<= 15', full['wall_s'] <= 15 * 60)
        check('full train -> val peak memory (GiB)', gib(full['peak_rss_bytes']), '<= 4',
              full['peak_rss_bytes'] <= 4 * 2 ** 30)

    bench = load(os.path.join(run_dir, 'bench.json'))
    out['bench'] = bench
    if bench:
        for name, r in bench['ratios'].items():
            if r['met'] is not None:
                check(name, r['value'], r['target'], r['met'])

    out['targets'] = checks
    lines.append('')
    lines.append('Targets:')
    for c in checks:
        lines.append('  %-52s %10.3f  %-6s %s' % (c['target'], c['value'], c['goal'], 'met' if c['met'] else 'NOT MET'))

    prev = load(os.path.join(prev_dir, 'summary.json')) if prev_dir else None
    if prev and prev.get('bench') and bench:
        lines.append('')
        lines.append('Against the previous run %s (new / old; < 1 = faster now):' % prev.get('run'))
        old = prev['bench']['stages']
        for k, v in bench['stages'].items():
            if k in old and old[k]['value'] and v['unit'] == old[k]['unit'] and v['unit'] in ('ms/image', 's', 'ms'):
                lines.append('  %-52s %8.3f -> %8.3f %-8s %6.2f' % (k, old[k]['value'], v['value'], v['unit'],
                                                                    v['value'] / old[k]['value']))
        for key in ('bowlrp_matched', 'bowlrp_defaults', 'peer', 'full'):
            if prev.get(key) and out.get(key):
                lines.append('  %-52s %8.1f -> %8.1f s        %6.2f' % (key + ' wall', prev[key]['wall_s'],
                                                                      out[key]['wall_s'],
                                                                      out[key]['wall_s'] / prev[key]['wall_s']))
    text = '\n'.join(lines)
    print(text)
    with open(os.path.join(run_dir, 'summary.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
