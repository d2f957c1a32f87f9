"""JSON with the line of every value, so that a person editing a file is told where a problem is.

``parse_with_lines`` reads a JSON document (strictly: duplicate keys and NaN are refused) and returns
the value and a map from each value's path — ``contests[2].options[0].id``, the spelling the manifest's
errors use — to the line where that value starts. ``line_of`` finds the line of the longest known
prefix of any path, so an error about a value that is missing still points at its parent.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, missing from typeshed
from typing import Any

from sivei.errors import SiveiError
from sivei.i18n import tr

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")


class JsonLinesError(SiveiError):
    """Not valid JSON; the message names the line and column."""


def _reject_constant(name: str) -> Any:
    raise ValueError(tr(f"{name} no es JSON válido", f"{name} is not valid JSON"))


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines: dict[str, int] = {}

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos)

    def ws(self, pos: int) -> int:
        m = _WS.match(self.text, pos)
        return m.end() if m else pos

    def value(self, pos: int, path: str) -> int:
        pos = self.ws(pos)
        self.lines.setdefault(path or "$", self.line(pos))
        ch = self.text[pos]
        if ch == "{":
            pos = self.ws(pos + 1)
            if self.text[pos] == "}":
                return pos + 1
            seen: set[str] = set()
            while True:
                key_at = self.ws(pos)
                key, pos = scanstring(self.text, key_at + 1)
                if key in seen:
                    shown, line = json.dumps(key, ensure_ascii=False), self.line(key_at)
                    raise JsonLinesError(tr(f"línea {line}: clave repetida {shown}",
                                            f"line {line}: duplicate key {shown}"))
                seen.add(key)
                pos = self.ws(pos) + 1  # the colon
                pos = self.value(pos, f"{path}.{key}" if path else key)
                pos = self.ws(pos)
                if self.text[pos] == "}":
                    return pos + 1
                pos += 1  # the comma
        if ch == "[":
            pos = self.ws(pos + 1)
            if self.text[pos] == "]":
                return pos + 1
            index = 0
            while True:
                pos = self.ws(self.value(pos, f"{path}[{index}]"))
                index += 1
                if self.text[pos] == "]":
                    return pos + 1
                pos += 1
        if ch == '"':
            end: int = scanstring(self.text, pos + 1)[1]
            return end
        for literal in ("true", "false", "null"):
            if self.text.startswith(literal, pos):
                return pos + len(literal)
        m = _NUMBER.match(self.text, pos)
        assert m is not None  # the document was parsed by json.loads first
        return m.end()


def parse_with_lines(text: str, source: str) -> tuple[Any, dict[str, int]]:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JsonLinesError(tr(f"{source}, línea {exc.lineno}, columna {exc.colno}: JSON no válido ({exc.msg})",
                                f"{source}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})")) from None
    except ValueError as exc:
        raise JsonLinesError(f"{source}: {exc}") from None
    except RecursionError:
        raise JsonLinesError(tr(f"{source}: JSON anidado demasiado profundo",
                                f"{source}: JSON nested too deeply")) from None
    scanner = _Scanner(text)
    try:
        scanner.value(0, "")
    except JsonLinesError as exc:
        raise JsonLinesError(f"{source}, {exc}") from None
    return value, scanner.lines


def line_of(lines: dict[str, int], path: str) -> int:
    """The line of ``path``, or of its longest known prefix (1 when nothing matches)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("$", 1)
