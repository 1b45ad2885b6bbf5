"""Turn a run's raw samples into numbers with intervals and three-valued verdicts.

One module per idea, pure Python plus ``hdrhistogram``:

- ``intervals``: the Wilson score interval of a ratio, and how many samples would narrow or decide it;
- ``histograms``: latency histograms (HDR) that merge across processes and travel as a short string;
- ``percentiles``: distribution-free intervals for a percentile from the order statistics;
- ``verdicts``: met / not met / inconclusive against a tolerance, with a minimum sample count.
"""
