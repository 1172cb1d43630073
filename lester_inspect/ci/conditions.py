"""Model conditions with statistical guarantees, after ease.ml/ci.

A condition is a conjunction of clauses such as ``n - o > 0.02 +/- 0.01 /\\ d < 0.1 +/- 0.01``
over three variables, each a mean over the test examples:

* ``n``: the new model's accuracy,
* ``o``: the accuracy of the previously captured model (on the same test examples),
* ``d``: the fraction of test predictions that changed between the two.

A clause ``e > c +/- eps`` is evaluated with interval semantics: true when the estimate of
``e`` minus ``eps`` is still above ``c``, false when the estimate plus ``eps`` is not, and
unknown in between; the mode decides unknown (``fp-free``: fail, so a passing verdict is
never wrong; ``fn-free``: pass, so a failing verdict is never wrong).

How many test examples that takes (Hoeffding)
---------------------------------------------
The mode makes every guarantee one-sided. In fp-free mode a wrong verdict is a pass of a
clause that is false, which needs ``estimate - truth > eps``; in fn-free mode it is a fail
of a clause that is true, which needs ``truth - estimate > eps``. A clause's expression
``sum(a_i * v_i)`` is itself the mean over the test examples of ``sum(a_i * x_i)``, where
``x_i`` in [0, 1] is the example's contribution to ``v_i`` (correct or not, changed or not),
so it lies in a range of width ``R = sum(|a_i|)``. Hoeffding's one-sided bound
``P(estimate - truth > eps) <= exp(-2 m eps^2 / R^2)`` then asks for

    m >= R^2 * ln(1 / delta') / (2 * eps^2)

examples, which is the same as splitting ``eps`` evenly over the terms (``eps / k`` each
for ``k`` variables with coefficient 1). ``delta'`` is the failure probability
``1 - reliability`` split by a union bound over the clauses and over the test set's uses:

* ``adaptivity = "none"``: the ``steps`` models are fixed in advance: ``delta / steps``;
* ``"full"``: each model may depend on every earlier verdict, so there are up to
  ``2^steps`` possible histories: ``delta / 2^steps``;
* ``"first-change"``: the test set retires the first time the verdict changes. Until then
  every verdict was the same, so the models could not depend on the test set, and the
  non-adaptive bound ``delta / steps`` holds.

For ``n > 0.8 +/- 0.01`` with reliability 0.9999 and one step: ``ln(1 / 0.0001) / (2 *
0.01^2) = 9.2103 / 0.0002`` = 46,052 examples.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Dict, List, Mapping, Optional, Tuple

VARIABLES = {
    "n": "the new model's accuracy on the test examples",
    "o": "the captured (previous) model's accuracy on the same test examples",
    "d": "the fraction of test predictions that changed since the captured model",
}
ADAPTIVITIES = ("none", "full", "first-change")
MODES = ("fp-free", "fn-free")
COMPARISONS = (">=", "<=", ">", "<")


class ConditionError(ValueError):
    """A condition that cannot be parsed or has invalid settings; the message says where."""


@dataclasses.dataclass(frozen=True)
class Clause:
    """``sum(coefficient * variable) <comparison> threshold +/- tolerance``."""

    coefficients: Tuple[Tuple[str, float], ...]
    comparison: str
    threshold: float
    tolerance: float
    text: str

    @property
    def variables(self) -> Tuple[str, ...]:
        return tuple(name for name, _ in self.coefficients)

    @property
    def value_range(self) -> float:
        """Width of the range of one test example's contribution to the expression."""
        return sum(abs(coefficient) for _, coefficient in self.coefficients)

    def estimate(self, values: Mapping[str, float]) -> float:
        return sum(coefficient * values[name] for name, coefficient in self.coefficients)

    def evaluate(self, values: Mapping[str, float]) -> Optional[bool]:
        """True, False, or None for unknown: the estimate is within the tolerance of the threshold."""
        low, high = self.estimate(values) - self.tolerance, self.estimate(values) + self.tolerance
        c = self.threshold
        if self.comparison == ">":
            return True if low > c else False if high <= c else None
        if self.comparison == ">=":
            return True if low >= c else False if high < c else None
        if self.comparison == "<":
            return True if high < c else False if low >= c else None
        return True if high <= c else False if low > c else None


@dataclasses.dataclass(frozen=True)
class Condition:
    """A conjunction of clauses with the guarantee it is tested under."""

    text: str
    clauses: Tuple[Clause, ...]
    reliability: float = 0.999
    adaptivity: str = "full"
    steps: int = 32
    mode: str = "fp-free"

    def __post_init__(self):
        if not isinstance(self.reliability, (int, float)) or isinstance(self.reliability, bool) or not (
                0 < self.reliability < 1):
            raise ConditionError(f"reliability must be a number strictly between 0 and 1, got {self.reliability!r}")
        if self.adaptivity not in ADAPTIVITIES:
            raise ConditionError(f"adaptivity must be one of {', '.join(map(repr, ADAPTIVITIES))}, "
                                 f"got {self.adaptivity!r}")
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise ConditionError(f"steps must be a whole number of at least 1, got {self.steps!r}")
        if self.mode not in MODES:
            raise ConditionError(f"mode must be one of {', '.join(map(repr, MODES))}, got {self.mode!r}")

    @classmethod
    def parse(cls, text: str, **settings) -> "Condition":
        """``Condition.parse("n - o > 0.02 +/- 0.01", reliability=0.9999, adaptivity="none", steps=32)``."""
        return cls(text.strip(), tuple(_parse_clauses(text)), **settings)

    @property
    def variables(self) -> Tuple[str, ...]:
        """The variables the condition uses, in the order n, o, d."""
        used = {name for clause in self.clauses for name in clause.variables}
        return tuple(name for name in VARIABLES if name in used)

    def log_inverse_failure_probability(self) -> float:
        """``ln(1 / delta')``: the failure probability each clause may have, computed in logs.

        Logs, because ``delta / 2^steps`` underflows for a few hundred steps.
        """
        log_uses = self.steps * math.log(2) if self.adaptivity == "full" else math.log(self.steps)
        return math.log(len(self.clauses)) + log_uses - math.log(1 - self.reliability)

    def required_examples(self) -> List[int]:
        """Per clause, how many test examples Hoeffding's bound asks for (see the module docstring)."""
        log_term = self.log_inverse_failure_probability()
        return [math.ceil(clause.value_range ** 2 * log_term / (2 * clause.tolerance ** 2))
                for clause in self.clauses]

    def evaluate(self, values: Mapping[str, float]) -> Optional[bool]:
        """Three-valued conjunction: False if a clause is false, True if all are true, else None."""
        verdicts = [clause.evaluate(values) for clause in self.clauses]
        if any(v is False for v in verdicts):
            return False
        return True if all(v is True for v in verdicts) else None

    def decide(self, values: Mapping[str, float]) -> bool:
        """Pass or fail: the mode decides an unknown verdict."""
        verdict = self.evaluate(values)
        return verdict if verdict is not None else self.mode == "fn-free"

    def __str__(self) -> str:
        return self.text


# -- parsing -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
                    r"|(?P<op>\+/-|±|/\\|>=|<=|[-+*<>]))")


def _tokens(text: str) -> List[Tuple[str, str, int]]:
    """(kind, value, column) triples; ``and`` is the same as ``/\\``."""
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            column = position + len(text[position:]) - len(text[position:].lstrip())
            raise ConditionError(f"condition {text!r}: unexpected {text[column]!r} at column {column + 1}")
        kind = match.lastgroup
        value = match.group(kind)
        column = match.start(kind)
        if kind == "name" and value == "and":
            kind, value = "op", "/\\"
        tokens.append((kind, "+/-" if value == "±" else value, column))
        position = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> Tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> Tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, expected: str):
        kind, value, column = self.peek()
        found = "the end" if kind == "end" else repr(value)
        raise ConditionError(f"condition {self.text!r}: expected {expected} at column {column + 1}, found {found}")

    def number(self) -> float:
        sign = 1.0
        if self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            sign = -1.0 if self.take()[1] == "-" else 1.0
        if self.peek()[0] != "number":
            self.fail("a number")
        return sign * float(self.take()[1])

    def clause(self) -> Clause:
        start = self.peek()[2]
        coefficients: Dict[str, float] = {}
        constant, sign = 0.0, 1.0
        if self.peek()[1] in ("+", "-"):
            sign = -1.0 if self.take()[1] == "-" else 1.0
        while True:
            kind, value, _ = self.peek()
            if kind == "number":
                factor = float(self.take()[1])
                if self.peek()[1] == "*":
                    self.take()
                    name = self.variable()
                    coefficients[name] = coefficients.get(name, 0.0) + sign * factor
                else:
                    constant += sign * factor
            elif kind == "name":
                name = self.variable()
                coefficients[name] = coefficients.get(name, 0.0) + sign
            else:
                self.fail("a variable (n, o, d) or a number")
            if self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
                sign = -1.0 if self.take()[1] == "-" else 1.0
                continue
            break
        if self.peek()[1] not in COMPARISONS:
            self.fail("a comparison (>, >=, <, <=)")
        comparison = self.take()[1]
        threshold = self.number() - constant
        if self.peek()[1] != "+/-":
            self.fail("'+/-' and the tolerance")
        self.take()
        tolerance = self.number()
        end = self.peek()[2]
        text = self.text[start:end].strip()
        if tolerance <= 0:
            raise ConditionError(f"condition {self.text!r}: the tolerance of {text!r} must be positive")
        kept = tuple((name, c) for name, c in sorted(coefficients.items(), key=lambda item: list(VARIABLES).index(
            item[0])) if c != 0)
        if not kept:
            raise ConditionError(f"condition {self.text!r}: {text!r} uses none of the variables n, o, d")
        return Clause(kept, comparison, threshold, tolerance, text)

    def variable(self) -> str:
        kind, value, _ = self.peek()
        if kind != "name" or value not in VARIABLES:
            self.fail("a variable: n (new accuracy), o (old accuracy) or d (changed predictions)")
        return self.take()[1]


def _parse_clauses(text: str) -> List[Clause]:
    parser = _Parser(text)
    clauses = [parser.clause()]
    while parser.peek()[1] == "/\\":
        parser.take()
        clauses.append(parser.clause())
    if parser.peek()[0] != "end":
        parser.fail("'/\\' (and) or the end of the condition")
    return clauses
