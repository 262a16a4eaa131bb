"""The runbook vector index: an OpenSearch Serverless VECTORSEARCH collection with its encryption and network policies,
and ``grant_data_access`` to add a data access policy for one role (the indexer writes, retrieval reads).
"""

from __future__ import annotations

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

from cdk.config import DeploymentConfig
from cdk.permissions import grant_collection_access

RUNBOOK_INDEX = "runbooks"
_WRITE_INDEX = ["aoss:CreateIndex", "aoss:UpdateIndex", "aoss:DescribeIndex", "aoss:ReadDocument", "aoss:WriteDocument"]
_READ_INDEX = ["aoss:DescribeIndex", "aoss:ReadDocument"]


def collection_data_policy(
    scope: Construct, *, collection_name: str, role: iam.IRole, access: Literal["read", "write"]
) -> str:
    """The JSON of a data access policy giving ``role`` read or read/write on the collection's indexes."""
    rules: list[dict[str, object]] = [
        {
            "ResourceType": "index",
            "Resource": [f"index/{collection_name}/*"],
            "Permission": _WRITE_INDEX if access == "write" else _READ_INDEX,
        }
    ]
    if access == "write":
        rules.append(
            {
                "ResourceType": "collection",
                "Resource": [f"collection/{collection_name}"],
                "Permission": [
                    "aoss:DescribeCollectionItems",
                    "aoss:CreateCollectionItems",
                    "aoss:UpdateCollectionItems",
                ],
            }
        )
    return cdk.Stack.of(scope).to_json_string([{"Rules": rules, "Principal": [role.role_arn]}])


class VectorCollection(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.name = config.knowledge.vector_collection_name
        self.encryption_policy = aoss.CfnSecurityPolicy(
            self,
            "EncryptionPolicy",
            name=f"{self.name}-enc",
            type="encryption",
            description="Encrypt the runbook collection with an AWS-owned key",
            policy=cdk.Stack.of(self).to_json_string(
                {
                    "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{self.name}"]}],
                    "AWSOwnedKey": True,
                }
            ),
        )
        # Public endpoint with IAM (SigV4) authentication: the Lambdas that use it run outside a VPC. Every request is
        # still authorized by IAM (aoss:APIAccessAll on this collection) and by the data access policies below.
        self.network_policy = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=f"{self.name}-net",
            type="network",
            description="Runbook collection endpoint reachable with SigV4 from Lambda",
            policy=cdk.Stack.of(self).to_json_string(
                [
                    {
                        "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{self.name}"]}],
                        "AllowFromPublic": True,
                    }
                ]
            ),
        )
        self.collection = aoss.CfnCollection(
            self,
            "Collection",
            name=self.name,
            type="VECTORSEARCH",
            description="Runbook chunks and their embeddings (hybrid BM25 + k-NN retrieval)",
            standby_replicas=config.knowledge.vector_standby_replicas,
        )
        self.collection.add_resource_dependency(self.encryption_policy)
        self.collection.add_resource_dependency(self.network_policy)
        self.collection.apply_removal_policy(
            cdk.RemovalPolicy.RETAIN if config.retain_data else cdk.RemovalPolicy.DESTROY
        )

    @property
    def arn(self) -> str:
        return self.collection.attr_arn

    @property
    def endpoint(self) -> str:
        return self.collection.attr_collection_endpoint

    def grant_data_access(
        self, scope: Construct, construct_id: str, role: iam.IRole, access: Literal["read", "write"], policy_suffix: str
    ) -> aoss.CfnAccessPolicy:
        """Both halves of access for ``role``: IAM on the collection and a data access policy (in ``scope``'s stack)."""
        grant_collection_access(role, self.arn)
        return aoss.CfnAccessPolicy(
            scope,
            construct_id,
            name=f"{self.name}-{policy_suffix}",
            type="data",
            description=f"{access} access to the runbook indexes",
            policy=collection_data_policy(scope, collection_name=self.name, role=role, access=access),
        )
