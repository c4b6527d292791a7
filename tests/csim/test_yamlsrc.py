"""The one YAML loader: line numbers on every error."""

import pytest

from csim.yamlsrc import DataError, LineDict, LineList, line_at, load, parse, validate

SCHEMA = {
    "type": "object",
    "required": ["name", "steps"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "steps": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "object", "required": ["move"], "additionalProperties": False,
                     "properties": {"move": {"type": "object", "properties": {"country": {"type": "string"}},
                                             "additionalProperties": False}}},
                    {"type": "object", "required": ["wait"], "additionalProperties": False,
                     "properties": {"wait": {"type": "integer", "minimum": 0}}},
                ]
            },
        },
    },
}

DOC = """\
name: demo
steps:
  - move: {country: FR}
  - wait: 5
  - move:
      country: BE
"""


def test_lines_are_kept_for_keys_and_items():
    doc = parse(DOC, "demo.yaml")
    assert isinstance(doc, LineDict) and isinstance(doc["steps"], LineList)
    assert doc.line_of("name") == 1
    assert doc["steps"].line_of(0) == 3
    assert doc["steps"].line_of(2) == 5
    assert doc["steps"][2]["move"].line_of("country") == 6
    assert line_at(doc, ["steps", 2, "move", "country"]) == 6
    assert doc.source == "demo.yaml"


def test_valid_document_passes():
    validate(parse(DOC, "demo.yaml"), SCHEMA, "demo.yaml")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (DOC.replace("wait: 5", "wait: -1"), 4, "steps/1/wait"),
        (DOC.replace("country: BE", "countri: BE"), 6, "unknown key"),
        (DOC.replace("name: demo\n", ""), 1, "'name' is a required property"),
        (DOC + "extra: 1\n", 7, "unknown key"),
    ],
)
def test_schema_errors_name_file_and_line(text, line, fragment):
    with pytest.raises(DataError) as info:
        validate(parse(text, "s.yaml"), SCHEMA, "s.yaml")
    assert info.value.line == line
    assert str(info.value).startswith(f"s.yaml:{line}: ")
    assert fragment in str(info.value)


def test_yaml_syntax_error_has_line():
    with pytest.raises(DataError) as info:
        parse("name: demo\nsteps:\n  - move: {country: FR\n  - wait: 1\n", "bad.yaml")
    assert info.value.line == 4
    assert "invalid YAML" in str(info.value)


def test_duplicate_key_is_an_error():
    with pytest.raises(DataError) as info:
        parse("a: 1\nb: 2\na: 3\n", "dup.yaml")
    assert str(info.value) == "dup.yaml:3: duplicate key 'a'"


def test_error_helpers_point_at_keys_and_items():
    doc = parse(DOC, "demo.yaml")
    assert str(doc.error("name", "bad name")) == "demo.yaml:1: bad name"
    assert str(doc["steps"].error(1, "bad step")) == "demo.yaml:4: bad step"


def test_load_reads_files_and_reports_missing(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text(DOC, encoding="utf-8")
    assert load(p, SCHEMA)["name"] == "demo"
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load(bad)
