#!/usr/bin/python3
"""Unit tests of tests/bench/benchstats.py, the statistics of tools/bench,
and of benchtable's medians over repeats and round-by-round ratios.

Known answers only, worked out by hand: the median of odd and even counts,
nearest-rank percentiles (p99 of 100 and of 1000 values), unsorted input,
empty and one-element input.  Prints TAP ("1..N", then "ok N - name" or
"not ok N - name" per case) so tools/test counts every case; exits 1 if
any failed.
"""

import os
import random
import sys
import unittest

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchstats as bs  # noqa: E402
import benchtable as bt  # noqa: E402


class TestMedian(unittest.TestCase):
    def test_median_of_odd_count_is_the_middle_value(self):
        self.assertEqual(bs.median([1, 2, 3, 4, 5]), 3)

    def test_median_of_even_count_is_the_mean_of_the_two_middle(self):
        self.assertEqual(bs.median([1, 2, 3, 4]), 2.5)
        self.assertEqual(bs.median([10, 20]), 15)

    def test_median_sorts_its_input(self):
        self.assertEqual(bs.median([9, 1, 5, 3, 7]), 5)
        self.assertEqual(bs.median([40, 10, 30, 20]), 25)

    def test_median_does_not_reorder_the_caller_list(self):
        v = [3, 1, 2]
        bs.median(v)
        self.assertEqual(v, [3, 1, 2])

    def test_median_of_one_value_is_that_value(self):
        self.assertEqual(bs.median([42]), 42)

    def test_median_of_nothing_is_none(self):
        self.assertIsNone(bs.median([]))

    def test_median_with_duplicates(self):
        self.assertEqual(bs.median([5, 5, 1, 5]), 5)


class TestPercentile(unittest.TestCase):
    def test_p99_of_100_values_is_the_99th(self):
        v = list(range(1, 101))
        random.Random(6).shuffle(v)
        self.assertEqual(bs.p99(v), 99)

    def test_p99_of_1000_values_is_the_990th(self):
        v = list(range(1, 1001))
        random.Random(7).shuffle(v)
        self.assertEqual(bs.p99(v), 990)

    def test_p99_of_fewer_than_100_values_is_the_maximum(self):
        # nearest rank: ceil(0.99 * 50) = 50
        self.assertEqual(bs.p99(range(1, 51)), 50)

    def test_p99_of_101_values_is_the_100th(self):
        # ceil(0.99 * 101) = ceil(99.99) = 100
        self.assertEqual(bs.p99(range(1, 102)), 100)

    def test_p99_sees_a_single_outlier_in_1000_only_past_rank_990(self):
        v = [10] * 999 + [1000000]
        self.assertEqual(bs.p99(v), 10)
        self.assertEqual(bs.percentile(v, 100), 1000000)

    def test_p50_nearest_rank_of_even_count_is_the_lower_middle(self):
        self.assertEqual(bs.percentile([4, 1, 3, 2], 50), 2)

    def test_p0_is_the_minimum_and_p100_the_maximum(self):
        self.assertEqual(bs.percentile([3, 1, 2], 0), 1)
        self.assertEqual(bs.percentile([3, 1, 2], 100), 3)

    def test_percentile_of_one_value_is_that_value(self):
        self.assertEqual(bs.p99([7]), 7)
        self.assertEqual(bs.percentile([7], 1), 7)

    def test_percentile_of_nothing_is_none(self):
        self.assertIsNone(bs.p99([]))

    def test_fractional_percentile(self):
        # ceil(0.999 * 1000) = 999
        self.assertEqual(bs.percentile(range(1, 1001), 99.9), 999)

    def test_percentile_out_of_range_is_an_error(self):
        with self.assertRaises(ValueError):
            bs.percentile([1], 101)
        with self.assertRaises(ValueError):
            bs.percentile([1], -1)


class TestMaxMean(unittest.TestCase):
    def test_max_and_mean(self):
        self.assertEqual(bs.maximum([3, 9, 1]), 9)
        self.assertEqual(bs.mean([1, 2, 3, 4]), 2.5)

    def test_max_and_mean_of_one_value(self):
        self.assertEqual(bs.maximum([5]), 5)
        self.assertEqual(bs.mean([5]), 5)

    def test_max_and_mean_of_nothing_are_none(self):
        self.assertIsNone(bs.maximum([]))
        self.assertIsNone(bs.mean([]))

    def test_max_and_mean_take_generators(self):
        self.assertEqual(bs.maximum(x for x in (1, 4, 2)), 4)
        self.assertEqual(bs.mean(x for x in (1, 4, 1)), 2)


class TestCdf(unittest.TestCase):
    def test_cdf_has_one_point_per_sample_sorted(self):
        self.assertEqual(bs.cdf([30, 10, 20, 40]),
                         [(10, 0.25), (20, 0.5), (30, 0.75), (40, 1.0)])

    def test_cdf_of_one_value(self):
        self.assertEqual(bs.cdf([5]), [(5, 1.0)])

    def test_cdf_of_nothing_is_empty(self):
        self.assertEqual(bs.cdf([]), [])

    def test_cdf_thinned_keeps_first_and_last(self):
        pts = bs.cdf(range(1, 1001), points=11)
        self.assertEqual(len(pts), 11)
        self.assertEqual(pts[0], (1, 0.001))
        self.assertEqual(pts[-1], (1000, 1.0))
        self.assertEqual([p[1] for p in pts], sorted(p[1] for p in pts))

    def test_cdf_with_more_points_than_samples_keeps_all(self):
        self.assertEqual(len(bs.cdf([2, 1, 3], points=100)), 3)


class TestSummaryRatio(unittest.TestCase):
    def test_summarize(self):
        s = bs.summarize(range(1, 101))
        self.assertEqual(s, {'count': 100, 'median': 50.5, 'p99': 99,
                             'max': 100, 'mean': 50.5})

    def test_summarize_nothing(self):
        self.assertEqual(bs.summarize([]), {'count': 0, 'median': None,
                                            'p99': None, 'max': None,
                                            'mean': None})

    def test_ratio(self):
        self.assertEqual(bs.ratio(3, 2), 1.5)
        self.assertIsNone(bs.ratio(None, 2))
        self.assertIsNone(bs.ratio(3, None))
        self.assertIsNone(bs.ratio(3, 0))


class TestPairedRatios(unittest.TestCase):
    def test_each_round_against_the_same_round(self):
        self.assertEqual(bs.paired_ratios({0: 3, 1: 8, 2: 9},
                                          {0: 2, 1: 4, 2: 3}), [1.5, 2, 3])

    def test_a_round_missing_on_either_side_is_left_out(self):
        self.assertEqual(bs.paired_ratios({0: 3, 2: 9}, {0: 2, 1: 4, 2: 3}),
                         [1.5, 3])
        self.assertEqual(bs.paired_ratios({0: 3, 1: 8}, {1: 4}), [2])

    def test_rounds_in_key_order_and_zero_denominators_dropped(self):
        self.assertEqual(bs.paired_ratios({2: 9, 0: 3, 1: 1},
                                          {1: 0, 2: 3, 0: 2}), [1.5, 3])

    def test_nothing_paired_is_empty(self):
        self.assertEqual(bs.paired_ratios({}, {0: 1}), [])
        self.assertEqual(bs.paired_ratios({0: 1}, {1: 1}), [])


def fake_run(repeat, fps, cpu, lat_ns, status='ok'):
    return {'repeat': repeat, 'status': status,
            'result': {'fps': fps, 'consumer_proc_cpu_us': cpu,
                       'producer_proc_cpu_us': 100.0 + repeat,
                       'latency_ns': lat_ns, 'copies': repeat,
                       'frames': 10, 'lost': [0] * len(fps)}}


class TestAggregateRounds(unittest.TestCase):
    def test_medians_over_runs_of_the_median_consumer(self):
        a = bt.aggregate([
            fake_run(0, [10, 30, 20], [1, 2, 3], [[1000, 3000], [5000]]),
            fake_run(1, [40, 50], [4, 6], [[2000], [4000, 9000, 6000]]),
            fake_run(2, [5], [7], [[8000]])])
        self.assertEqual(a['status'], 'ok')
        # per run: fps 20, 45, 5; consumer medians 2000/5000, 2000/6000,
        # 8000 ns: median consumer 3.5, 4, 8 us, worst 5, 6, 8 us.
        self.assertEqual(a['fps'], 20)
        self.assertEqual(a['consumer_proc_cpu_us'], 5)
        self.assertAlmostEqual(a['lat_median_us'], 4.0)
        self.assertAlmostEqual(a['lat_worst_median_us'], 6.0)
        self.assertAlmostEqual(a['copies_per_frame'], 0.1)

    def test_rounds_hold_each_run_under_its_repeat(self):
        a = bt.aggregate([
            fake_run(2, [5], [7], [[8000]]),
            fake_run(0, [10, 30, 20], [1, 2, 3], [[1000, 3000], [5000]]),
            fake_run(1, [1], [1], [[1]], status='timeout')])
        self.assertEqual(a['status'], 'ok 2/3')
        self.assertEqual(a['rounds']['fps'], {0: 20, 2: 5})
        self.assertEqual(a['rounds']['producer_proc_cpu_us'],
                         {0: 100.0, 2: 102.0})
        self.assertAlmostEqual(a['rounds']['lat_median_us'][0], 3.5)
        self.assertNotIn('rounds', bt.table_dict(a))
        self.assertEqual(bt.table_dict(a)['fps'], a['fps'])

    def test_no_run_ok_has_no_figures(self):
        a = bt.aggregate([fake_run(0, [1], [1], [[1]], status='stalled')])
        self.assertEqual(a['status'], 'stalled')
        self.assertNotIn('rounds', a)
        self.assertNotIn('fps', a)


class TestMeets(unittest.TestCase):
    def test_limits(self):
        self.assertTrue(bt.meets(1.5, 1.5, '<='))
        self.assertFalse(bt.meets(1.51, 1.5, '<='))
        self.assertTrue(bt.meets(0.95, 0.95, '>='))
        self.assertFalse(bt.meets(0.94, 0.95, '>='))
        self.assertTrue(bt.meets(1.0, 1.0, '=='))
        self.assertFalse(bt.meets(1.01, 1.0, '=='))
        self.assertIsNone(bt.meets(None, 1.0, '<='))


class TapResult(unittest.TestResult):
    """Prints one TAP line per case as it ends."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, test, ok, why=None):
        self.n += 1
        print('%s %d - %s' % ('ok' if ok else 'not ok', self.n,
                              test.id().split('.', 1)[-1]))
        if why:
            for line in why.rstrip().splitlines():
                print('# ' + line)
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False, self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False, self.errors[-1][1])


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    print('1..%d' % suite.countTestCases())
    result = TapResult()
    suite.run(result)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
