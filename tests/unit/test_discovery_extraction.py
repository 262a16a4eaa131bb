"""Dependencies read from docs and config: the rule-based extractor, and the validation that every reader's answer
(rules or a model) goes through: the schema, known services only, no self-loops."""

from __future__ import annotations

from slo_engine.discovery.events import ExtractedDependency
from slo_engine.discovery.extraction import extract_dependencies_by_rules, validate_extracted
from slo_engine.embedded.reasoner import DeterministicReasoner

KNOWN = ["checkout", "payments", "fraud-check", "email-sender", "cart"]
DOC = """# Checkout

Checkout calls payments synchronously for every order. It also depends on the Fraud Check service.
Confirmation mails are published to email-sender asynchronously.

The cart team owns the basket page.
"""


def found(answer: list[ExtractedDependency]) -> dict[str, str]:
    return {item.service: item.kind for item in answer}


def test_services_next_to_a_dependency_cue_are_extracted() -> None:
    answer = extract_dependencies_by_rules("checkout", DOC, KNOWN)
    assert found(answer) == {"payments": "hard", "fraud-check": "hard", "email-sender": "soft"}


def test_a_mention_without_a_dependency_cue_is_not_a_dependency() -> None:
    assert "cart" not in found(extract_dependencies_by_rules("checkout", DOC, KNOWN))


def test_the_service_itself_is_never_extracted() -> None:
    assert "checkout" not in found(extract_dependencies_by_rules("checkout", "Checkout calls checkout.", KNOWN))


def test_url_lines_in_config_text_are_extracted_even_for_unknown_hosts() -> None:
    answer = extract_dependencies_by_rules("checkout", "LEDGER_URL=http://ledger.svc:80\nCART_URL=http://cart:1", KNOWN)
    assert found(answer) == {"cart": "hard", "ledger": "hard"}


def test_the_deterministic_reasoner_answers_with_the_rules() -> None:
    assert DeterministicReasoner().extract_dependencies("checkout", DOC, KNOWN) == extract_dependencies_by_rules(
        "checkout", DOC, KNOWN
    )


def test_an_answer_naming_an_unknown_service_is_refused_with_the_name() -> None:
    verdict = validate_extracted("checkout", [{"service": "ledger"}, {"service": "payments"}], KNOWN)
    assert [item.service for item in verdict.accepted] == ["payments"]
    assert "unknown service 'ledger'" in verdict.rejected[0]


def test_an_answer_naming_the_service_itself_is_refused_as_a_self_loop() -> None:
    verdict = validate_extracted("checkout", [{"service": "checkout"}], KNOWN)
    assert verdict.accepted == []
    assert verdict.rejected[0].startswith("self-loop")


def test_a_malformed_item_is_refused_and_the_rest_kept() -> None:
    verdict = validate_extracted("checkout", [{"service": "cart", "confidence": 7}, {"service": "cart"}], KNOWN)
    assert len(verdict.accepted) == 1
    assert "item 0" in verdict.rejected[0] and "confidence" in verdict.rejected[0]


def test_an_answer_that_is_not_a_list_is_refused_whole() -> None:
    verdict = validate_extracted("checkout", {"service": "cart"}, KNOWN)
    assert verdict.accepted == []
    assert "not a list" in verdict.rejected[0]


def test_another_spelling_of_a_known_service_is_written_with_its_known_name() -> None:
    verdict = validate_extracted("checkout", [{"service": "Fraud_Check"}, {"service": "payments-service"}], KNOWN)
    assert [item.service for item in verdict.accepted] == ["fraud-check", "payments"]


def test_a_sentence_about_callers_names_no_dependency() -> None:
    text = "Checkout is called by cart and used by payments."
    assert extract_dependencies_by_rules("checkout", text, KNOWN) == []
