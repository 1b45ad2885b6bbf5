"""Observability tier: promtool, real Prometheus and Jaeger against the running shop."""
