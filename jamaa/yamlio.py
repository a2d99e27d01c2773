"""Reading data files strictly and safely.

Every data file under `environments/` (and the control catalogue) is read through `read_data_file`:
only a regular file is opened (a FIFO, socket or device is refused from its `stat`, so nothing hangs),
it has a size limit, and it must be UTF-8. YAML is then parsed by a SafeLoader that refuses duplicate
and complex (list or mapping) keys, nesting deeper than `MAX_DEPTH` levels and more than `MAX_ALIASES`
aliases (so "billion laughs" documents are refused before anything is expanded). Every refusal is one
`FILE: line N: reason` line that never quotes the offending value.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from jamaa.errors import ConfigError

# Limits of the data files: far above what the real files need (national.yaml is ~3 KB, the commune
# catalogue ~130 KB), far below what could hurt the controller.
MAX_YAML_BYTES = 1 << 20  # 1 MiB
MAX_CSV_BYTES = 4 << 20  # 4 MiB
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000


def read_data_file(path: Path, limit: int) -> str:
    """The text of one regular UTF-8 file of at most `limit` bytes, else ConfigError (one line)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError([f"{path}: not a regular file ({_kind(info.st_mode)}); refused without opening it"])
    if info.st_size > limit:
        raise ConfigError([f"{path}: file is {info.st_size} bytes, over the limit of {limit} bytes"])
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the stat, opening it cannot hang
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise ConfigError([f"{path}: not a regular file ({_kind(opened.st_mode)})"])
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ConfigError([f"{path}: file is over the limit of {limit} bytes"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            [f"{path}: line {line}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"]
        ) from None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a file"


class _Refused(yaml.MarkedYAMLError):
    """A document the loader refuses (too deep, too many aliases, complex keys)."""


# libyaml scans and parses (six times faster than pure Python); composing stays in Python, so the
# limits below apply before any node is built, then SafeConstructor builds plain data.
class _PythonParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# PyYAML without libyaml falls back to the pure-Python reader, scanner and parser.
_Parser: Any = getattr(yaml.cyaml, "CParser", None) if yaml.__with_libyaml__ else None
_Parser = _Parser or _PythonParser


class _StrictLoader(
    _Parser,  # type: ignore[misc]
    yaml.composer.Composer,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """A safe loader with limits: no duplicate or complex keys, bounded depth, aliases and expanded size."""

    get_single_node = yaml.composer.Composer.get_single_node
    compose_document = yaml.composer.Composer.compose_document

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        mark = self.peek_event().start_mark
        alias = self.check_event(yaml.AliasEvent)
        if alias:
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(
                    None, None, f"more than {MAX_ALIASES} aliases (refused before expansion)", mark
                )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            node = yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        if alias:
            if id(node) not in self._sizes:  # the anchor is still being composed
                raise _Refused(None, None, "an alias refers to its own anchor (recursive data)", mark)
        else:
            self._sizes[id(node)] = self._size(node, mark)
        return node

    def _size(self, node: yaml.Node, mark: Any) -> int:
        if isinstance(node, yaml.ScalarNode):
            return 1
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
        total = 1
        for child in children:
            total += self._sizes[id(child)]
        if total > MAX_EXPANDED_NODES:
            raise _Refused(
                None,
                None,
                f"aliases expand to more than {MAX_EXPANDED_NODES} values (refused before expansion)",
                mark,
            )
        return total


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Refused(
                None, None, "a key must be a plain value, not a list or a mapping", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise _Refused(None, None, f"duplicate key {_short(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML text read from `path`; a problem becomes `FILE: line N: malformed YAML: reason`."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"line {mark.line + 1}" if mark is not None else "somewhere"
        reason = error.problem or error.context or "invalid YAML"
        if "nesting depth" in reason:  # libyaml's own limit (1,000 levels) met before ours
            reason = f"nested deeper than {MAX_DEPTH} levels"
        raise ConfigError([f"{path}: {line}: malformed YAML: {reason}"]) from None
    except yaml.reader.ReaderError as error:
        number = text[: error.position].count("\n") + 1
        char: object = error.character
        code = ord(char) if isinstance(char, str) else int(str(char))
        raise ConfigError(
            [f"{path}: line {number}: malformed YAML: control character U+{code:04X} is not allowed"]
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: malformed YAML: {str(error).splitlines()[0]}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: malformed YAML: nested too deeply"]) from None


def load_yaml(path: Path, limit: int = MAX_YAML_BYTES) -> Any:
    """Read and parse one YAML data file (see the module's docstring for what is refused)."""
    return parse_yaml(read_data_file(path, limit), path)
