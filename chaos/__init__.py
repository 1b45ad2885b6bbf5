"""Chaos experiments: faults on the shop's edges and services, measured under load.

One module per idea: ``toxiproxy`` (the TCP fault server's client), ``admin``
(the shop's admin API), ``experiment`` (loading and validation), ``faults``
(apply + rollback), ``metrics`` (scrape and parse), ``probes`` (hypothesis and
tolerances), ``runner`` (the run), ``journal``, ``report`` and ``console``.
"""
