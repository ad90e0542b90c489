"""Sample documents per format family (data) and the simulated national endpoints (samples.endpoints)."""
