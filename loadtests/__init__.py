"""Locust load for the shop: shopper journeys, load shapes, thresholds and a runner API.

Only ``locustfile.py`` and ``journeys.py`` import locust (it monkey-patches gevent);
every other module here is plain Python that any process may import.
"""
