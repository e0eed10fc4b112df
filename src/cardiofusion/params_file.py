"""Reading params.yaml and `--set` values within bounds, so that no file can hang the machine.

A params file is a user's file like any other: it may be a FIFO, /dev/zero, 50 MB of comments,
UTF-16, a YAML alias bomb whose expansion has billions of nodes, a document nested 100,000 deep or
an integer of 100,000 digits. Each is refused here in time and memory proportional to what was
read, with one line that names the file (and, where YAML gives one, the line) and the fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from cardiofusion.errors import ConfigError
from cardiofusion.files import file_kind
from cardiofusion.quoting import shown

MAX_BYTES = 1 << 20  # a params file is a few KB; a megabyte is not one
MAX_NODES = 100_000  # values in the document as expanded (aliases count each time they are used)
MAX_DEPTH = 32  # sections nest 3 deep
MAX_MESSAGE = 300  # characters of a YAML error kept in ours


def read_params_file(path: Path) -> Any:
    """The YAML document in `path`, after checking that it is a regular UTF-8 file of bounded
    size (opening a FIFO would block forever, /dev/zero would never end)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such params file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: {file_kind(info.st_mode)}, not a params file; pass the path "
                          "of a YAML file such as params.yaml")
    if info.st_size > MAX_BYTES:
        raise ConfigError(f"{path}: {info.st_size / 2**20:.1f} MB, over the {MAX_BYTES >> 20} MB "
                          "a params file may have; is this the right file?")
    with open(path, "rb") as file:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: grew past {MAX_BYTES >> 20} MB while being read")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (undecodable byte at offset {exc.start}); "
                          "save it as UTF-8") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> Any:
    """One YAML document, bounded in expanded size and depth, without duplicate keys."""
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {_cut(str(exc))}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested deeper than YAML can be read; params nest a few "
                          "levels (section.key)") from None
    if node is None:
        return None
    _check_size(node, source)
    try:
        return _StrictLoader(text).construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {_cut(str(exc))}") from None
    except ValueError as exc:  # Python refuses integers over 4,300 digits
        reason = "an integer of thousands of digits" if "digits" in str(exc) else _cut(str(exc))
        raise ConfigError(f"{source}: a value cannot be read ({reason}); no parameter needs "
                          "one") from None


def parse_override_value(value: str, override: str) -> Any:
    """The value of a `--set key=value` as YAML: one line, bounded like a file."""
    if "\n" in value or "\r" in value:
        raise ConfigError(f"--set {shown(override)}: the value spans several lines; pass one "
                          "key=value per --set (or per line of CARDIOFUSION_SET)")
    return parse_yaml(value, f"--set {shown(override)}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (YAML says last one wins,
    which silently drops a setting)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`, overridable
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"line {line}: a key must be a name, not {type(key).__name__}")
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"line {line}: key {shown(key)} is already set on line "
                                f"{seen[key]}; keep one of them")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_size(root: yaml.Node, source: str) -> None:
    """Refuse a document whose expansion exceeds MAX_NODES or MAX_DEPTH, counted on the node
    graph (shared nodes once each, with their multiplicity), so a bomb costs its own size."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        if done:
            on_path.discard(id(node))
            sizes[id(node)] = min(MAX_NODES + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            continue
        if id(node) in sizes:
            continue
        if id(node) in on_path:
            raise ConfigError(f"{source}: an alias refers to itself (a recursive YAML value); "
                              "write the value out")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source}: nested more than {MAX_DEPTH} levels deep (line "
                              f"{node.start_mark.line + 1}); params nest a few levels")
        on_path.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node)
                     if id(child) not in sizes)
    if sizes[id(root)] > MAX_NODES:
        raise ConfigError(f"{source}: expands to more than {MAX_NODES:,} values (YAML aliases "
                          "repeated inside each other?); write the values out")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else f"{text[:MAX_MESSAGE - 3]}..."
