"""The shared service kit: app factory, errors, health, admin API, data, resilience, telemetry."""
