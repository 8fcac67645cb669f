"""vipwatch's pure parts: ARP frames built and parsed byte for byte, what a packet says about the
VIP, the round rules that tell a conflict from a failover, the TCP transitions, and the summary
computed from an event list (hand-written, and from random probe histories)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.vipwatch import (ARP_REPLY, ARP_REQUEST, ArpPacket, Config, Recorder, Stamp, Summary, _answer_line,
                          build_arp_request, classify, parse_arp, parse_args, summarize)

VIP = "198.18.40.100"
CLIENT = "198.18.40.13"
CLIENT_MAC = "02:00:00:00:00:0d"
MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"

# who-has 198.18.40.100 tell 198.18.40.13 from 02:00:00:00:00:0d, as arping sends it (60 bytes)
REQUEST_HEX = ("ffffffffffff" "02000000000d" "0806"
               "0001" "0800" "06" "04" "0001" "02000000000d" "c612280d" "000000000000" "c6122864"
               + "00" * 18)
# 198.18.40.100 is-at 02:00:00:00:00:0a, to the client
REPLY_HEX = ("02000000000d" "02000000000a" "0806"
             "0001" "0800" "06" "04" "0002" "02000000000a" "c6122864" "02000000000d" "c612280d")


def at(ms: float) -> Stamp:
    return Stamp(int(ms * 1_000_000), 1_000.0 + ms / 1000)


def T(ms: float) -> float:
    """The wall-clock time an event records for `at(ms)` (rounded to the microsecond)."""
    return at(ms).json()["t"]


def reply(mac: str) -> ArpPacket:
    return ArpPacket(ARP_REPLY, mac, VIP, CLIENT_MAC, CLIENT, CLIENT_MAC)


def recorder(interval_ms: float = 10, window_ms: float | None = None) -> Recorder:
    return Recorder(lambda event: None, int(interval_ms * 1e6), int((window_ms or interval_ms) * 1e6))


def kinds(rec: Recorder) -> list[str]:
    return [e["ev"] for e in rec.events]


# -- frames ------------------------------------------------------------------------------------

def test_request_is_byte_for_byte_what_arping_sends():
    frame = build_arp_request(bytes.fromhex("02000000000d"), CLIENT, VIP)
    assert frame.hex() == REQUEST_HEX


def test_reply_is_parsed():
    assert parse_arp(bytes.fromhex(REPLY_HEX)) == ArpPacket(ARP_REPLY, MAC_A, VIP, CLIENT_MAC, CLIENT, CLIENT_MAC)


@pytest.mark.parametrize("frame, why", [
    (REPLY_HEX[:-2], "truncated"),
    (REPLY_HEX[:24] + "0800" + REPLY_HEX[28:], "an IPv4 packet, not ARP"),
    (REPLY_HEX[:32] + "86dd" + REPLY_HEX[36:], "ARP for another protocol"),
    (REPLY_HEX[:40] + "0003" + REPLY_HEX[44:], "RARP request"),
    (REPLY_HEX[:36] + "08" + REPLY_HEX[38:], "hardware address length 8"),
])
def test_what_is_not_ethernet_ipv4_arp_is_refused(frame, why):
    assert parse_arp(bytes.fromhex(frame)) is None, why


@given(st.binary(min_size=6, max_size=6), st.ip_addresses(v=4), st.ip_addresses(v=4))
def test_a_request_parses_back_to_what_was_built(mac, src, dst):
    pkt = parse_arp(build_arp_request(mac, str(src), str(dst)))
    assert pkt == ArpPacket(ARP_REQUEST, mac.hex(":"), str(src), "00:00:00:00:00:00", str(dst), "ff:ff:ff:ff:ff:ff")


@given(st.binary(max_size=80))
def test_parsing_never_raises(frame):
    parse_arp(frame)


@pytest.mark.parametrize("op, sender, target, kind", [
    (ARP_REPLY, VIP, CLIENT, "reply"),
    (ARP_REQUEST, VIP, VIP, "gratuitous"),  # arping -U
    (ARP_REPLY, VIP, VIP, "gratuitous"),  # arping -A
    (ARP_REQUEST, VIP, CLIENT, "claim"),  # the holder asking for the client, from the VIP
    (ARP_REQUEST, "0.0.0.0", VIP, "probe"),  # arping -D
    (ARP_REQUEST, CLIENT, VIP, None),  # a client asking (us or the kernel)
    (ARP_REPLY, "198.18.40.11", CLIENT, None),  # about another address
])
def test_what_a_packet_says_about_the_vip(op, sender, target, kind):
    assert classify(ArpPacket(op, MAC_A, sender, CLIENT_MAC, target, CLIENT_MAC), VIP) == kind


# -- rounds ------------------------------------------------------------------------------------

def test_two_macs_answering_one_request_are_one_conflict_until_one_answers_alone():
    rec = recorder()
    for k in range(3):  # rounds 0, 1, 2: both answer
        rec.arp_sent(at(10 * k))
        rec.arp_packet(at(10 * k + 0.2), reply(MAC_A), "reply")
        rec.arp_packet(at(10 * k + 0.3), reply(MAC_B), "reply")
    rec.arp_sent(at(30))
    rec.arp_packet(at(30.2), reply(MAC_B), "reply")
    rec.arp_sent(at(40))
    assert kinds(rec) == ["conflict", "arp", "conflict_end", "arp"]
    conflict, _, end, owner = rec.events
    assert conflict["macs"] == [MAC_A, MAC_B] and conflict["round"]["mono_ms"] == 0
    assert end["rounds"] == 3 and end["last_round"]["mono_ms"] == 20
    assert owner["macs"] == [MAC_B] and owner["gone"] == {MAC_A: at(20.2).json()}
    assert rec.counts["conflict_rounds"] == 3


def test_a_holder_handing_over_between_two_requests_is_no_conflict():
    rec = recorder()
    rec.arp_sent(at(0))
    rec.arp_packet(at(9.9), reply(MAC_A), "reply")  # a, late in its round
    rec.arp_sent(at(10))
    rec.arp_packet(at(10.1), reply(MAC_B), "reply")  # b, 0.2 ms later but to the next request
    rec.arp_sent(at(20))
    assert kinds(rec) == ["arp", "arp"]
    assert [e["macs"] for e in rec.events] == [[MAC_A], [MAC_B]]
    assert rec.events[1]["new"] == {MAC_B: at(10.1).json()} and rec.events[1]["gone"] == {MAC_A: at(9.9).json()}


def test_a_narrow_window_ignores_a_second_mac_that_answers_late_in_the_round():
    for window, conflict in ((2, False), (10, True)):
        rec = recorder(10, window)
        rec.arp_sent(at(0))
        rec.arp_packet(at(0.2), reply(MAC_A), "reply")
        rec.arp_packet(at(5), reply(MAC_B), "reply")
        rec.arp_sent(at(10))
        assert ("conflict" in kinds(rec)) is conflict, window
        assert rec.events[-1]["macs"] == [MAC_A, MAC_B]  # both answered the round either way


def test_a_wide_window_spans_rounds_and_decides_them_only_when_it_is_over():
    rec = recorder(10, 25)
    rec.arp_sent(at(0))
    rec.arp_packet(at(0.2), reply(MAC_A), "reply")
    rec.arp_sent(at(10))
    rec.arp_packet(at(10.2), reply(MAC_B), "reply")  # within 25 ms of the first request
    rec.arp_sent(at(20))
    assert kinds(rec) == [] and rec.next_close_ns() == at(25).mono_ns
    rec.close_rounds(at(25))
    assert kinds(rec) == ["conflict", "arp"]


def test_gratuitous_arp_is_recorded_but_is_no_answer_to_a_request():
    rec = recorder()
    rec.arp_sent(at(0))
    rec.arp_packet(at(0.2), reply(MAC_A), "reply")
    rec.arp_packet(at(5), ArpPacket(ARP_REQUEST, MAC_B, VIP, "00:00:00:00:00:00", VIP, "ff:ff:ff:ff:ff:ff"),
                   "gratuitous")
    rec.arp_sent(at(10))
    assert kinds(rec) == ["garp", "arp"]
    assert rec.events[0]["mac"] == MAC_B and rec.events[0]["op"] == "request"
    assert rec.events[1]["macs"] == [MAC_A] and rec.counts["garps"] == 1


def test_finish_drops_the_round_just_begun_and_closes_a_running_conflict():
    rec = recorder()
    rec.arp_sent(at(0))
    rec.arp_packet(at(0.2), reply(MAC_A), "reply")
    rec.arp_packet(at(0.3), reply(MAC_B), "reply")
    rec.arp_sent(at(10))  # its replies are not in yet: not a silent round
    summary = rec.finish(at(10.5))
    assert kinds(rec) == ["conflict", "arp", "conflict_end", "end", "summary"]
    assert rec.counts["silent_rounds"] == 0 and rec.counts["rounds"] == 1
    assert summary.conflicts == [{"t": T(0), "end_t": T(0), "rounds": 1, "macs": [MAC_A, MAC_B]}]
    assert summary.arp_macs[MAC_A]["replies"] == 1 and summary.complete


# -- TCP ---------------------------------------------------------------------------------------

def test_tcp_transitions_and_a_stale_result():
    rec = recorder()
    rec.tcp_result(at(0), at(1), "a")
    rec.tcp_result(at(10), at(11), "a")
    rec.tcp_result(at(20), at(70), None, "timeout")
    rec.tcp_result(at(40), at(41), "b")
    rec.tcp_result(at(30), at(80), None, "timeout")  # started before the answer from b: stale
    rec.tcp_result(at(50), at(51), "c")  # another text without a failure in between
    assert [(e["ev"], e.get("answer"), e.get("prev")) for e in rec.events] == [
        ("tcp_up", "a", None), ("tcp_down", "a", None), ("tcp_up", "b", "a"), ("tcp_up", "c", "b")]
    assert rec.events[1]["last_ok"] == at(11).json() and rec.events[1]["error"] == "timeout"
    assert rec.events[2]["failed"] == 1
    assert rec.events[3]["prev_last"] == at(41).json()
    assert rec.counts["tcp_stale"] == 1 and rec.counts["tcp_failed"] == 2


@pytest.mark.parametrize("data, answer", [
    (b"node1\n", "node1"), (b"  b \r\nmore\n", "b"), (b"\n", None), (b"", None), (b"x" * 300, "x" * 200)])
def test_the_answer_is_the_first_line_trimmed(data, answer):
    assert _answer_line(bytearray(data)) == answer


# -- the summary -------------------------------------------------------------------------------

def ev(name: str, ms: float, **fields) -> dict:
    return {"ev": name, **at(ms).json(), **fields}


LOG = [
    ev("start", 0, vip=VIP),
    ev("tcp_up", 3, answer="a", prev=None, probe=at(1).json(), failed=0),
    ev("arp", 11, macs=[MAC_A], round=at(1).json(), new={MAC_A: at(1.2).json()}, gone={}),
    ev("tcp_down", 560, error="timeout", answer="a", last_ok=at(500).json(), probe=at(510).json()),
    ev("arp", 521, macs=[], round=at(511).json(), new={}, gone={MAC_A: at(501).json()}),
    ev("garp", 530, kind="gratuitous", op="request", mac=MAC_B, target_ip=VIP),
    ev("arp", 541, macs=[MAC_B], round=at(531).json(), new={MAC_B: at(531.2).json()}, gone={}),
    ev("tcp_up", 700, answer="b", prev="a", probe=at(699).json(), failed=19),
    ev("conflict", 811, round=at(801).json(), macs=[MAC_A, MAC_B]),
    ev("conflict_end", 861, round=at(801).json(), last_round=at(841).json(), rounds=5, macs=[MAC_A, MAC_B]),
    ev("tcp_down", 910, error="ECONNREFUSED", answer="b", last_ok=at(900).json(), probe=at(910).json()),
    ev("tcp_up", 1000, answer="b", prev="b", probe=at(999).json(), failed=9),
    ev("end", 1100, counts={"tcp_ok": 80}, replies={MAC_A: 60, MAC_B: 50},
       arp_last={MAC_B: at(1091).json()}, tcp={"state": "up", "answer": "b", "last_ok": at(1095).json()}),
]


def test_summary_of_an_event_list():
    s = summarize(LOG)
    assert s.complete and (s.started_t, s.ended_t) == (T(0), T(1100))
    assert s.outages == [[T(500), T(700), 200.0], [T(900), T(1000), 100.0]]
    assert s.ongoing_outage is None
    assert s.failovers == [{"t": T(700), "mono_ms": 700.0, "from": "a", "to": "b", "gap_ms": 200.0}]
    assert s.answers == {"a": {"first": T(3), "last": T(500)}, "b": {"first": T(700), "last": T(1095)}}
    assert s.conflicts == [{"t": T(801), "end_t": T(841), "rounds": 5, "macs": [MAC_A, MAC_B]}]
    assert s.conflict_count == 1
    assert s.arp_macs == {MAC_A: {"first": T(1.2), "last": T(501), "replies": 60, "gratuitous": 0},
                          MAC_B: {"first": T(530), "last": T(1091), "replies": 50, "gratuitous": 1}}
    assert s.arp_gaps == [[T(501), T(531.2), 30.2]]
    assert s.counts == {"tcp_ok": 80}
    assert Summary.from_dict(s.to_dict()) == s


def test_summary_of_a_log_cut_short_while_the_service_is_down():
    s = summarize(LOG[:4] + [ev("stats", 800, tcp_ok=50)])
    assert not s.complete and s.outages == [] and s.failovers == []
    assert s.ongoing_outage == [T(500), None, 300.0]
    assert s.ended_t == T(800) and s.answers == {"a": {"first": T(3), "last": T(500)}}


@given(st.lists(st.sampled_from(["a", "b", None]), max_size=60))
def test_outages_are_the_failure_runs_between_answers(history):
    rec = recorder()
    for k, answer in enumerate(history):
        rec.tcp_result(at(10 * k), at(10 * k + 1), answer, None if answer else "timeout")
    s = rec.finish(at(10 * len(history) + 5))
    answered = [k for k, answer in enumerate(history) if answer]
    runs = [k for k in range(1, len(history)) if history[k] is None and history[k - 1] is not None]
    closed = [k for k in runs if any(j > k for j in answered)]
    assert len(s.outages) == len(closed)
    for (start, end, ms), k in zip(s.outages, closed):
        back = next(j for j in answered if j > k)
        assert (start, end) == (T(10 * (k - 1) + 1), T(10 * back + 1))
        assert ms == pytest.approx(10 * (back - k + 1))
    assert (s.ongoing_outage is not None) == (bool(answered) and history[-1] is None)
    assert set(s.answers) == {a for a in history if a}
    texts = [a for a in history if a]
    assert [(f["from"], f["to"]) for f in s.failovers] == [(x, y) for x, y in zip(texts, texts[1:]) if x != y]


# -- the command line --------------------------------------------------------------------------

def test_arguments_default_the_conflict_window_to_the_interval_and_refuse_nonsense():
    config, out = parse_args(["--iface", "eth0", "--vip", VIP, "--port", "8080", "--arp-interval-ms", "20"])
    assert (out, config.window_ms, config.tcp_timeout_ms) == ("-", 20.0, 50.0)
    base = {"--iface": "eth0", "--vip": VIP, "--port": "8080"}
    for flag, value in (("--vip", "198.18.40.300"), ("--port", "0"), ("--tcp-interval-ms", "0"), ("--iface", "x" * 16)):
        argv = {**base, flag: value}
        with pytest.raises(SystemExit) as exit_info:
            parse_args([word for pair in argv.items() for word in pair])
        assert exit_info.value.code == 2, (flag, value)
    with pytest.raises(ValueError, match="--conflict-window-ms"):
        Config("eth0", VIP, 1, conflict_window_ms=0).check()
