#!/usr/bin/env bash
# tests/bench/test-bench-quick.sh: `tools/bench --quick` runs to its end
# and reports every row it must, parsable, in the table, results.json and
# summary.csv, and draws its plots when gnuplot is there.
#
# No timing is judged (the machine is shared): a row may say "stalled",
# "timeout" or "failed", a target MISS; what is checked is that the row
# is there and well formed.  The rows expected are written out here, not
# taken from tools/bench, so that a row the bench forgets is caught.
#
#   tests/bench/test-bench-quick.sh [TOOLS/BENCH ARGUMENTS]
#     e.g. --build build/test-plain  (an existing build, no build/bench)
#
# TAP on stdout: the plan, then one "ok N - ..." per check.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/zc-bench-test.XXXXXX)
trap 'rm -rf "$out"' EXIT

# The bench bounds every row itself; this bounds the bench (build included).
timeout -k 10 900 "$root/tools/bench" --quick --results "$out/results" "$@" \
    >"$out/table.txt" 2>"$out/log.txt"
rc=$?

python3 - "$out" "$rc" "$root" <<'PY'
import csv, json, os, re, subprocess, sys

out, rc, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
res = os.path.join(out, 'results')
TRANSPORTS = ['queue', 'shm', 'shm-copy', 'zc', 'zc-copy']
FORMATS = ['1080p', '4k', '320x240', 'audio-1k']
STATUS = re.compile(r'^(ok( \d+/\d+)?|stalled|timeout|failed)$')
checks = []


def check(name, fn):
    try:
        why = fn()
    except Exception as e:  # a parse error is a failed check, not a crash
        why = '%s: %s' % (type(e).__name__, e)
    checks.append((name, why))


def num(cell):
    return cell == '-' or float(cell) is not None


table_text = open(os.path.join(out, 'table.txt')).read()
sections = {}
lines = table_text.splitlines()
for i, line in enumerate(lines):
    if line.startswith('== '):
        title = line[3:].split(':', 1)[0]
        header = re.split(r'  +', lines[i + 1].strip())
        rows = []
        for row in lines[i + 2:]:
            if not row.strip():
                break
            rows.append(re.split(r'  +', row.strip()))
        sections[title] = (header, rows)


def section(title, expect, key, numeric_from=3, need=()):
    """@expect: the keys (tuples of the first cells) that must appear;
    cells from @numeric_from on numbers or '-'; @need: columns that must
    hold a number on an ok row."""
    def fn():
        if title not in sections:
            return 'no "== %s" section in the table' % title
        header, rows = sections[title]
        seen = set()
        for r in rows:
            if len(r) != len(header):
                return 'row %r: %d cells for %d columns' % (r, len(r),
                                                            len(header))
            if not STATUS.match(r[2]):
                return 'row %r: status %r' % (r, r[2])
            for c in r[numeric_from:]:
                num(c)
            if r[2].startswith('ok'):
                for col in need:
                    if r[header.index(col)] == '-':
                        return 'row %r: ok but no %s' % (r, col)
            seen.add(tuple(r[:key]))
        missing = [e for e in expect if e not in seen]
        if missing:
            return 'rows missing: %r' % missing
    check('table: %s rows all present and parsable' % title, fn)


check('tools/bench --quick completes (exit 0)',
      lambda: None if rc == 0 else 'exit %d; log tail: %s' % (
          rc, open(os.path.join(out, 'log.txt')).read()[-1500:]))
matrix = [(f, t) for f in FORMATS for t in TRANSPORTS]
section('throughput', matrix, 2, need=('fps',))
section('latency', [(p, t) for p in ('paced 30/s', 'unpaced')
                    for t in ('queue', 'shm', 'zc')], 2, need=('median',))
section('libzc', [('channel', 'publish->receive 30/s'),
                  ('channel', 'publish->receive 1000/s'),
                  ('channel', 'publish->receive unpaced'),
                  ('queue', 'futex ping-pong'),
                  ('queue', 'eventfd ping-pong'),
                  ('queue', 'eventfd one-way 1000/s'),
                  ('queue', 'eventfd one-way 30/s'),
                  ('queue', 'eventfd one-way 30/s threads'),
                  ('queue', 'eventfd wake-up')], 2)
section('fan-out', [(t, k) for t in ('zc', 'shm') for k in ('1', '4')], 2,
        need=('prod us', 'cons median'))
section('memory', matrix, 2)


def targets_table():
    if 'targets' not in sections:
        return 'no targets section'
    header, rows = sections['targets']
    if len(rows) < 10:
        return 'only %d targets' % len(rows)
    for r in rows:
        if len(r) != 6 or r[3] not in ('PASS', 'MISS', 'n/a'):
            return 'target row %r' % r
        num(r[1])
        if not re.match(r'^(<=|>=|==) [0-9.]+$', r[2]):
            return 'target limit %r' % r[2]
        if not re.match(r'^(\d+/\d+|-)$', r[4]):
            return 'target rounds %r' % r[4]
        if r[4] != '-' and not re.match(r'^[0-9.]+\.\.[0-9.]+$', r[5]):
            return 'target range %r' % r[5]
        if r[3] != 'n/a' and r[4] == '-':
            return 'target %r has a verdict but no rounds' % r[0]
check('table: targets section, each with a ratio, PASS/MISS/n/a, and '
      'its rounds and range', targets_table)


def results_json():
    doc = json.load(open(os.path.join(res, 'results.json')))
    m = doc['machine']
    for k in ('nproc', 'model_name', 'kernel', 'gstreamer_version'):
        if not m.get(k):
            return 'machine.%s missing' % k
    specs = {(r['spec']['transport'], r['spec']['format'], r['spec']['rate'],
              r['spec']['consumers']) for r in doc['runs']}
    want = [(t, f, 0, 1) for f, t in matrix] + \
        [(t, '1080p', 30, 1) for t in ('queue', 'shm', 'zc')] + \
        [(t, '1080p', 30, 4) for t in ('zc', 'shm')]
    missing = [w for w in want if w not in specs]
    if missing:
        return 'runs missing: %r' % missing
    for r in doc['runs']:
        if not STATUS.match(r['status']):
            return 'run status %r' % r['status']
        if r['status'] != 'ok':
            continue
        g = r['result']
        k = g['consumers']
        for key in ('received', 'fps', 'consumer_cpu_us', 'latency_ns',
                    'lost'):
            if not isinstance(g[key], list) or len(g[key]) != k:
                return '%s: %s is not a list of %d' % (r['argv'], key, k)
        if not all(isinstance(x, int) for c in g['latency_ns'] for x in c):
            return '%s: latency_ns holds non-integers' % r['argv']
        for key in ('producer_cpu_us', 'frame_bytes', 'producer_rss_kib'):
            if not isinstance(g[key], (int, float)):
                return '%s: %s = %r' % (r['argv'], key, g[key])
    if not doc['libzc_runs'] or not doc['targets']:
        return 'no libzc runs or no targets'
check('results.json: machine, a raw run per row, latency arrays', results_json)


def summary_csv():
    rows = list(csv.DictReader(open(os.path.join(res, 'summary.csv'))))
    groups = {}
    for r in rows:
        groups.setdefault(r['group'], []).append(r)
    for g, n in (('throughput', 20), ('latency', 6), ('fan-out', 4),
                 ('memory', 20)):
        if len(groups.get(g, [])) != n:
            return '%s: %d rows, want %d' % (g, len(groups.get(g, [])), n)
    for r in groups['throughput']:
        if not STATUS.match(r['status']):
            return 'status %r' % r['status']
        for k in ('fps', 'producer_cpu_us', 'lat_median_us'):
            if r['status'].startswith('ok') and r[k] == '':
                return '%s %s: ok with no %s' % (r['format'], r['transport'],
                                                 k)
            if r.get(k):
                float(r[k])
    if not groups.get('targets') or not groups.get('libzc'):
        return 'no targets or libzc rows'
check('summary.csv: every table row, numbers parse', summary_csv)


def only_filter():
    """--only runs the matching rows and nothing else (made-up figures:
    --fake runs no program, which is all this needs)."""
    d = os.path.join(out, 'only')
    argv = [os.path.join(root, 'tools', 'bench'), '--fake', '--quick',
            '--no-plots', '--results', d]
    p = subprocess.run(argv + ['--only', 'zc 1080p paced'],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return 'exit %d: %s' % (p.returncode, p.stderr[-500:])
    doc = json.load(open(os.path.join(d, 'results.json')))
    ran = sorted({(r['spec']['transport'], r['spec']['format'],
                   r['spec']['rate'], r['spec']['consumers'])
                  for r in doc['runs']})
    want = [('zc', '1080p', 30, 1), ('zc', '1080p', 30, 4)]
    if ran != want:
        return 'ran %r, want %r' % (ran, want)
    if doc['libzc_runs']:
        return 'the libzc programs ran'
    if not re.search(r'^1080p +queue +not run ', p.stdout, re.M):
        return 'the queue rows do not say "not run"'
    p = subprocess.run(argv + ['--only', 'no row is called this'],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 2:
        return 'an --only that matches nothing: exit %d' % p.returncode
check('--only: the matching rows run, the rest say "not run"', only_filter)


def table_again():
    """--table prints the run's table again from its results.json, the
    same to the character, and refuses what is not one."""
    argv = [os.path.join(root, 'tools', 'bench'), '--table']
    p = subprocess.run(argv + [os.path.join(res, 'results.json')],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return 'exit %d: %s' % (p.returncode, p.stderr[-500:])
    if p.stdout != table_text:
        return 'the table differs from the run\'s'
    p = subprocess.run(argv + [os.path.join(res, 'summary.csv')],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 2 or 'not a results.json' not in p.stderr:
        return 'summary.csv as results.json: exit %d, %r' % (
            p.returncode, p.stderr[-300:])
check('--table: the same table again from results.json', table_again)


def plots():
    for name in ('latency-cdf.png', 'fanout.png'):
        with open(os.path.join(res, name), 'rb') as fp:
            if fp.read(8) != b'\x89PNG\r\n\x1a\n':
                return name + ' is not a PNG'
have_gnuplot = any(os.access(os.path.join(d, 'gnuplot'), os.X_OK)
                   for d in os.environ.get('PATH', '').split(os.pathsep))

print('1..%d' % (len(checks) + 1))
failed = 0
for i, (name, why) in enumerate(checks, 1):
    print('%s %d - %s' % ('not ok' if why else 'ok', i, name))
    if why:
        failed += 1
        print('# ' + str(why).replace('\n', '\n# '))
if have_gnuplot:
    why = None
    try:
        why = plots()
    except OSError as e:
        why = str(e)
    print('%s %d - plots: latency-cdf.png and fanout.png'
          % ('not ok' if why else 'ok', len(checks) + 1))
    if why:
        failed += 1
        print('# ' + why)
else:
    print('ok %d - plots # SKIP gnuplot not installed' % (len(checks) + 1))
if failed:
    print('# the table:')
    print('# ' + table_text.replace('\n', '\n# '))
sys.exit(1 if failed else 0)
PY
