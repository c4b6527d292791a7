"""The one YAML loader: line numbers on every error."""

import os

import pytest

from csim.yamlsrc import MAX_BYTES, DataError, LineDict, LineList, line_at, load, parse, validate

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


# --------------------------------------------------------------------------- the guard

BOMB = "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(("text", "expected"), [
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + BOMB,
     "bomb.yaml:6: too large once its aliases are expanded (more than 100000 nodes)"),
    ("a: &a [1, *a]\n", "bomb.yaml:1: an alias refers to a node that contains it"),
    ("name: x\nstart: 2022-02-30\n",
     "bomb.yaml:2: impossible date '2022-02-30' (day is out of range for month)"),
    ("wait: .inf\n", "bomb.yaml:1: '.inf' is not a finite number"),
    ("wait: -.Inf\n", "bomb.yaml:1: '-.Inf' is not a finite number"),
    ("wait: .nan\n", "bomb.yaml:1: '.nan' is not a finite number"),
    ("", "bomb.yaml:1: empty document (expected a mapping)"),
    ("# nothing\n~\n", "bomb.yaml:2: empty document (expected a mapping)"),
    ("\n\n" + "x" * 4000 + "\n", "bomb.yaml:3: the document is a single value (expected a mapping)"),
    ("a: 1\nb: x\x00y\n",
     "bomb.yaml:2: invalid YAML: column 5: character #x0000 is not allowed "
     "(control characters are not text)"),
    ('a: 1\nb: "red \\e[31m"\n', "bomb.yaml:2: character #x001B is not allowed in a string, escaped or not "
                                "(control characters are not text)"),
    ('a: ["ok\\tok", "x\\0y"]\n', "bomb.yaml:1: character #x0000 is not allowed in a string, escaped or not "
                                  "(control characters are not text)"),
    ("a: 1\nn: " + "9" * 5000 + "\n", "bomb.yaml:2: a number of 5000 characters is too long"),
    ("a:\n  - [" + "1," * 100_000 + "1]\n", "bomb.yaml:2: too large (more than 100000 nodes)"),
    ("a: {" + "?," * 50_001 + "?}\n", "bomb.yaml:1: too large (more than 100000 nodes)"),
])
def test_parse_refuses_with_a_line(text, expected):
    with pytest.raises(DataError) as info:
        parse(text, "bomb.yaml")
    assert str(info.value) == expected


def test_a_regular_file_the_kernel_will_not_read_is_refused():
    with pytest.raises(DataError) as info:
        load("/proc/self/mem")
    assert str(info.value) == "/proc/self/mem: cannot read: Input/output error"


def test_a_document_just_within_the_node_bound_loads():
    doc = parse("a: [" + "1," * 99_990 + "1]\n", "big.yaml")
    assert len(doc["a"]) == 99_991 and doc.line_of("a") == 1


def test_shared_anchors_within_the_bound_still_load():
    doc = parse("a: &a {x: 1}\nb: [*a, *a]\nday: 2024-02-29\n", "ok.yaml")
    assert doc["b"] == [{"x": 1}, {"x": 1}]
    assert str(doc["day"]) == "2024-02-29"


def test_load_reads_only_regular_files(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(DataError) as info:
        load(fifo)  # would block forever if opened for a plain read
    assert str(info.value) == f"{fifo}: not a regular file (a FIFO, socket or device is not read)"
    with pytest.raises(DataError, match="not a regular file"):
        load("/dev/zero")
    with pytest.raises(DataError, match="a directory, not a file"):
        load(tmp_path)


def test_load_bounds_the_file_size(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(DataError, match=r"big.yaml: too large \(more than 1048576 bytes\)"):
        load(big)


def test_load_names_the_line_and_column_of_a_bad_byte(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: x\nnote: caf\xe9\n")
    with pytest.raises(DataError) as info:
        load(bad)
    assert str(info.value) == f"{bad}:2: not UTF-8 text: byte 0xE9 at column 10 (invalid continuation byte)"


def test_a_long_value_is_quoted_only_in_part():
    schema = {"type": "object", "properties": {"config": {"type": "object"}}}
    with pytest.raises(DataError) as info:
        validate(parse("config: " + "y" * 4000 + "\n", "s.yaml"), schema, "s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml:1: config: 'yyyy")
    assert message.endswith("yyyy' is not of type 'object'")
    assert len(message) < 230


def test_a_list_where_a_mapping_is_expected_is_named_not_quoted():
    with pytest.raises(DataError) as info:
        validate(parse("# steps\n- " + "y" * 4000 + "\n", "s.yaml"), {"type": "object"}, "s.yaml")
    assert str(info.value) == "s.yaml:2: the document is a list (expected a mapping)"
