"""PIN values and AUTHENTICATE keys never appear in what a run writes (TS 102 221 §11.1.9,
TS 31.102 §7.1.2.1): failure text, JUnit XML, HTML report, event export."""

import json

from harness.cli.main import main

PIN_FAIL = """\
name: A PIN presented by hand, then an expectation that fails
card: alphalink-orange
world: europe
steps:
  - power_on: {country: FR}
  - apdu: {command: "0020000108 30303030FFFFFFFF", sw: "9000"}
  - apdu: {command: "0020000108 30303030FFFFFFFF", sw: "6A82"}
"""


def test_a_failing_run_masks_the_pin_and_the_keys_in_every_output(tmp_path, capsys):
    scenario = tmp_path / "pin_fail.yaml"
    scenario.write_text(PIN_FAIL)
    outputs = {name: tmp_path / name for name in ("junit.xml", "report.html", "events.jsonl")}
    assert main(["run", "-q", str(scenario), "--junitxml", str(outputs["junit.xml"]),
                 "--report", str(outputs["report.html"]), "--events", str(outputs["events.jsonl"])]) == 1
    texts = {name: path.read_text() for name, path in outputs.items()}
    texts["stdout"] = capsys.readouterr().out
    for name, text in texts.items():
        assert "30303030FFFFFFFF" not in text.replace(" ", ""), name
        assert "0020000108****************" in text, name
    assert "pin_fail.yaml:7: step 3" in texts["junit.xml"]
    events = [json.loads(line) for line in texts["events.jsonl"].splitlines()]
    auth = [e for e in events if e["kind"] == "apdu" and e["data"]["command"][2:4] == "88"]
    assert auth, "the registration authenticates"
    # RES stays (the network compares it), CK and IK are masked: DB 08 RES 10 CK 10 IK 08 Kc
    response = auth[0]["data"]["response"]
    assert response.startswith("DB08") and response[4:20] != "*" * 16
    assert response[22:54] == "*" * 32 and response.endswith("9000")
