"""benchmatrix: the rows tools/bench runs, named once for every module.

The transports and formats of the throughput rows, the paced rows of the
latency and fan-out groups, the frame counts of a full and a --quick run,
and the names of the bench-queue / bench-channel rows the table expects.
make_specs() turns them into the bench-gst invocations, one dict per row;
spec_key() is the name a row goes by in the log, results.json and the
aggregation.
"""

TRANSPORTS = ['queue', 'shm', 'shm-copy', 'zc', 'zc-copy']
FORMATS = ['1080p', '4k', '320x240', 'audio-1k']
LATENCY_TRANSPORTS = ['queue', 'shm', 'zc']
FANOUT_TRANSPORTS = ['zc', 'shm']
PACED_RATE = 30
# Frames per run: enough that the first-to-last-buffer time dwarfs the
# clock's resolution and a wake-up or two, small enough for seconds a row.
FRAMES = {
    'full': {'1080p': 1000, '4k': 300, '320x240': 10000, 'audio-1k': 10000},
    'quick': {'1080p': 60, '4k': 30, '320x240': 300, 'audio-1k': 300},
}
PACED_FRAMES = {'full': 300, 'quick': 30}
FANOUT_CONSUMERS = {'full': [1, 4, 16, 32], 'quick': [1, 4]}
FLOOR_ROWS = ['futex ping-pong', 'eventfd ping-pong']
# bench-queue's paced floors: a bare eventfd one-way at a channel row's
# pace, the reader asleep for every message as the channel's consumer is.
# A paced channel row is judged against the floor of its own pace; the
# ping-pong's back-to-back wake-ups (warm caches, CPUs just busy) are
# shown beside it.
PACED_FLOORS = {'publish->receive 30/s': 'eventfd one-way 30/s',
                'publish->receive 1000/s': 'eventfd one-way 1000/s'}
# The same 30/s one-way between two threads of one process: against the
# row above, what waking a reader in another process costs at that pace
# (the in-process queue never pays it).
THREADS_FLOOR_ROW = 'eventfd one-way 30/s threads'
# bench-queue's CPU floor: a reader's CPU per wake-up when it sleeps for
# every message (what any consumer pays when frames come slower than it
# takes them).
WAKE_CPU_ROW = 'eventfd wake-up'
CHANNEL_ROWS = ['publish->receive 30/s', 'publish->receive 1000/s',
                'publish->receive unpaced']
STALL_PRONE = ('shm', 'shm-copy')


def spec_key(s):
    pace = 'paced %g/s' % s['rate'] if s['rate'] else 'unpaced'
    return '%s %s %s x%d' % (s['transport'], s['format'], pace,
                             s['consumers'])


def make_specs(ctx):
    mode = 'quick' if ctx.quick else 'full'
    specs, seen = [], set()

    def add(group, t, f, rate, k, frames):
        s = dict(group=group, transport=t, format=f, rate=rate,
                 consumers=k, frames=frames)
        if spec_key(s) not in seen:
            seen.add(spec_key(s))
            specs.append(s)
    for f in FORMATS:
        for t in TRANSPORTS:
            add('throughput', t, f, 0, 1, FRAMES[mode][f])
    for t in LATENCY_TRANSPORTS:
        add('latency', t, '1080p', PACED_RATE, 1, PACED_FRAMES[mode])
    for t in FANOUT_TRANSPORTS:
        for k in FANOUT_CONSUMERS[mode]:
            add('fan-out', t, '1080p', PACED_RATE, k, PACED_FRAMES[mode])
    return specs
