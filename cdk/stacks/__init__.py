"""One CloudFormation stack per stage of the pipeline: state, ingestion, discovery, knowledge, reasoning, API."""
