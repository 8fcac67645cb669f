"""The short fuzzing campaign (lab/fuzz.py; the long one is bench/fuzz.py): a few thousand mutated,
random, replayed, forged and reordered packets from the client namespace into node2's live
messaging daemon of a sealed 3-node namespace lab, then a 2-second flood. Nothing crashes, no node
ever sees a live node not active, the membership does not change, every packet of an outsider is
dropped and counted by reason, and the daemon's memory stays bounded."""

from __future__ import annotations

import os

import pytest

from lab import fuzz
from lab.plan import LabSpec
import labs
from labs import running_lab

pytestmark = [pytest.mark.lab]
if os.geteuid() != 0:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs as root: the namespace lab tests must run there")
    pytestmark.append(pytest.mark.skip(reason="the namespace lab needs root"))

SPEC = LabSpec(name="tfuzz", nodes=3, subnet="198.19.212.0/24", auth="aes-256-gcm")
ALL = ["node1", "node2", "node3"]
PER_KIND = 300
MAX_RSS_GROWTH_KIB = 16 * 1024


@pytest.fixture(scope="module")
def campaign():
    with running_lab(SPEC) as lab:
        labs.wait_agreed(lab, ALL, ALL, True, 30)
        counts = {kind: PER_KIND for kind in fuzz.KINDS}
        counts["flood"] = 20_000
        yield fuzz.run(lab, "aes-256-gcm", counts, seed=12, rate=3000, flood_s=2.0)


def test_nothing_crashes_and_no_live_node_is_seen_dead(campaign):
    assert campaign.crashes == []
    assert campaign.checks >= 10, "the views were hardly watched"
    assert campaign.false_deaths == []
    assert campaign.membership_changes == []


def test_every_outsider_packet_is_dropped_and_counted_by_reason(campaign):
    rows = {row.kind: row for row in campaign.kinds}
    assert set(rows) == set(fuzz.KINDS)
    assert campaign.captured_fragments > 0
    for kind in fuzz.KINDS:
        if kind == "flood":
            continue
        row = rows[kind]
        assert row.sent == PER_KIND, (kind, row)
        assert sum(row.drops.values()) == row.sent, (kind, row.drops)
    assert set(rows["replay"].drops) <= {"replayed", "outside_window", "old_generation", "clock_skew"}
    assert set(rows["fragments"].drops) <= {"replayed", "outside_window"}
    assert set(rows["wrong_key"].drops) <= {"unknown_key", "unknown_sender", "bad_seal"}
    flood = rows["flood"]
    assert 0 < sum(flood.drops.values()) <= flood.sent


def test_memory_stays_bounded(campaign):
    assert campaign.rss_kib_after - campaign.rss_kib_before < MAX_RSS_GROWTH_KIB, campaign
