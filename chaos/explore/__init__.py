"""Explore the fault space: every journey × every edge it crosses × every fault mode × profile.

Filibuster-style (SoCC'21): a fault-free run of each journey finds the edges it crosses
(``discovery``: the callers' ``shoplab_dependency_requests_total`` counters, before and
after); then the journey runs once per cell with one fault (``modes``) on one edge, under
each profile, and each cell records the outcome, the status the user saw, the time and
whether the shop stayed consistent (``runner``). ``--pairs`` adds two faults at once,
pruned (``matrix.plan_pairs``). ``report`` writes the HTML matrix, JSON and JUnit XML;
``matrix.compare`` is the gate against ``expected.json``.
"""
