"""The Neo4j graph store (``ports.GraphStore``) with the official ``neo4j`` driver, imported lazily.

Uniqueness constraint and indexes are created idempotently; writes are batched ``UNWIND ... MERGE`` (and
``UNWIND ... DELETE`` for edges a source stopped reporting) with parameters only (the Cypher is shared with the
embedded store, ``slo_engine.graph.cypher``) and run in managed transactions, which the driver retries on
transient errors. Credentials come from the environment
(``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``) or a Secrets Manager secret
``{"uri", "username", "password"}`` named by ``SLO_ENGINE_NEO4J_SECRET_ARN``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError

from slo_engine.graph import cypher
from slo_engine.models.graph import Dependency, ServiceNode

SECRET_ARN_VARIABLE = "SLO_ENGINE_NEO4J_SECRET_ARN"
BATCH_ROWS = 1000
MAX_RETRY_SECONDS = 30.0


class Neo4jSettingsError(ValueError):
    """Neo4j connection settings that are missing or malformed (the message says which)."""


class Neo4jSettings(BaseModel):
    uri: str = Field(min_length=1, pattern=r"^(neo4j|bolt)(\+s|\+ssc)?://")
    username: str = Field(default="neo4j", min_length=1)
    password: SecretStr
    database: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, secrets_client: Any = None) -> Neo4jSettings:
        """``NEO4J_URI`` (+ user, password, database) if set, else the secret named by
        ``SLO_ENGINE_NEO4J_SECRET_ARN``; raises ``Neo4jSettingsError`` saying what is missing."""
        env = os.environ if environ is None else environ
        if env.get("NEO4J_URI"):
            values: dict[str, Any] = {
                "uri": env["NEO4J_URI"],
                "username": env.get("NEO4J_USERNAME", "neo4j"),
                "password": env.get("NEO4J_PASSWORD", ""),
                "database": env.get("NEO4J_DATABASE") or None,
            }
            where = "NEO4J_* environment variables"
        elif env.get(SECRET_ARN_VARIABLE):
            values = _read_secret(env[SECRET_ARN_VARIABLE], secrets_client)
            values.setdefault("database", env.get("NEO4J_DATABASE") or None)
            where = f"secret {env[SECRET_ARN_VARIABLE]}"
        else:
            raise Neo4jSettingsError(f"set NEO4J_URI (and NEO4J_PASSWORD) or {SECRET_ARN_VARIABLE}")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) + f": {e['msg']}" for e in exc.errors())
            raise Neo4jSettingsError(f"Neo4j settings from {where} are invalid: {fields}") from None


def _read_secret(secret_id: str, client: Any = None) -> dict[str, Any]:
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    raw = client.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise Neo4jSettingsError(f"secret {secret_id} is not a JSON object {{uri, username, password}}") from None
    if not isinstance(document, dict):
        raise Neo4jSettingsError(f"secret {secret_id} is not a JSON object {{uri, username, password}}")
    return dict(document)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Neo4jGraphStore:
    """Implements ``ports.GraphStore`` on Neo4j 5. Build with ``from_env()`` or ``connect(settings)``."""

    def __init__(self, driver: Any, database: str | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        self._driver = driver
        self._database = database
        self._clock = clock
        self.ensure_schema()

    @classmethod
    def connect(cls, settings: Neo4jSettings, clock: Callable[[], datetime] = _utc_now) -> Neo4jGraphStore:
        from neo4j import GraphDatabase  # lazily: only this adapter needs the driver

        driver = GraphDatabase.driver(
            settings.uri,
            auth=(settings.username, settings.password.get_secret_value()),
            max_transaction_retry_time=MAX_RETRY_SECONDS,
        )
        driver.verify_connectivity()
        return cls(driver, settings.database, clock)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Neo4jGraphStore:
        return cls.connect(Neo4jSettings.from_env(environ))

    def ensure_schema(self) -> None:
        """The uniqueness constraint on service names and the indexes; safe to run any number of times."""
        for statement in cypher.NEO4J_SCHEMA:
            self._write(statement, {})

    def upsert_services(self, services: Sequence[ServiceNode]) -> None:
        for batch in cypher.batches(cypher.service_rows(services, self._clock()), BATCH_ROWS):
            self._write(cypher.UPSERT_SERVICES, {"rows": batch})

    def upsert_dependencies(self, dependencies: Sequence[Dependency]) -> None:
        now = cypher.timestamp(self._clock())
        names = cypher.endpoint_names(dependencies)
        for start in range(0, len(names), BATCH_ROWS):
            self._write(cypher.ENSURE_SERVICES, {"names": names[start : start + BATCH_ROWS], "now": now})
        for batch in cypher.batches(cypher.dependency_rows(dependencies), BATCH_ROWS):
            self._write(cypher.UPSERT_DEPENDENCIES, {"rows": batch})

    def remove_dependencies(self, edges: Sequence[tuple[str, str, str]]) -> int:
        """Delete the edges keyed (from, to, source), in batches; returns how many went. Unknown keys are ignored."""
        return sum(
            self._write_counting(cypher.REMOVE_DEPENDENCIES, {"rows": batch}, "removed")
            for batch in cypher.batches(cypher.edge_key_rows(edges), BATCH_ROWS)
        )

    def services(self) -> list[ServiceNode]:
        return [
            cypher.service_from_record(r["name"], r["tier"], r["active"], r["attributes"])
            for r in self._read(cypher.READ_SERVICES)
        ]

    def dependencies(self) -> list[Dependency]:
        return [
            cypher.dependency_from_record(
                r["caller_name"], r["callee_name"], r["kind"], r["source"], r["confidence"], r["last_seen"]
            )
            for r in self._read(cypher.READ_DEPENDENCIES)
        ]

    def delete_everything(self) -> None:
        """Remove every service and edge (the contract tests start from an empty database)."""
        self._write("MATCH (s:Service) DETACH DELETE s", {})

    def close(self) -> None:
        self._driver.close()

    def _write(self, query: str, parameters: dict[str, Any]) -> None:
        def work(tx: Any) -> None:
            tx.run(query, parameters).consume()

        with self._driver.session(database=self._database) as session:
            session.execute_write(work)  # managed: retried on transient errors

    def _write_counting(self, query: str, parameters: dict[str, Any], column: str) -> int:
        """Like ``_write`` (managed, retried on transient errors), returning the sum of the query's ``column``."""

        def work(tx: Any) -> int:
            return sum(int(record[column]) for record in tx.run(query, parameters))

        with self._driver.session(database=self._database) as session:
            count: int = session.execute_write(work)
        return count

    def _read(self, query: str) -> list[dict[str, Any]]:
        def work(tx: Any) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query)]

        with self._driver.session(database=self._database) as session:
            result: list[dict[str, Any]] = session.execute_read(work)
        return result
