"""The runbook indexing pipeline: the runbook-change queue (SSE, TLS-only, DLQ after a bounded number of receives) and
the indexer Lambda (SQS event source with partial batch responses) that chunks, embeds and upserts into the index, and
stores each file attributed to registered services (read from the inventory table) as their document, announcing it
on the service-change bus.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.constructs.durable_queue import DurableQueue
from cdk.constructs.python_function import EngineFunction, EngineLayers
from cdk.constructs.service_documents_store import ServiceDocumentsStore
from cdk.constructs.state_tables import StateTables
from cdk.constructs.vector_collection import RUNBOOK_INDEX, VectorCollection
from cdk.permissions import grant_bedrock_invoke, grant_secret_read

# AWS guidance: the queue's visibility timeout is at least six times the consuming function's timeout.
VISIBILITY_TIMEOUT_FACTOR = 6


class RunbookIndexer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: EngineLayers,
        tables: StateTables,
        collection: VectorCollection,
        repository_tokens: secretsmanager.ISecret,
        service_documents: ServiceDocumentsStore,
        service_change_bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        knowledge = config.knowledge
        timeout = cdk.Duration.seconds(knowledge.indexer_timeout_seconds)
        self.changes = DurableQueue(
            self,
            "RunbookChanges",
            max_receive_count=knowledge.max_receive_count,
            visibility_timeout=cdk.Duration.seconds(knowledge.indexer_timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
        )
        self.handler = EngineFunction(
            self,
            "Handler",
            handler_folder="runbook_indexer",
            description="Fetches changed runbooks, chunks, extracts resolutions, embeds and upserts them",
            config=config,
            layers=layers,
            timeout=timeout,
            memory_mb=1024,
            environment={
                "SLO_ENGINE_VECTOR_COLLECTION_ENDPOINT": collection.endpoint,
                "SLO_ENGINE_VECTOR_INDEX": RUNBOOK_INDEX,
                "SLO_ENGINE_EMBEDDING_MODEL_ID": config.models.embedding_model_id,
                "SLO_ENGINE_SMALL_MODEL_ID": config.models.small_model_id,
                "SLO_ENGINE_REPOSITORY_TOKENS_SECRET_ARN": repository_tokens.secret_arn,
                tables.idempotency.environment_variable: tables.idempotency.table.table_name,
                tables.inventory.environment_variable: tables.inventory.table.table_name,
                service_documents.environment_variable: service_documents.bucket_name_for(self),
                "SLO_ENGINE_SERVICE_CHANGE_BUS": service_change_bus.event_bus_name,
            },
        )
        self.handler.function.add_event_source(
            event_sources.SqsEventSource(
                self.changes.queue,
                batch_size=knowledge.indexer_batch_size,
                max_batching_window=cdk.Duration.seconds(5),
                report_batch_item_failures=True,
            )
        )
        grant_secret_read(self.handler.role, repository_tokens)
        grant_bedrock_invoke(self.handler.role, self, (config.models.embedding_model_id, config.models.small_model_id))
        tables.idempotency.grant(self.handler.role, "read_write")
        tables.inventory.grant(self.handler.role, "scan")  # the registry's service names (inventory load)
        service_documents.grant_write(self.handler.role)
        service_change_bus.grant_put_events_to(self.handler.role)
        self.data_access = collection.grant_data_access(self, "IndexerDataAccess", self.handler.role, "write", "idx")
