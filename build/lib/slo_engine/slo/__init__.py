"""The SLO math: pure, deterministic functions over count series (no I/O, no model)."""
