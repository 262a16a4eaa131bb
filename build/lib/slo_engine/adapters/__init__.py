"""Cloud adapters behind the ports (AWS, Bedrock, ...); each imports its driver lazily."""
