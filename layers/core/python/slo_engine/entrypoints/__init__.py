"""Lambda-facing glue: builds adapters from the environment and calls the core (one module per function)."""
