"""benchplot: tools/bench's plots, latency-cdf.png and fanout.png.

write_plot_data() leaves the .dat files tests/bench/plot.gp reads in the
results folder (the data stays there, to draw the plots again or
otherwise); draw() runs gnuplot on them, or says how to when it cannot
(--no-plots, no gnuplot).  gnuplot is bounded like every other child.
"""

import os
import subprocess
import sys

import benchstats as bs
from benchmatrix import (FANOUT_TRANSPORTS, LATENCY_TRANSPORTS, PACED_RATE,
                         spec_key)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def log(msg):
    # The driver's prefix: one log, whichever module speaks.
    print('bench: ' + msg, file=sys.stderr, flush=True)


def write_plot_data(ctx, outdir, runs):
    """The data files tests/bench/plot.gp draws from (see there)."""
    for t in LATENCY_TRANSPORTS:
        key = spec_key(dict(transport=t, format='1080p', rate=PACED_RATE,
                            consumers=1))
        samples = [x for r in runs if r['status'] == 'ok' and
                   spec_key(r['spec']) == key
                   for c in r['result'].get('latency_ns') or [] for x in c]
        if samples:
            with open(os.path.join(outdir, 'latency-cdf-%s.dat' % t),
                      'w') as fp:
                fp.write('# %s, 1080p paced %d/s, %d samples: one-way '
                         'latency us, fraction <= it\n'
                         % (t, PACED_RATE, len(samples)))
                for x, y in bs.cdf(samples, points=2000):
                    fp.write('%.3f %.6f\n' % (x / 1e3, y))
    fo = {(d['transport'], d['consumers']): d for g in ctx.groups
          if g[0].startswith('fan-out') for d in g[3]}
    if not fo:
        return
    with open(os.path.join(outdir, 'fanout.dat'), 'w') as fp:
        fp.write('# consumers, then for %s: producer CPU us per frame '
                 '(process), consumers\' median latency us\n'
                 % ' and '.join(FANOUT_TRANSPORTS))
        for k in sorted({k for _, k in fo}):
            cells = [fo.get((t, k), {}).get(key) for t in FANOUT_TRANSPORTS
                     for key in ('producer_proc_cpu_us', 'lat_median_us')]
            fp.write('%d %s\n' % (k, ' '.join(
                'NaN' if v is None else '%.3f' % v for v in cells)))


def draw(ctx, outdir):
    script = os.path.join(ROOT, 'tests', 'bench', 'plot.gp')
    again = 'gnuplot -c %s %s' % (os.path.relpath(script), outdir)
    if ctx.no_plots:
        log('plots skipped (--no-plots); to draw them: ' + again)
        return
    if not ctx.gnuplot:
        log('plots skipped: no gnuplot (apt-get install gnuplot-nox), then '
            + again)
        return
    try:
        p = subprocess.run([ctx.gnuplot, '-c', script, outdir, ctx.terminal],
                           timeout=120, capture_output=True, text=True)
        if p.returncode != 0 or p.stdout.strip() or p.stderr.strip():
            log('gnuplot: %s' % (p.stdout + p.stderr).strip()[-800:])
    except subprocess.TimeoutExpired:
        log('gnuplot timed out')
