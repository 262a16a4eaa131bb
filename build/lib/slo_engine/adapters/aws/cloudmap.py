"""The AWS Cloud Map registry reader: namespaces, services, their attributes and tags, and instances, every list
paginated. An entry it cannot read is reported (and its service id kept, so it is never taken as deregistered).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from slo_engine.discovery.events import RegistryEntry, RegistryInstance, RegistryProblem, RegistryReading

SERVICE_NAME_KEY = "slo-engine:service"
"""A service attribute or tag with this key names the service in the dependency graph (default: its Cloud Map name)."""


class NamespaceNotFoundError(LookupError):
    """A namespace asked for by name is not in the registry (polling it would deregister everything)."""


class CloudMapRegistry:
    """Reads the registry through a boto3 ``servicediscovery`` client (built lazily when not given)."""

    def __init__(self, namespaces: Sequence[str] = (), client: Any = None) -> None:
        self._namespace_names = tuple(namespaces)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("servicediscovery")
        return self._client

    def read(self) -> RegistryReading:
        """Every service of the chosen namespaces (all namespaces when none were named)."""
        reading = RegistryReading()
        for namespace in self._namespaces():
            for summary in self._pages(
                "list_services",
                "Services",
                Filters=[{"Name": "NAMESPACE_ID", "Values": [namespace["Id"]], "Condition": "EQ"}],
            ):
                self._read_service(namespace, summary, reading)
        reading.entries.sort(key=lambda entry: entry.service_id)
        return reading

    def _namespaces(self) -> list[dict[str, Any]]:
        found = list(self._pages("list_namespaces", "Namespaces"))
        if not self._namespace_names:
            return sorted(found, key=lambda n: n["Name"])
        by_name = {namespace["Name"]: namespace for namespace in found}
        missing = [name for name in self._namespace_names if name not in by_name]
        if missing:
            raise NamespaceNotFoundError(f"Cloud Map namespace(s) not found: {', '.join(missing)}")
        return [by_name[name] for name in self._namespace_names]

    def _read_service(self, namespace: dict[str, Any], summary: dict[str, Any], reading: RegistryReading) -> None:
        service_id = summary.get("Id")
        reference = f"{namespace['Name']}/{summary.get('Name') or service_id or '?'}"
        if not service_id or not summary.get("Name"):
            reading.problems.append(RegistryProblem(reference=reference, problem="service without an Id or Name"))
            if service_id:
                reading.unreadable.append(service_id)
            return
        attributes: dict[str, str] = {}
        if summary.get("Arn"):
            tags = self.client.list_tags_for_resource(ResourceARN=summary["Arn"]).get("Tags", [])
            attributes.update({tag["Key"]: tag["Value"] for tag in tags if "Key" in tag and "Value" in tag})
        service_attributes = self.client.get_service_attributes(ServiceId=service_id).get("ServiceAttributes", {})
        attributes.update(service_attributes.get("Attributes") or {})
        instances: dict[str, RegistryInstance] = {}  # by id: a re-registered instance replaces the earlier one
        for instance in self._pages("list_instances", "Instances", ServiceId=service_id):
            instance_attributes = instance.get("Attributes")
            if not instance_attributes:
                reading.problems.append(
                    RegistryProblem(
                        reference=f"{reference}/{instance.get('Id', '?')}",
                        problem="instance has no attributes; the service is read from its other attributes",
                    )
                )
            if not instance.get("Id"):
                reading.problems.append(RegistryProblem(reference=reference, problem="instance without an Id"))
                continue
            instances[instance["Id"]] = RegistryInstance(
                instance_id=instance["Id"], attributes=instance_attributes or {}
            )
        name = attributes.get(SERVICE_NAME_KEY) or summary["Name"]
        try:
            entry = RegistryEntry(
                service_id=service_id,
                name=name,
                namespace=namespace["Name"],
                attributes=attributes,
                instances=tuple(instances.values()),
            )
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            reading.problems.append(RegistryProblem(reference=reference, problem=f"unusable entry: {reasons}"))
            reading.unreadable.append(service_id)
            return
        reading.entries.append(entry)

    def _pages(self, operation: str, key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator(operation)
        for page in paginator.paginate(**arguments):
            yield from page.get(key, [])
