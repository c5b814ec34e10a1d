"""benchfake: the made-up rows of tools/bench --fake.

Stand-ins for bench-gst's JSON record and for bench-queue / bench-channel
--json output, shaped like the real ones, so that the aggregation, the
table, results.json and the plots can be worked on without running
anything.  Seeded by the row's name: the same row gives the same figures
from one run to the next.  Nothing here is a measurement.
"""

import json
import random

from benchmatrix import CHANNEL_ROWS, STALL_PRONE, spec_key

FRAME_BYTES = {'1080p': 3110400, '4k': 12441600, '320x240': 115200,
               'audio-1k': 1024}


def fake_gst(s):
    rnd = random.Random(spec_key(s))
    t, f, k = s['transport'], s['format'], s['consumers']
    if t in STALL_PRONE and f == 'audio-1k':
        return 1, {'transport': t, 'format': f, 'error': 'timeout'}, ''
    base = {'queue': 20e3, 'shm': 70e3, 'shm-copy': 180e3, 'zc': 18e3,
            'zc-copy': 110e3}[t] * (1 + 0.05 * k)
    fps = 3e10 / (FRAME_BYTES[f] + 2e5) * (0.8 if 'copy' in t else 1.0)
    n = s['frames']
    lat = [[int(base * rnd.lognormvariate(0, 0.4)) for _ in range(n)]
           for _ in range(k)]
    res = {'transport': t, 'format': f, 'rate': s['rate'], 'consumers': k,
           'frames': n, 'frame_bytes': FRAME_BYTES[f], 'received': [n] * k,
           'fps': [fps * rnd.uniform(0.9, 1.1)] * k,
           'producer_cpu_us': 5 + 0.2 * k, 'producer_proc_cpu_us': 6 + 0.3 * k,
           'consumer_cpu_us': [3.0] * k,
           'consumer_proc_cpu_us': [15.0 if 'shm' in t else 4.0] * k,
           'latency_ns': lat, 'producer_rss_kib': 20000,
           'consumer_rss_kib': [15000] * k,
           'shm_kib': 131072 if 'shm' in t else 65536,
           'copies': (n if t == 'zc-copy' else 0) if t.startswith('zc')
           else None, 'lost': [0] * k, 'error': None}
    return 0, res, ''


def fake_lines(name):
    rnd = random.Random(name)

    def lat(us):
        return [int(us * 1e3 * rnd.lognormvariate(0, 0.3))
                for _ in range(200)]
    if name == 'bench-queue':
        rows = [('eventfd ping-pong', 9), ('futex ping-pong', 8),
                ('queue sleep', 10), ('queue spin 20us', 1), ('socket', 12),
                ('eventfd one-way 1000/s', 10), ('eventfd one-way 30/s', 25),
                ('eventfd one-way 30/s threads', 18)]
        out = [{'bench': 'queue', 'row': r, 'kind': 'latency',
                'latency_ns': lat(us)} for r, us in rows]
        out.append({'bench': 'queue', 'row': 'queue stream',
                    'kind': 'throughput', 'msgs_per_s': 5e6})
        out.append({'bench': 'queue', 'row': 'eventfd wake-up',
                    'kind': 'cpu', 'cpu_us': 6 * rnd.lognormvariate(0, 0.1)})
    else:
        out = [{'bench': 'channel', 'row': r, 'kind': 'latency',
                'latency_ns': lat(us)} for r, us in zip(CHANNEL_ROWS,
                                                        (11, 10, 3))]
        out.append({'bench': 'channel', 'row': 'throughput 1024 B',
                    'kind': 'throughput', 'frames_per_s': 2e6})
    return '\n'.join(json.dumps(o) for o in out) + '\n'

