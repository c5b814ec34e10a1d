"""benchtable: from tools/bench's raw runs to its table and the targets.

aggregate() and lines_aggregate() take the medians over the repeats of a
row (bench-gst records; bench-queue / bench-channel rows); build_tables()
lays them out in groups (throughput, latency, libzc, fan-out, memory),
each with the ratios issue 6 asks about, and checks the targets of issue
6 against those ratios: PASS, MISS, or n/a when a figure is missing.  A
group is (title, headers, display rows, csv dicts): print_table() prints
the display rows, tools/bench writes the dicts to summary.csv and
results.json.  The verdicts inform; they never fail the run.
"""

import benchstats as bs
from benchmatrix import (CHANNEL_ROWS, FANOUT_TRANSPORTS, FLOOR_ROWS,
                         FORMATS, LATENCY_TRANSPORTS, PACED_FLOORS,
                         PACED_RATE, THREADS_FLOOR_ROW, TRANSPORTS,
                         WAKE_CPU_ROW, spec_key)


# ------------------------------------------------------------ aggregating

def med(values):
    return bs.median([v for v in values if v is not None])


# The figures of one run that the medians and the targets are made of.
FIGURES = ('fps', 'producer_cpu_us', 'producer_proc_cpu_us',
           'consumer_cpu_us', 'consumer_proc_cpu_us', 'lat_median_us',
           'lat_worst_median_us', 'lat_p99_us', 'lat_max_us',
           'producer_rss_kib', 'consumer_rss_kib', 'shm_kib',
           'copies_per_frame')


def run_figures(res):
    """One run's figures: the median over its consumers where it has
    several (fps, CPU, RSS; latency: the median consumer's median and the
    worst consumer's), p99 and max over every consumer's samples."""
    def per(key):
        v = res.get(key)
        return v if isinstance(v, list) else []

    f = {k: med(per(k)) for k in ('fps', 'consumer_cpu_us',
                                  'consumer_proc_cpu_us',
                                  'consumer_rss_kib')}
    for k in ('producer_cpu_us', 'producer_proc_cpu_us',
              'producer_rss_kib', 'shm_kib'):
        f[k] = res.get(k)
    lats = [c for c in per('latency_ns') if c]
    if lats:
        cm = [bs.median(c) for c in lats]
        pooled = [x for c in lats for x in c]
        us = 1e-3
        f['lat_median_us'] = bs.median(cm) * us
        f['lat_worst_median_us'] = max(cm) * us
        f['lat_p99_us'] = bs.p99(pooled) * us
        f['lat_max_us'] = max(pooled) * us
    f['copies_per_frame'] = (res['copies'] / res['frames']
                             if res.get('copies') is not None and
                             res.get('frames') else None)
    return f


def aggregate(runs):
    """The medians over repeats of one row's figures; 'rounds' keeps each
    figure per repeat (round) for the targets' round-by-round ratios."""
    ok = [r for r in runs if r['status'] == 'ok']
    bad = [r['status'] for r in runs if r['status'] != 'ok']
    a = {'runs': len(runs), 'runs_ok': len(ok)}
    if not runs:
        a['status'] = 'not run'
    elif not ok:
        a['status'] = bad[0]
    elif bad:
        a['status'] = 'ok %d/%d' % (len(ok), len(runs))
    else:
        a['status'] = 'ok'
    if bad:
        why = sorted({r.get('why') for r in runs if r.get('why')})
        a['notes'] = ', '.join('%d %s' % (bad.count(b), b)
                               for b in sorted(set(bad))) + \
            ''.join(' (%s)' % w for w in why)
    if not ok:
        return a
    figs = [(r.get('repeat', i), run_figures(r['result']))
            for i, r in enumerate(ok)]
    for k in FIGURES:
        a[k] = med(f.get(k) for _, f in figs)
    a['lost'] = max(sum(v for v in (r['result'].get('lost') or [])
                        if v is not None) for r in ok)
    a['rounds'] = {k: {rep: f.get(k) for rep, f in figs
                       if f.get(k) is not None} for k in FIGURES}
    return a


def table_dict(a):
    """@a without its per-round figures, for summary.csv and the table."""
    return {k: v for k, v in a.items() if k != 'rounds'}


def scale(v, k):
    return None if v is None else v * k


def lines_aggregate(recs):
    """bench-queue/bench-channel rows over repeats: name -> figures."""
    names, out = [], {}
    for rec in recs:
        for row in rec['rows']:
            key = (row.get('bench', rec['bench']), row['row'],
                   row.get('kind'))
            if key not in names:
                names.append(key)
    for key in names:
        got, reps = [], []
        for i, rec in enumerate(recs):
            for row in rec['rows']:
                if (row.get('bench', rec['bench']), row['row'],
                        row.get('kind')) == key:
                    got.append(row)
                    reps.append(rec.get('repeat', i))
        a = {'bench': key[0], 'row': key[1], 'runs': len(recs),
             'runs_ok': len(got), 'kind': got[0].get('kind')}
        a['status'] = 'ok' if len(got) == len(recs) else \
            'ok %d/%d' % (len(got), len(recs))
        lats = [g['latency_ns'] for g in got if g.get('latency_ns')]
        a['lat_median_us'] = scale(med(bs.median(v) for v in lats), 1e-3)
        a['rounds'] = {'lat_median_us': {
            rep: bs.median(g['latency_ns']) * 1e-3
            for rep, g in zip(reps, got) if g.get('latency_ns')}}
        a['lat_p99_us'] = scale(med(bs.p99(v) for v in lats), 1e-3)
        a['lat_max_us'] = scale(med(max(v) for v in lats), 1e-3)
        rates = [g.get('msgs_per_s', g.get('frames_per_s')) for g in got]
        a['per_s'] = med(rates)
        a['cpu_us'] = med(g.get('cpu_us') for g in got)
        out[key] = a
    return out


# ------------------------------------------------------------ the table

def fmt(v, spec='%.1f'):
    if v is None:
        return '-'
    if isinstance(v, str):
        return v
    return spec % v


def print_table(title, headers, rows, out):
    """Columns two spaces apart, text left and numbers right aligned; no
    cell holds two spaces in a row, so a reader splits on '  +'."""
    cells = [[str(c) for c in r] for r in rows]
    width = [max([len(h)] + [len(r[i]) for r in cells])
             for i, h in enumerate(headers)]
    numeric = [all(_isnum(r[i]) for r in cells) and cells
               for i in range(len(headers))]
    print('', file=out)
    print('== %s' % title, file=out)
    for r in [headers] + cells:
        print('  '.join(c.rjust(w) if n else c.ljust(w)
                        for c, w, n in zip(r, width, numeric)).rstrip(),
              file=out)


def _isnum(s):
    if s == '-':
        return True
    try:
        float(s)
        return True
    except ValueError:
        return False


def mib(kib):
    return fmt(scale(kib, 1 / 1024))


def meets(value, limit, op):
    """Whether @value meets @limit under @op ('<=', '>=' or '==');
    None when there is no value."""
    if value is None:
        return None
    if op == '<=':
        return value <= limit
    if op == '>=':
        return value >= limit
    return abs(value - limit) < 1e-9


def build_tables(ctx, agg, libzc):
    """(title, headers, display rows, csv dicts) per group, and targets."""
    groups, targets = [], []
    tp = {(s['transport'], s['format']): agg[spec_key(s)]
          for s in ctx.specs if s['group'] == 'throughput'}

    def target(name, value, limit, op='<=', rounds=()):
        """@value: the ratio of the medians, which gives the verdict;
        @rounds: the same ratio in each round of repeats, to show how
        steady the verdict is (how many rounds meet the limit, and the
        range) where a median sits near its line."""
        rounds = [v for v in rounds if v is not None]
        met = meets(value, limit, op)
        targets.append({
            'target': name, 'measured': value,
            'limit': '%s %g' % (op, limit),
            'verdict': 'n/a' if met is None else 'PASS' if met else 'MISS',
            'rounds': len(rounds),
            'rounds_met': sum(bool(meets(v, limit, op)) for v in rounds),
            'round_min': min(rounds) if rounds else None,
            'round_max': max(rounds) if rounds else None})

    def by_round(num, den, fig, den_fig=None):
        """fig of @num over den_fig (default: fig) of @den, per round."""
        return bs.paired_ratios(num.get('rounds', {}).get(fig, {}),
                                den.get('rounds', {}).get(den_fig or fig,
                                                          {}))

    # throughput
    rows, dicts = [], []
    for f in FORMATS:
        for t in TRANSPORTS:
            a = tp[(t, f)]
            vs_q = vs_s = cons = None
            if t.startswith('zc'):
                shm = tp[('shm-copy' if t == 'zc-copy' else 'shm', f)]
                vs_q = bs.ratio(a.get('fps'), tp[('queue', f)].get('fps'))
                vs_s = bs.ratio(a.get('fps'), shm.get('fps'))
                cons = bs.ratio(a.get('consumer_proc_cpu_us'),
                                shm.get('consumer_proc_cpu_us'))
            rows.append([f, t, a['status'], fmt(a.get('fps'), '%.0f'),
                         fmt(a.get('producer_cpu_us')),
                         fmt(a.get('producer_proc_cpu_us')),
                         fmt(a.get('consumer_cpu_us')),
                         fmt(a.get('consumer_proc_cpu_us')),
                         fmt(a.get('copies_per_frame'), '%.2f'),
                         fmt(a.get('lost'), '%d'),
                         fmt(vs_q, '%.2f'), fmt(vs_s, '%.2f'),
                         fmt(cons, '%.2f')])
            dicts.append(dict(group='throughput', format=f, transport=t,
                              rate=0, consumers=1, **table_dict(a),
                              zc_over_queue_fps=vs_q, zc_over_shm_fps=vs_s,
                              zc_over_shm_consumer_cpu=cons))
    groups.append(('throughput: frames/s and CPU us per frame (streaming '
                   'thread; proc = whole process), unpaced, 1 consumer, %s'
                   % ctx.repeats_note,
                   ['format', 'transport', 'status', 'fps', 'prod us',
                    'prod proc', 'cons us', 'cons proc', 'copies/f', 'lost',
                    'zc/queue', 'zc/shm', 'cons cpu zc/shm'], rows, dicts))
    for f in ('4k', '1080p'):
        zc, q, shm = tp[('zc', f)], tp[('queue', f)], tp[('shm', f)]
        target('bandwidth %s: zc fps / queue fps' % f,
               bs.ratio(zc.get('fps'), q.get('fps')), 0.95, '>=',
               by_round(zc, q, 'fps'))
        target('bandwidth %s: zc fps / shm fps' % f,
               bs.ratio(zc.get('fps'), shm.get('fps')), 1.0, '>=',
               by_round(zc, shm, 'fps'))
    for f in ('audio-1k', '320x240'):
        zc, q, shm = tp[('zc', f)], tp[('queue', f)], tp[('shm', f)]
        target('per-buffer %s: zc fps / queue fps' % f,
               bs.ratio(zc.get('fps'), q.get('fps')), 0.9, '>=',
               by_round(zc, q, 'fps'))
        target('per-buffer %s: zc fps / shm fps (shm %s)'
               % (f, shm['status']),
               bs.ratio(zc.get('fps'), shm.get('fps')), 2.0, '>=',
               by_round(zc, shm, 'fps'))
    for f in FORMATS:
        zc, shm = tp[('zc', f)], tp[('shm', f)]
        target('consumer CPU %s: zc / shm (whole process)' % f,
               bs.ratio(zc.get('consumer_proc_cpu_us'),
                        shm.get('consumer_proc_cpu_us')), 0.3, '<=',
               by_round(zc, shm, 'consumer_proc_cpu_us'))
    for f in FORMATS:
        for t, name, want in (('zc-copy', 'copy path', 1.0),
                              ('zc', 'pool path', 0.0)):
            a = tp[(t, f)]
            target('%s %s: %s copies per frame' % (name, f, t),
                   a.get('copies_per_frame'), want, '==',
                   a.get('rounds', {}).get('copies_per_frame',
                                           {}).values())

    # latency
    rows, dicts = [], []
    for rate in (PACED_RATE, 0):
        lat = {s['transport']: agg[spec_key(s)] for s in ctx.specs
               if s['format'] == '1080p' and s['consumers'] == 1 and
               s['rate'] == rate and s['transport'] in LATENCY_TRANSPORTS}
        pace = 'paced %d/s' % rate if rate else 'unpaced'
        for t in LATENCY_TRANSPORTS:
            a = lat[t]
            r = {}
            if t == 'zc':
                for other in ('queue', 'shm'):
                    for m in ('median', 'p99'):
                        r['%s_zc_over_%s' % (m, other)] = bs.ratio(
                            a.get('lat_%s_us' % m),
                            lat[other].get('lat_%s_us' % m))
                target('latency %s: zc median / queue median' % pace,
                       r['median_zc_over_queue'], 1.0, '<=',
                       by_round(a, lat['queue'], 'lat_median_us'))
                target('latency %s: zc p99 / queue p99' % pace,
                       r['p99_zc_over_queue'], 1.5, '<=',
                       by_round(a, lat['queue'], 'lat_p99_us'))
                target('latency %s: zc median / shm median' % pace,
                       r['median_zc_over_shm'], 0.5, '<=',
                       by_round(a, lat['shm'], 'lat_median_us'))
            rows.append([pace, t, a['status'], fmt(a.get('lat_median_us')),
                         fmt(a.get('lat_p99_us')), fmt(a.get('lat_max_us'))]
                        + [fmt(r.get(k), '%.2f') for k in (
                            'median_zc_over_queue', 'p99_zc_over_queue',
                            'median_zc_over_shm', 'p99_zc_over_shm')])
            dicts.append(dict(group='latency', format='1080p', transport=t,
                              rate=rate, consumers=1, **table_dict(a), **r))
    groups.append(('latency: one-way us at 1080p, 1 consumer (unpaced = the '
                   'throughput runs), %s' % ctx.repeats_note,
                   ['pacing', 'transport', 'status', 'median', 'p99', 'max',
                    'med zc/queue', 'p99 zc/queue', 'med zc/shm',
                    'p99 zc/shm'], rows, dicts))

    # libzc
    floors = [(libzc[k]['lat_median_us'], k[1]) for k in libzc
              if k[1] in FLOOR_ROWS and libzc[k].get('lat_median_us')]
    floor = min(floors) if floors else (None, 'no floor row')

    def median_of(row):
        return libzc.get(('queue', row, 'latency'), {}).get('lat_median_us')
    rows, dicts = [], []
    keys = list(libzc)
    for want in [('channel', r, 'latency') for r in CHANNEL_ROWS] + \
            [('queue', r, 'latency') for r in FLOOR_ROWS] + \
            [('queue', r, 'latency') for r in PACED_FLOORS.values()] + \
            [('queue', THREADS_FLOOR_ROW, 'latency'),
             ('queue', WAKE_CPU_ROW, 'cpu')]:
        if want not in libzc:
            keys.append(want)
    for key in keys:
        # Missing: the program failed, or --only left it out.
        a = libzc.get(key, {'bench': key[0], 'row': key[1],
                            'status': 'not run' if ctx.only else 'failed',
                            'kind': 'latency'})
        x = paced_x = None
        if key[0] == 'channel' and key[2] == 'latency':
            x = bs.ratio(a.get('lat_median_us'), floor[0])
            paced = PACED_FLOORS.get(key[1])
            if paced:
                paced_x = bs.ratio(a.get('lat_median_us'), median_of(paced))
                target('libzc %s: median / %s median' % (key[1], paced),
                       paced_x, 1.3, '<=',
                       by_round(a, libzc.get(('queue', paced, 'latency'),
                                             {}), 'lat_median_us'))
        rows.append([key[0], key[1], a['status'],
                     fmt(a.get('lat_median_us'), '%.2f'),
                     fmt(a.get('lat_p99_us'), '%.2f'),
                     fmt(a.get('lat_max_us'), '%.2f'),
                     fmt(a.get('per_s'), '%.0f'), fmt(x, '%.2f'),
                     fmt(paced_x, '%.2f'), fmt(a.get('cpu_us'), '%.2f')])
        dicts.append(dict(group='libzc', **table_dict(a), over_floor=x,
                          floor_row=floor[1], over_paced_floor=paced_x))
    groups.append(('libzc: publish -> receive (bench-channel) and the '
                   'floors between two processes (bench-queue); us, '
                   'one-way; x ping-pong = over the %s median; x paced = '
                   'over the bare eventfd one-way at the same pace; cpu = '
                   'CPU us per wake-up of a reader that sleeps for each '
                   'message' % floor[1],
                   ['bench', 'row', 'status', 'median', 'p99', 'max',
                    'per s', 'x ping-pong', 'x paced', 'cpu'], rows, dicts))

    # fan-out
    rows, dicts = [], []
    for t in FANOUT_TRANSPORTS:
        fo = [(s['consumers'], agg[spec_key(s)]) for s in ctx.specs
              if s['transport'] == t and s['format'] == '1080p' and
              s['rate'] == PACED_RATE and
              s['consumers'] in ctx.fanout_consumers]
        fo.sort(key=lambda x: x[0])
        one = dict(fo).get(1, {})
        for k, a in fo:
            cpu = bs.ratio(a.get('producer_proc_cpu_us'),
                           one.get('producer_proc_cpu_us'))
            lat = bs.ratio(a.get('lat_worst_median_us'),
                           one.get('lat_median_us'))
            rows.append([t, str(k), a['status'],
                         fmt(a.get('producer_cpu_us')),
                         fmt(a.get('producer_proc_cpu_us')),
                         fmt(a.get('lat_median_us')),
                         fmt(a.get('lat_worst_median_us')),
                         fmt(cpu, '%.2f'), fmt(lat, '%.2f')])
            dicts.append(dict(group='fan-out', format='1080p', transport=t,
                              rate=PACED_RATE, consumers=k, **table_dict(a),
                              cpu_over_1=cpu, worst_median_over_1=lat))
        if t == 'zc' and fo:
            k, a = fo[-1]
            target('fan-out zc: producer CPU(%d) / CPU(1) (whole process)'
                   % k, bs.ratio(a.get('producer_proc_cpu_us'),
                                 one.get('producer_proc_cpu_us')), 1.5, '<=',
                   by_round(a, one, 'producer_proc_cpu_us'))
            target('fan-out zc: worst consumer median(%d) / median(1)' % k,
                   bs.ratio(a.get('lat_worst_median_us'),
                            one.get('lat_median_us')), 2.0, '<=',
                   by_round(a, one, 'lat_worst_median_us', 'lat_median_us'))
    groups.append(('fan-out: 1080p paced %d/s; producer CPU us per frame, '
                   'consumers\' median latency us (median and worst '
                   'consumer), %s' % (PACED_RATE, ctx.repeats_note),
                   ['transport', 'consumers', 'status', 'prod us',
                    'prod proc', 'cons median', 'worst median',
                    'cpu(K)/cpu(1)', 'worst(K)/med(1)'], rows, dicts))

    # memory
    rows, dicts = [], []
    for f in FORMATS:
        for t in TRANSPORTS:
            a = tp[(t, f)]
            rows.append([f, t, a['status'], mib(a.get('producer_rss_kib')),
                         mib(a.get('consumer_rss_kib')),
                         mib(a.get('shm_kib'))])
            dicts.append(dict(group='memory', format=f, transport=t,
                              status=a['status'],
                              producer_rss_kib=a.get('producer_rss_kib'),
                              consumer_rss_kib=a.get('consumer_rss_kib'),
                              shm_kib=a.get('shm_kib')))
    groups.append(('memory: MiB, the throughput runs (RSS at the last '
                   'buffer; shm = shared memory in use)',
                   ['format', 'transport', 'status', 'producer rss',
                    'consumer rss', 'shm'], rows, dicts))

    rows = [[t['target'], fmt(t['measured'], '%.2f'), t['limit'],
             t['verdict'],
             '%d/%d' % (t['rounds_met'], t['rounds']) if t['rounds']
             else '-',
             '%.2f..%.2f' % (t['round_min'], t['round_max'])
             if t['rounds'] else '-'] for t in targets]
    groups.append(('targets: issue 6, the ratio of the medians, its limit, '
                   'the verdict; rounds = how many rounds of repeats meet '
                   'the limit on their own, range = the ratio\'s range over '
                   'the rounds',
                   ['target', 'measured', 'limit', 'verdict', 'rounds',
                    'range'], rows,
                   [dict(group='targets', **t) for t in targets]))
    return groups, targets

