"""Declared dependencies: registry attributes, Backstage catalog-info.yaml dependsOn, NAME_URL=... lines."""

from __future__ import annotations

from slo_engine.discovery.declared import from_catalog_info, from_env_text, from_registry_attributes, host_of

CATALOG = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
spec:
  type: service
  dependsOn:
    - component:payments
    - component:default/cart
    - resource:default/orders-db
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: checkout-api
spec:
  type: openapi
"""


def targets(reading) -> list[tuple[str, str, str]]:
    return [(d.target, d.source, d.kind) for d in reading.dependencies]


def test_depends_on_attribute_lists_hard_dependencies() -> None:
    reading = from_registry_attributes({"depends_on": "payments, cart"})
    assert targets(reading) == [("payments", "registry", "hard"), ("cart", "registry", "hard")]


def test_a_soft_marker_or_soft_attribute_gives_soft_edges() -> None:
    reading = from_registry_attributes({"depends_on": "ads:soft", "soft_depends_on": "recs"})
    assert targets(reading) == [("ads", "registry", "soft"), ("recs", "registry", "soft")]


def test_an_unknown_kind_marker_is_reported_and_read_as_the_default() -> None:
    reading = from_registry_attributes({"depends_on": "ads:maybe"})
    assert targets(reading) == [("ads", "registry", "hard")]
    assert "expected hard or soft" in reading.problems[0]


def test_a_url_attribute_names_its_host() -> None:
    reading = from_registry_attributes({"PAYMENTS_URL": "http://payments.svc:8080/v1"})
    [dependency] = reading.dependencies
    assert (dependency.target, dependency.alternatives) == ("payments", ("PAYMENTS",))


def test_a_url_attribute_that_is_no_url_is_reported() -> None:
    reading = from_registry_attributes({"LEDGER_URL": "http://"})
    assert reading.dependencies == []
    assert "not a URL" in reading.problems[0]


def test_catalog_info_depends_on_reduces_entity_references_to_names() -> None:
    assert targets(from_catalog_info(CATALOG, "checkout")) == [
        ("payments", "catalog", "hard"),
        ("cart", "catalog", "hard"),
        ("orders-db", "catalog", "hard"),
    ]


def test_catalog_info_that_is_not_yaml_is_reported_with_its_line() -> None:
    reading = from_catalog_info("spec: [unclosed\n  dependsOn: x", "checkout")
    assert reading.dependencies == []
    assert "not valid YAML at line" in reading.problems[0]


def test_catalog_info_without_the_service_is_reported() -> None:
    two = CATALOG.replace("kind: API", "kind: Component")
    assert "no entity named 'billing'" in from_catalog_info(two, "billing").problems[0]


def test_catalog_info_depends_on_that_is_not_a_list_is_reported() -> None:
    reading = from_catalog_info("kind: Component\nmetadata: {name: a}\nspec: {dependsOn: payments}", "a")
    assert "must be a list" in reading.problems[0]


def test_env_lines_with_urls_become_dependencies() -> None:
    text = 'export PAYMENTS_URL="http://payments.default.svc.cluster.local:8080"\nCART_HOST=cart:9000\nDEBUG=1\n'
    assert [d.target for d in from_env_text(text).dependencies] == ["payments", "cart"]


def test_localhost_and_ip_addresses_are_not_services() -> None:
    assert host_of("http://localhost:8080") is None
    assert host_of("10.0.0.7:5432") is None
