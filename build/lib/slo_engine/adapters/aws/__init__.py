"""AWS adapters behind the ports (DynamoDB, EventBridge, Cloud Map, Secrets Manager, ...); each imports boto3 lazily."""
