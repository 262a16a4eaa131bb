"""KnowledgeStack: the runbook-change queue never loses a message (SSE, DLQ with redrive), the indexer reports partial
batch failures, the webhook routes exist, and the OpenSearch Serverless vector collection is set up."""

from __future__ import annotations

from aws_cdk.assertions import Match
from cloud_assembly import INFRASTRUCTURE, CloudAssembly
from template_queries import (
    allowed_actions,
    as_list,
    function_role_id,
    functions_by_folder,
    method_routes,
    role_statements,
)

pytestmark = INFRASTRUCTURE


def _runbook_queue(assembly: CloudAssembly) -> tuple[dict, dict]:
    """The work queue and its dead-letter queue (the queue whose RedrivePolicy names it)."""
    template = assembly.templates[assembly.stack_name("Knowledge")]
    queues = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    work = [r for r in queues.values() if "RedrivePolicy" in r["Properties"]]
    assert len(work) == 1
    dead_letter_id = work[0]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    return work[0], queues[dead_letter_id]


def test_runbook_queue_redrives_to_its_dead_letter_queue_after_the_configured_receives(
    assembly: CloudAssembly,
) -> None:
    work, _ = _runbook_queue(assembly)
    assert work["Properties"]["RedrivePolicy"]["maxReceiveCount"] == assembly.config.knowledge.max_receive_count == 5


def test_runbook_queue_and_its_dead_letter_queue_are_encrypted(assembly: CloudAssembly) -> None:
    for queue in _runbook_queue(assembly):
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_runbook_queue_visibility_timeout_covers_six_indexer_timeouts(assembly: CloudAssembly) -> None:
    work, _ = _runbook_queue(assembly)
    template = assembly.templates[assembly.stack_name("Knowledge")]
    _, indexer = functions_by_folder(template)["runbook_indexer"]
    assert work["Properties"]["VisibilityTimeout"] >= 6 * indexer["Properties"]["Timeout"]


def test_indexer_reads_the_queue_with_partial_batch_responses(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Knowledge")]
    indexer_id, _ = functions_by_folder(template)["runbook_indexer"]
    assembly.template("Knowledge").has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": indexer_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": assembly.config.knowledge.indexer_batch_size,
        },
    )


def test_webhook_routes_accept_github_and_bitbucket_deliveries(assembly: CloudAssembly) -> None:
    routes = method_routes(assembly.templates[assembly.stack_name("Knowledge")])
    assert set(routes) == {"POST /webhooks/github", "POST /webhooks/bitbucket"}


def test_vector_collection_is_vectorsearch_behind_encryption_and_network_policies(assembly: CloudAssembly) -> None:
    template = assembly.templates[assembly.stack_name("Knowledge")]
    resources = template["Resources"]
    collections = [r for r in resources.values() if r["Type"] == "AWS::OpenSearchServerless::Collection"]
    assert len(collections) == 1
    collection = collections[0]
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    policy_types = {resources[dependency]["Properties"]["Type"] for dependency in collection["DependsOn"]}
    assert policy_types == {"encryption", "network"}


def test_indexer_has_a_data_access_policy_on_the_collection(assembly: CloudAssembly) -> None:
    assembly.template("Knowledge").has_resource_properties(
        "AWS::OpenSearchServerless::AccessPolicy", {"Type": "data", "Policy": Match.any_value()}
    )


def test_the_indexer_writes_service_documents_and_announces_them_on_the_service_change_bus(
    assembly: CloudAssembly,
) -> None:
    template = assembly.templates[assembly.stack_name("Knowledge")]
    _, indexer = functions_by_folder(template)["runbook_indexer"]
    variables = indexer["Properties"]["Environment"]["Variables"]
    state = assembly.stack_name("State")
    bucket_arn = {"Fn::GetStackOutput": {"StackName": state, "OutputName": "ServiceDocumentsBucketArn"}}
    assert variables["SLO_ENGINE_SERVICE_DOCS_BUCKET"] == {
        "Fn::GetStackOutput": {"StackName": state, "OutputName": "ServiceDocumentsBucketName"}
    }
    assert {"SLO_ENGINE_SERVICE_CHANGE_BUS", "SLO_ENGINE_INVENTORY_TABLE"} <= set(variables)
    statements = role_statements(template, function_role_id(indexer))
    objects = [s for s in statements if s["Resource"] == {"Fn::Join": ["", [bucket_arn, "/service-docs/*"]]}]
    assert [sorted(as_list(s["Action"])) for s in objects] == [["s3:DeleteObject", "s3:PutObject"]]
    listing = [s for s in statements if s["Resource"] == bucket_arn]
    assert [(s["Action"], s["Condition"]) for s in listing] == [
        ("s3:ListBucket", {"StringLike": {"s3:prefix": ["service-docs/*"]}})
    ]
    put_events = [s for s in statements if "events:PutEvents" in as_list(s["Action"])]
    assert len(put_events) == 1 and "Fn::GetStackOutput" in put_events[0]["Resource"]
    assert put_events[0]["Resource"]["Fn::GetStackOutput"]["StackName"] == assembly.stack_name("Discovery")
    assert "dynamodb:Scan" in allowed_actions(statements)
