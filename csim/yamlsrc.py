"""Line-aware YAML loading and validation for every data file of the project.

Card profiles, networks, operators, plans and scenarios all go through :func:`load`:
mappings and sequences keep the line of each key and item, a JSON Schema validates
the document, and any error names ``file:line: what is wrong``.

The loader is also the guard of what it accepts, so that no input hangs or exhausts memory:
only regular files of at most :data:`MAX_BYTES`, UTF-8 text (a bad byte is reported with its
line and column), at most :data:`MAX_NODES` nodes, counted before they are built and again with
the aliases expanded (YAML 1.1 §3.2.2.2 aliases, the "billion laughs"), no recursive alias, real
calendar dates, finite numbers and integers Python converts (at most 4300 digits), and a document
that is a mapping or a list.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from jsonschema import Draft202012Validator

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: the largest data file read (the largest fixture is about 12 kB)
MAX_BYTES = 1 << 20
#: the most nodes a document may have, its aliases expanded (about a second to build and check)
MAX_NODES = 100_000


class DataError(ValueError):
    """A data file is wrong; ``str()`` reads ``file:line: what is wrong``."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class LineDict(dict):
    """A mapping that remembers the source, its own line and the line of each key."""

    source: str = "<data>"
    line: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int | None:
        return self.lines.get(key, self.line)

    def error(self, key: Any, message: str) -> DataError:
        """A :class:`DataError` located at ``key`` (or at the mapping itself)."""
        return DataError(self.source, self.line_of(key), message)


class LineList(list):
    """A sequence that remembers the source, its own line and the line of each item."""

    source: str = "<data>"
    line: int | None = None

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def line_of(self, index: int) -> int | None:
        if 0 <= index < len(self.lines):
            return self.lines[index]
        return self.line

    def error(self, index: int, message: str) -> DataError:
        return DataError(self.source, self.line_of(index), message)


#: control characters a string may not hold (tab, line feed and carriage return are text)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _make_loader(source: str) -> type:
    class Loader(_BaseLoader):  # type: ignore[misc,valid-type]
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
        loader.flatten_mapping(node)
        out = LineDict()
        out.source = source
        out.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise DataError(source, key_node.start_mark.line + 1, "unhashable mapping key") from None
            if key in out:
                raise DataError(source, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = loader.construct_object(value_node, deep=True)
            out.lines[key] = key_node.start_mark.line + 1
        return out

    def construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
        out = LineList(loader.construct_object(child, deep=True) for child in node.value)
        out.source = source
        out.line = node.start_mark.line + 1
        out.lines = [child.start_mark.line + 1 for child in node.value]
        return out

    def construct_timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
        except ValueError as exc:
            raise DataError(source, node.start_mark.line + 1,
                            f"impossible date {node.value!r} ({exc})") from None

    def construct_float(loader: Any, node: yaml.ScalarNode) -> float:
        value = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
        if not math.isfinite(value):
            raise DataError(source, node.start_mark.line + 1, f"{node.value!r} is not a finite number")
        return value

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", construct_timestamp)
    def construct_int(loader: Any, node: yaml.ScalarNode) -> int:
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
        except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits())
            raise DataError(source, node.start_mark.line + 1,
                            f"a number of {len(node.value)} characters is too long") from None

    def construct_str(loader: Any, node: yaml.ScalarNode) -> str:
        value = yaml.constructor.SafeConstructor.construct_yaml_str(loader, node)
        bad = _CONTROL.search(value)
        if bad:  # the reader refuses them as characters; an escape (\0, \e, \x07) builds them
            raise DataError(source, node.start_mark.line + 1,
                            f"character #x{ord(bad.group()):04X} is not allowed in a string, escaped or not "
                            "(control characters are not text)")
        return value

    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:str", construct_str)
    return Loader


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [c for pair in node.value for c in pair]
    return node.value


def _check_size(root: yaml.Node, source: str) -> None:
    """Count the nodes of ``root`` with aliases expanded (each shared node once, its expanded
    size reused); refuse more than :data:`MAX_NODES` or an alias inside its own anchor."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > MAX_NODES:
                raise DataError(source, node.start_mark.line + 1,
                                f"too large once its aliases are expanded (more than {MAX_NODES} nodes)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise DataError(source, node.start_mark.line + 1, "an alias refers to a node that contains it")
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(_children(node)))


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _count_nodes(text: str, source: str) -> None:
    """Refuse a text of more than :data:`MAX_NODES` nodes before building any: a pass over the
    parser's events, several times faster than composing the nodes."""
    loader = _BaseLoader(text)
    try:
        count = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    raise DataError(source, event.start_mark.line + 1,
                                    f"too large (more than {MAX_NODES} nodes)")
    finally:
        loader.dispose()


def _document(loader: Any, source: str, anchors: bool) -> Any:
    """The single document of ``loader``: a mapping or a list, never empty, bounded in size
    (counted only when the text may hold ``anchors``: without them every node is in the text,
    which :data:`MAX_BYTES` bounds)."""
    node = loader.get_single_node()
    if node is None:
        raise DataError(source, 1, "empty document (expected a mapping)")
    if isinstance(node, yaml.ScalarNode):
        line = node.start_mark.line + 1
        if node.tag == "tag:yaml.org,2002:null":
            raise DataError(source, line, "empty document (expected a mapping)")
        raise DataError(source, line, "the document is a single value (expected a mapping)")
    if anchors:
        _check_size(node, source)
    return loader.construct_document(node)


def _line_column(text: str, position: int) -> tuple[int, int]:
    """The line and column (both from 1) of a character position in ``text``."""
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def parse(text: str, source: str = "<data>") -> Any:
    """Parse YAML text into :class:`LineDict`/:class:`LineList` trees (one document, a mapping
    or a list, bounded as the module says)."""
    loader = _make_loader(source)(text)
    try:
        if len(text) > MAX_NODES // 4:  # fewer characters cannot make that many nodes ("?," makes two)
            _count_nodes(text, source)
        return _document(loader, source, "&" in text)
    except DataError:
        raise
    except RecursionError:
        raise DataError(source, None, "nested too deeply") from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        char = f"#x{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise DataError(source, line, f"invalid YAML: column {column}: character {char} is not allowed "
                                      "(control characters are not text)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataError(source, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise DataError(source, None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def line_at(doc: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest node reachable along ``path`` (keys and indexes)."""
    node, line = doc, getattr(doc, "line", None)
    for step in path:
        if isinstance(node, LineDict) and step in node:
            line = node.line_of(step)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.line_of(step)
            node = node[step]
        else:
            break
    return line


#: a schema message longer than this quotes the value only in part
_MESSAGE_CHARS = 200


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    message = error.message
    if error.validator == "enum" and isinstance(error.instance, str):
        names = [str(v) for v in error.validator_value]
        close = difflib.get_close_matches(error.instance, names, n=1)
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {shown}"
        message = f"{error.instance!r} is not an allowed value: {hint}"
    if len(message) > _MESSAGE_CHARS:
        message = f"{message[:_MESSAGE_CHARS - 60]} ... {message[-50:]}"
    if error.validator == "additionalProperties":
        message = message.replace("Additional properties are not allowed", "unknown key(s)")
    return f"{where}: {message}" if where else message


def validate(doc: Any, schema: Mapping[str, Any], source: str = "<data>") -> None:
    """Validate ``doc`` against a JSON Schema; raise the first error as a :class:`DataError`.

    The reported error is the one located deepest in the document (the most precise),
    with ties broken by document order so the message is stable.
    """
    errors = list(validator(schema).iter_errors(doc))
    if not errors:
        return
    if schema.get("type") == "object" and isinstance(doc, LineList):
        raise DataError(source, doc.line, "the document is a list (expected a mapping)")
    best = _most_precise(errors)
    path = list(best.absolute_path)
    extra = _unexpected_keys(best)
    if extra:
        path.append(extra[0])
    raise DataError(source, line_at(doc, path), _describe(best))


_validators: dict[int, tuple[Mapping[str, Any], Draft202012Validator]] = {}


def validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """One compiled JSON Schema validator per schema object (schemas are loaded once and never
    mutated; building a validator is costly, using it is not)."""
    hit = _validators.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, Draft202012Validator(schema))
        _validators[id(schema)] = hit
    return hit[1]


def _unexpected_keys(error: Any) -> list[Any]:
    """For an ``additionalProperties`` error, the offending keys in document order."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [
        k for k in error.instance
        if k not in known and not any(re.search(p, str(k)) for p in patterns)
    ]


def _most_precise(errors: list[Any]) -> Any:
    def leaves(err: Any) -> list[Any]:
        if err.context:
            out: list[Any] = []
            for sub in err.context:
                out.extend(leaves(sub))
            return out
        return [err]

    candidates: list[Any] = []
    for err in errors:
        # oneOf/anyOf: the branch that got furthest explains the mistake best
        candidates.extend(leaves(err) if err.validator in ("oneOf", "anyOf") else [err])
    return max(candidates, key=lambda e: (len(e.absolute_path), -len(e.message)))


def open_regular(path: str | Path) -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file (a FIFO, a device or a
    directory is refused without reading it, so that nothing blocks or reads without end)."""
    source = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise DataError(source, None, "no such file") from None
    except IsADirectoryError:
        raise DataError(source, None, "a directory, not a file") from None
    except OSError as exc:
        raise DataError(source, None, f"cannot read: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise DataError(source, None, "a directory, not a file")
        raise DataError(source, None, "not a regular file (a FIFO, socket or device is not read)")
    return os.fdopen(fd, "rb")


def read_bytes(path: str | Path, limit: int = MAX_BYTES) -> bytes:
    """The content of a regular file (:func:`open_regular`) of at most ``limit`` bytes."""
    source = str(path)
    try:
        with open_regular(path) as f:
            data = f.read(limit + 1)
    except OSError as exc:  # a regular file the kernel will not read (/proc/self/mem: EIO)
        raise DataError(source, None, f"cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise DataError(source, None, f"too large (more than {limit} bytes)")
    return data


def read_text(path: str | Path) -> str:
    """The UTF-8 text of :func:`read_bytes` (a bad byte is reported with its line and column)."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(str(path), line, f"not UTF-8 text: byte 0x{data[exc.start]:02X} at column {column} "
                                      f"({exc.reason})") from None


def load(path: str | Path, schema: Mapping[str, Any] | None = None) -> Any:
    """Read (:func:`read_text`), parse and (optionally) validate a YAML data file."""
    source = str(path)
    doc = parse(read_text(path), source)
    if schema is not None:
        validate(doc, schema, source)
    return doc


def load_schema(path: str | Path) -> dict[str, Any]:
    """Load a JSON Schema shipped with the project."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
