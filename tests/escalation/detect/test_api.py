"""The public result shape: findings, risks, worst severity per category."""

from __future__ import annotations

from escalation.detect import Assessment, Finding, assess


def test_a_message_with_no_risk_has_no_findings() -> None:
    result = assess("had a good week, started the new job")
    assert result == Assessment(findings=())
    assert result.risks == [] and result.severity() == {}


def test_risks_are_sorted_distinct_categories() -> None:
    result = assess("he beat me up and kicked me out, sleeping in the park, i want to die")
    assert result.risks == ["crisis", "domestic_abuse", "housing"]
    assert result.severity() == {"crisis": "concern", "domestic_abuse": "concern", "housing": "urgent"}


def test_severity_is_the_worst_of_a_categorys_findings() -> None:
    a = Assessment(findings=(
        Finding("housing", "concern", "evicted", "housing.eviction"),
        Finding("housing", "urgent", "slept in the car", "housing.sleeping-rough"),
    ))
    assert a.severity() == {"housing": "urgent"}


def test_review_is_reported_in_severity_but_is_not_a_risk() -> None:
    a = Assessment(findings=(Finding("review", "urgent", "could not check", "detector-error"),), failed=True)
    assert a.risks == [] and a.severity() == {"review": "urgent"}


def test_each_finding_names_the_rule_and_evidence() -> None:
    finding = assess("landlord gave me a section 21").findings[0]
    assert finding == Finding("housing", "concern", "section 21", "housing.eviction")
