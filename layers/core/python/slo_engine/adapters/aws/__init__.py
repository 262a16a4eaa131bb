"""AWS adapters (boto3 clients built lazily)."""
