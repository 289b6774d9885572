"""The broad nets: a word co-occurrence safety net under the phrase rules.

Each net fires on phrasings no phrase rule knows (checked by asking the net directly and by
checking that no rule fired), stays quiet on look-alikes, only ever adds a concern, and keeps
the context checks (negation, idiom, someone else, resolved past).
"""

from __future__ import annotations

import pytest

from escalation.detect import DEFAULT, assess
from escalation.detect.broadnet import BroadNets, load_broad, parse_nets

assert DEFAULT is not None
NETS = DEFAULT._nets
NORM = DEFAULT._normaliser


def net_categories(text: str) -> set[str]:
    assert NETS is not None
    return {h.category for h in NETS.hits(NORM.normalise(text).text)}


# Phrasings written for these tests from the cue families (none is in the challenge sets),
# where the phrase rules find nothing: only the net can catch them.
NET_ONLY = [
    ("cant be bothered anymore, tablets on the table", "crisis"),
    ("struggling bad, looking at the railway line", "crisis"),
    ("hopeless, tablets everywhere", "crisis"),
    ("the council have discharged me, moving me on monday", "housing"),
    ("my bloke wants proof of where i am every hour", "domestic_abuse"),  # ("checks where i am" is a rule since round four)
    ("my girlfriend monitors where i am and who i text", "domestic_abuse"),
]


@pytest.mark.parametrize("text, category", NET_ONLY)
def test_a_net_catches_phrasing_no_rule_knows(text: str, category: str) -> None:
    findings = assess(text).findings
    assert [f.rule_id for f in findings if f.category == category] == [f"net.{category}"], findings


@pytest.mark.parametrize("text, category", NET_ONLY)
def test_a_net_finding_is_a_concern_with_the_words_that_added_up(text: str, category: str) -> None:
    found = [f for f in assess(text).findings if f.rule_id == f"net.{category}"]
    assert found and found[0].severity == "concern"
    for piece in found[0].evidence.split(" + "):
        assert piece.lower() in text.lower(), "evidence is an excerpt of the mentee's own words"


# Messages that share the nets' words but carry no risk.
QUIET = [
    "picked up my tablets from the chemist, all good",  # one weak cue (means)
    "cutting down on the drink, feeling better",  # not cutting oneself
    "dead on my feet after that shift",  # idiom
    "my mate relapsed and is using again, worried for him",  # someone else
    "used to cut myself years ago, doing well now",  # resolved past
    "i'm not suicidal, just tired",  # negation
    "stayed at my mates after the match",  # one weak cue (rough place words are not "mates")
    "the bouncer threw me out the club lol",  # put out, but not of a home
    "gave my old coat to a homeless lad",  # someone else's homelessness
    "my nan fell and hurt herself",  # done to someone else
    "my sister's husband hits her",  # done to someone else
    "my mum drives me mad but she's sound really",  # a relative alone is not abuse
    "my girlfriend hit the jackpot on the bingo",
    "phone's nearly dead, will text tomorrow",
]


@pytest.mark.parametrize("text", QUIET)
def test_nets_stay_quiet_on_look_alikes(text: str) -> None:
    assert net_categories(text) == set()


def test_a_net_only_adds_a_category_no_rule_flagged() -> None:
    text = "i want to die, no point anymore"
    findings = assess(text).findings
    assert any(f.rule_id.startswith("crisis.") for f in findings)
    assert not any(f.rule_id == "net.crisis" for f in findings), "the rule already flagged crisis"


def test_a_net_never_lowers_or_removes_a_rule_finding() -> None:
    text = "been stockpiling my pregabalin for weeks"
    with_nets = assess(text)
    assert DEFAULT is not None
    saved = DEFAULT._nets
    try:
        DEFAULT._nets = None
        without = DEFAULT.assess(text)
    finally:
        DEFAULT._nets = saved
    assert set(without.findings) <= set(with_nets.findings)
    assert with_nets.severity() == without.severity()


def test_two_weak_cues_fire_but_one_does_not() -> None:
    assert net_categories("no point") == set()
    assert net_categories("tablets") == set()
    assert "crisis" in net_categories("no point, tablets")


def test_a_medium_cue_needs_the_first_person() -> None:
    assert "crisis" in net_categories("i keep cutting my arms")
    assert "crisis" not in net_categories("my brother keeps cutting his arms")


def test_domestic_abuse_needs_something_done_to_the_mentee() -> None:
    assert "domestic_abuse" in net_categories("my partner shoves me")
    assert "domestic_abuse" not in net_categories("my partner shoves the dog")
    assert "domestic_abuse" not in net_categories("my partner and my mum")


def test_negated_and_past_cues_count_for_nothing() -> None:
    assert "crisis" in net_categories("feel like giving up, cant stop crying")
    assert "crisis" not in net_categories("not giving up, not crying")
    assert "crisis" not in net_categories("used to feel like giving up and cry all the time, years ago")


def test_nets_explain_which_cue_families_added_up() -> None:
    assert DEFAULT is not None
    traces = [t for t in DEFAULT.explain("hopeless, tablets everywhere") if t.rule_id == "net.crisis"]
    assert traces and traces[0].kept
    assert {"hopeless", "means"} <= set(traces[0].cues)


def test_net_data_is_validated() -> None:
    data = load_broad()
    assert {n.category for n in parse_nets(data)} == {"crisis", "housing", "domestic_abuse"}
    broken = dict(data, crisis=dict(data["crisis"], threshold=0))
    with pytest.raises(ValueError):
        parse_nets(broken)
    bad_family = dict(data["crisis"], family=[{"name": "x", "weight": 2, "cues": ["die"], "ignore_context": ["nope"]}])
    with pytest.raises(ValueError):
        parse_nets(dict(data, crisis=bad_family))
    bad_need = dict(data["domestic_abuse"], require_any=["no-such-family"])
    with pytest.raises(ValueError):
        parse_nets(dict(data, domestic_abuse=bad_need))


def test_a_plain_cue_word_is_never_hidden_by_the_anchor_pre_check() -> None:
    """Every single-word cue makes its family a candidate in a message that contains it."""
    assert isinstance(NETS, BroadNets)
    for n, net in enumerate(NETS.nets):
        for f, family in enumerate(net.families):
            for c, words in enumerate(family.words):
                for word in words:
                    assert c in NETS._candidates(f"well {word} then").get(n, {}).get(f, []), (family.name, word)
