"""benchstats: the few statistics tools/bench reports, with known answers.

Every function takes a sequence of numbers in any order (it sorts a copy)
and returns None for an empty one, so that a failed benchmark row flows
through the table as "-" instead of raising.

Percentiles use the nearest-rank method: the p-th percentile of n sorted
values is the value of rank ceil(p / 100 * n) (1-based), the smallest
sample such that at least p % of the samples are <= it.  It is always one
of the measured values (no interpolation between two latencies that were
never observed); p99 of 100 values is the 99th smallest, of 1000 the
990th.  The median is the usual one (the mean of the two middle values for
an even count), so median != percentile(50) for even counts, on purpose.

Stdlib only: tools/bench and its tests run on a bare python3.
"""

import math
from fractions import Fraction

__all__ = ['median', 'percentile', 'p99', 'maximum', 'mean', 'cdf',
           'summarize', 'ratio', 'paired_ratios']


def median(values):
    """The middle value; the mean of the two middle ones for an even count."""
    s = sorted(values)
    n = len(s)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return s[mid]
    return (s[mid - 1] + s[mid]) / 2


def percentile(values, p):
    """Nearest-rank p-th percentile, 0 <= p <= 100 (p = 0: the minimum)."""
    if not 0 <= p <= 100:
        raise ValueError('percentile %r not in [0, 100]' % (p,))
    s = sorted(values)
    n = len(s)
    if n == 0:
        return None
    # p / 100 * n in floating point can land a hair above an integer
    # (0.99 * 100 = 99.00000000000001) and take the next rank: compute it
    # exactly, from p as written in decimal (99.9 is 999/10).
    rank = math.ceil(Fraction(repr(p)) * n / 100)
    return s[max(rank, 1) - 1]


def p99(values):
    return percentile(values, 99)


def maximum(values):
    values = list(values)
    return max(values) if values else None


def mean(values):
    values = list(values)
    return math.fsum(values) / len(values) if values else None


def cdf(values, points=None):
    """The empirical CDF as (value, fraction <= value) pairs, sorted.

    One pair per sample, fraction (i + 1) / n; with @points, at most that
    many pairs, evenly spaced in rank and always keeping the first and the
    last sample (the tails are what a latency plot is read for).
    """
    s = sorted(values)
    n = len(s)
    if n == 0:
        return []
    if points is None or points >= n:
        idx = range(n)
    elif points <= 1:
        idx = [n - 1]
    else:
        step = (n - 1) / (points - 1)
        idx = sorted({round(k * step) for k in range(points)})
    return [(s[i], (i + 1) / n) for i in idx]


def summarize(values):
    """count, median, p99, max and mean of @values in one dict."""
    values = list(values)
    return {
        'count': len(values),
        'median': median(values),
        'p99': p99(values),
        'max': maximum(values),
        'mean': mean(values),
    }


def ratio(a, b):
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def paired_ratios(a, b):
    """a[k] / b[k] for each key k both dicts hold a value for (in key
    order): the same ratio taken round by round, each round of repeats
    against itself, so that a slow spell of a shared machine, which hits
    both sides of a round, cancels out."""
    return [r for r in (ratio(a[k], b[k]) for k in sorted(a) if k in b)
            if r is not None]
