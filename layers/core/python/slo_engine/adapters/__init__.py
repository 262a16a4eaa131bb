"""Cloud and driver adapters behind the ports in ``slo_engine.ports`` (drivers imported lazily)."""
