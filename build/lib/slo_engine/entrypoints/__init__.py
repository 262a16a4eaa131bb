"""Lambda-facing glue: builds adapters from the environment and calls the core (the only place besides adapters/
that may reach boto3, always lazily).
"""
