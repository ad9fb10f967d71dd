"""Shared test settings: Hypothesis runs derandomised, so CI and a laptop draw the same cases."""

from hypothesis import HealthCheck, settings

settings.register_profile("kit", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow], database=None)
settings.load_profile("kit")
