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
