"""Line-aware YAML loading and validation for every data file of the project.

Card profiles, networks, operators, plans and scenarios all go through :func:`load`:
mappings and sequences keep the line of each key and item, a JSON Schema validates
the document, and any error names ``file:line: what is wrong``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def parse(text: str, source: str = "<data>") -> Any:
    """Parse YAML text into :class:`LineDict`/:class:`LineList` trees."""
    try:
        return yaml.load(text, Loader=_make_loader(source))  # noqa: S506 - safe loader subclass
    except DataError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataError(source, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise DataError(source, None, f"invalid YAML: {exc}") from None


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


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    message = error.message
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


def load(path: str | Path, schema: Mapping[str, Any] | None = None) -> Any:
    """Read, parse and (optionally) validate a YAML data file."""
    p = Path(path)
    source = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(source, None, "no such file") from None
    except UnicodeDecodeError as exc:
        raise DataError(source, None, f"not UTF-8 text: {exc.reason}") from None
    doc = parse(text, source)
    if schema is not None:
        validate(doc, schema, source)
    return doc


def load_schema(path: str | Path) -> dict[str, Any]:
    """Load a JSON Schema shipped with the project."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
