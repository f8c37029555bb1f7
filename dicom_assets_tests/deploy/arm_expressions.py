"""A small evaluator for the ARM template expression language, for offline template tests.

There is no Azure CLI, Bicep or ARM what-if on this machine, so the tests evaluate the
template's own expressions (`[format('{0}-code', parameters('pipelineName'))]`, ...) for
given parameter values and check the results: resource names against Azure's naming
rules, environment variables against what the Dagster instance reads, and so on.
Only the functions the template uses are implemented; an unknown function fails loudly,
so a template change that needs a new one cannot pass silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any


class Opaque:
    """A value only Azure knows at deployment time (reference(), listKeys(), ...)."""

    def __init__(self, description: str) -> None:
        self.description = description

    def __getattr__(self, name: str) -> Opaque:
        return Opaque(f"{self.description}.{name}")

    def __str__(self) -> str:
        return f"<{self.description}>"


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][\w]*)|(?P<punct>[(),.\[\]]))"
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"cannot tokenize ARM expression at {text[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unique_string(*values: str) -> str:
    # Azure's uniqueString is a 13-character base-32 hash; any deterministic 13-character
    # lowercase alphanumeric string exercises the same naming rules.
    digest = hashlib.sha256("|".join(values).encode()).hexdigest()
    return "".join("abcdefghijklmnopqrstuvwxyz234567"[int(ch, 16) * 2 % 32] for ch in digest[:13])


class ArmEvaluator:
    """Evaluates expressions of one template for a set of parameter values."""

    def __init__(self, template: Mapping[str, Any], parameter_values: Mapping[str, Any]):
        self.template = template
        self.parameters: dict[str, Any] = {}
        self._variables_cache: dict[str, Any] = {}
        self.functions: dict[str, Callable[..., Any]] = {
            "parameters": lambda name: self.parameters[name],
            "variables": self._variable,
            "resourceGroup": lambda: {
                "id": "/subscriptions/sub/resourceGroups/rg",
                "location": "westeurope",
            },
            "environment": lambda: {"suffixes": {"storage": "core.windows.net"}},
            "format": lambda fmt, *args: re.sub(
                r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), fmt
            ),
            "toLower": lambda value: value.lower(),
            "take": lambda value, count: value[:count],
            "replace": lambda value, old, new: value.replace(old, new),
            "uniqueString": _unique_string,
            "concat": self._concat,
            "string": lambda value: value if isinstance(value, str) else json.dumps(value),
            "if": lambda condition, yes, no: yes if condition else no,
            "equals": lambda left, right: left == right,
            "empty": lambda value: len(value) == 0,
            "json": json.loads,
            "createArray": lambda *items: list(items),
            "createObject": lambda *pairs: dict(zip(pairs[::2], pairs[1::2], strict=True)),
            "guid": lambda *values: _unique_string(*map(str, values)),
            "resourceId": lambda rtype, *names: (
                f"/subscriptions/sub/resourceGroups/rg/providers/{rtype}/"
                f"{'/'.join(map(str, names))}"
            ),
            "subscriptionResourceId": lambda rtype, *names: (
                f"/subscriptions/sub/providers/{rtype}/{'/'.join(map(str, names))}"
            ),
            "reference": lambda resource_id, *rest: Opaque(f"reference({resource_id})"),
            "listKeys": lambda resource_id, *rest: Opaque(f"listKeys({resource_id})"),
        }
        for name, spec in template["parameters"].items():
            if name in parameter_values:
                self.parameters[name] = parameter_values[name]
            elif "defaultValue" in spec:
                self.parameters[name] = self.evaluate(spec["defaultValue"])
            else:
                raise KeyError(f"parameter {name} has no default and no value was given")

    def _variable(self, name: str) -> Any:
        if name not in self._variables_cache:
            self._variables_cache[name] = self.evaluate(self.template["variables"][name])
        return self._variables_cache[name]

    @staticmethod
    def _concat(*values: Any) -> Any:
        if all(isinstance(v, list) for v in values):
            return [item for v in values for item in v]
        return "".join(str(v) for v in values)

    def evaluate(self, value: Any) -> Any:
        """Evaluates a template value: strings in [brackets] are expressions, recursively."""
        if isinstance(value, dict):
            return {k: self.evaluate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.evaluate(v) for v in value]
        if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
            if value.startswith("[["):  # escaped literal bracket
                return value[1:]
            tokens = _tokenize(value[1:-1])
            result, position = self._expression(tokens, 0)
            if position != len(tokens):
                raise ValueError(f"trailing tokens in {value!r}")
            return result
        return value

    def _expression(self, tokens: list[tuple[str, str]], position: int) -> tuple[Any, int]:
        kind, text = tokens[position]
        if kind == "string":
            result, position = text[1:-1].replace("''", "'"), position + 1
        elif kind == "number":
            result, position = int(text), position + 1
        elif kind == "name" and text in ("true", "false"):
            result, position = text == "true", position + 1
        elif kind == "name":
            result, position = self._call(text, tokens, position + 1)
        else:
            raise ValueError(f"unexpected token {text!r}")
        return self._accessors(result, tokens, position)

    def _call(self, name: str, tokens: list[tuple[str, str]], position: int) -> tuple[Any, int]:
        """``name(args…)`` with ``position`` at the opening parenthesis."""
        if name not in self.functions:
            raise NotImplementedError(f"ARM function {name}() is not known to the test evaluator")
        if tokens[position] != ("punct", "("):
            raise ValueError(f"expected ( after {name}")
        position += 1
        args: list[Any] = []
        while tokens[position] != ("punct", ")"):
            arg, position = self._expression(tokens, position)
            args.append(arg)
            if tokens[position] == ("punct", ","):
                position += 1
        return self.functions[name](*args), position + 1

    def _accessors(
        self, result: Any, tokens: list[tuple[str, str]], position: int
    ) -> tuple[Any, int]:
        """Property access and indexing, which bind to the value just read."""
        while position < len(tokens) and tokens[position] in (("punct", "."), ("punct", "[")):
            if tokens[position] == ("punct", "."):
                prop = tokens[position + 1][1]
                result = result[prop] if isinstance(result, dict) else getattr(result, prop)
                position += 2
            else:
                index, position = self._expression(tokens, position + 1)
                result, position = result[index], position + 1
        return result, position
