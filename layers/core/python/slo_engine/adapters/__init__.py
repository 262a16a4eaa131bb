"""Cloud and server adapters behind the ports: AWS (``adapters.aws``), Neo4j. Drivers are imported lazily."""
