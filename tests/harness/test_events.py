from harness.events import EventLog


def test_events_are_ordered_timed_and_filterable():
    log = EventLog()
    log.record("registration", plmn="208-01")
    log.time = 30.0
    mark = log.mark()
    log.record("apdu", command=b"\x00\xa4", response=b"\x90\x00")
    log.record("refresh", mode="naa_init_full_fcn")
    assert [e.seq for e in log] == [0, 1, 2]
    assert log[0].time == 0.0 and log[2].time == 30.0
    assert [e.kind for e in log.of_kind("refresh", "registration")] == ["registration", "refresh"]
    assert [e.kind for e in log.of_kind("registration", since=mark)] == []
    assert log.tail(1)[0]["mode"] == "naa_init_full_fcn"
    assert "command=00A4" in repr(log[1])


def test_log_indexing_from_the_end_and_custom_records():
    log = EventLog()
    for n in range(5):
        log.record("tick" if n % 2 else "tock", n=n)
    log.record_apdu(b"\x00\xb0\x00\x00\x01", b"\x0a\x90\x00")
    assert len(log) == 6 and log.mark() == 6
    assert log[-1].kind == "apdu" and log[-1]["response"] == b"\x0a\x90\x00"
    assert [e["n"] for e in log.tail(2, kinds=("tock",))] == [2, 4]
    assert [e["n"] for e in log.of_kind("tick", since=-3)] == [3]
    assert log[1:3][0].seq == 1
    log._events.clear()
    assert log.record("again").seq == 0
