"""Model conditions: the language, interval semantics, and Hoeffding's test-set sizes."""
import math

import pytest

from lester_inspect.ci.conditions import Clause, Condition, ConditionError


def required(text, **settings):
    return Condition.parse(text, **settings).required_examples()


# -- test-set sizes, computed by hand ----------------------------------------------------------------
# m = R^2 * ln(1 / delta') / (2 * eps^2), R = sum of |coefficients|, delta' = (1 - reliability) split
# over clauses and uses: / (clauses * steps) non-adaptive and first-change, / (clauses * 2^steps) full.

def test_the_issue_example_one_variable_needs_46052_examples():
    # ln(1 / 0.0001) = 9.210340; / (2 * 0.01^2 = 0.0002) = 46051.70 -> 46,052
    assert required("n > 0.8 +/- 0.01", reliability=0.9999, adaptivity="none", steps=1) == [46052]


def test_non_adaptive_steps_divide_the_failure_probability():
    # ln(32 / 0.0001) = ln(320000) = 12.676076; / 0.0002 = 63380.38 -> 63,381
    assert required("n > 0.8 +/- 0.01", reliability=0.9999, adaptivity="none", steps=32) == [63381]


def test_first_change_costs_what_non_adaptive_costs():
    # Until the verdict first changes all verdicts are equal: the models could not adapt. Same 63,381.
    assert required("n > 0.8 +/- 0.01", reliability=0.9999, adaptivity="first-change", steps=32) == [63381]


def test_full_adaptivity_pays_for_two_to_the_steps_histories():
    # 32 * ln 2 + ln(10^4) = 22.180710 + 9.210340 = 31.391050; / 0.0002 = 156955.25 -> 156,956
    assert required("n > 0.8 +/- 0.01", reliability=0.9999, adaptivity="full", steps=32) == [156956]


def test_full_adaptivity_with_many_steps_does_not_underflow():
    # 1000 * ln 2 + ln(10^4) = 693.147181 + 9.210340 = 702.357521; / 0.0002 = 3511787.6 -> 3,511,788
    assert required("n > 0.8 +/- 0.01", reliability=0.9999, adaptivity="full", steps=1000) == [3511788]


def test_two_variables_split_the_tolerance():
    # n - o: each example contributes a value in [-1, 1], R = 2 (the same as eps / 2 per variable):
    # 2^2 * 9.210340 / 0.0002 = 184206.81 -> 184,207
    assert required("n - o > 0.02 +/- 0.01", reliability=0.9999, adaptivity="none", steps=1) == [184207]


def test_coefficients_widen_the_range():
    # n - 0.5 * o: R = 1.5; 2.25 * ln(100) = 2.25 * 4.605170 = 10.361633; / (2 * 0.05^2 = 0.005) = 2072.33 -> 2,073
    assert required("n - 0.5 * o > 0 +/- 0.05", reliability=0.99, adaptivity="none", steps=1) == [2073]


def test_two_clauses_split_the_failure_probability():
    # delta' = 0.0001 / 2: ln(20000) = 9.903488; / 0.0002 = 49517.44 -> 49,518 for each clause
    assert required("n > 0.8 +/- 0.01 /\\ d < 0.1 +/- 0.01", reliability=0.9999, adaptivity="none",
                    steps=1) == [49518, 49518]


def test_the_ci_demo_condition_fits_its_test_split():
    # ln(2 clauses * 2^4 / 0.05) = ln(640) = 6.461468; / (2 * 0.05^2) = 1292.29 -> 1,293 <= 1,500 test rows
    assert required("n > 0.7 +/- 0.05 /\\ d < 0.1 +/- 0.05", reliability=0.95, adaptivity="full",
                    steps=4) == [1293, 1293]


def test_the_bound_guarantees_the_reliability():
    condition = Condition.parse("n > 0.5 +/- 0.02", reliability=0.999, adaptivity="none", steps=5)
    m = condition.required_examples()[0]
    # Hoeffding's one-sided failure probability at m examples, times the 5 uses, is at most 1 - reliability ...
    assert 5 * math.exp(-2 * m * 0.02 ** 2) <= 0.001
    # ... and one example fewer would not do.
    assert 5 * math.exp(-2 * (m - 1) * 0.02 ** 2) > 0.001


# -- the language ------------------------------------------------------------------------------------

def test_a_clause_is_a_linear_expression_with_threshold_and_tolerance():
    condition = Condition.parse("n - o > 0.02 +/- 0.01 /\\ d < 0.1 +/- 0.05")
    assert condition.clauses == (
        Clause((("n", 1.0), ("o", -1.0)), ">", 0.02, 0.01, "n - o > 0.02 +/- 0.01"),
        Clause((("d", 1.0),), "<", 0.1, 0.05, "d < 0.1 +/- 0.05"),
    )
    assert condition.variables == ("n", "o", "d")


def test_constants_move_to_the_threshold_and_like_terms_combine():
    (clause,) = Condition.parse("1 + 0.5*n - o + n >= -0.1 ± 0.05").clauses
    assert clause.coefficients == (("n", 1.5), ("o", -1.0))
    assert clause.comparison == ">="
    assert clause.threshold == pytest.approx(-1.1)
    assert clause.value_range == 2.5


def test_and_is_the_same_as_the_wedge():
    assert Condition.parse("n > 0.5 +/- 0.1 and d < 0.1 +/- 0.1").clauses == \
        Condition.parse("n > 0.5 +/- 0.1 /\\ d < 0.1 +/- 0.1").clauses


@pytest.mark.parametrize("text, message", [
    ("n >> 0.1 +/- 0.1", "expected a number at column 4, found '>'"),
    ("x > 0.1 +/- 0.1", "expected a variable: n (new accuracy), o (old accuracy) or d (changed predictions) "
                        "at column 1, found 'x'"),
    ("n > 0.1", "expected '+/-' and the tolerance at column 8, found the end"),
    ("n > 0.1 +/- 0", "the tolerance of 'n > 0.1 +/- 0' must be positive"),
    ("0.5 > 0.1 +/- 0.1", "'0.5 > 0.1 +/- 0.1' uses none of the variables n, o, d"),
    ("n - n > 0.1 +/- 0.1", "uses none of the variables"),
    ("n > 0.1 +/- 0.1 d < 1 +/- 0.1", "expected '/\\' (and) or the end of the condition at column 17, found 'd'"),
    ("n & o", "unexpected '&' at column 3"),
])
def test_syntax_errors_say_where(text, message):
    with pytest.raises(ConditionError, match="^condition ") as error:
        Condition.parse(text)
    assert message in str(error.value)


@pytest.mark.parametrize("settings, message", [
    ({"reliability": 1.0}, "reliability must be a number strictly between 0 and 1, got 1.0"),
    ({"reliability": "high"}, "reliability must be a number"),
    ({"steps": 0}, "steps must be a whole number of at least 1, got 0"),
    ({"steps": 2.5}, "steps must be a whole number"),
    ({"adaptivity": "some"}, "adaptivity must be one of 'none', 'full', 'first-change', got 'some'"),
    ({"mode": "strict"}, "mode must be one of 'fp-free', 'fn-free', got 'strict'"),
])
def test_invalid_settings_are_rejected(settings, message):
    with pytest.raises(ConditionError, match="^" + message.split(",")[0]):
        Condition.parse("n > 0.5 +/- 0.1", **settings)


# -- interval semantics ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, values, verdict", [
    ("n > 0.8 +/- 0.05", {"n": 0.86}, True),      # [0.81, 0.91] is above 0.8
    ("n > 0.8 +/- 0.05", {"n": 0.82}, None),      # [0.77, 0.87] straddles it
    ("n > 0.8 +/- 0.05", {"n": 0.70}, False),     # [0.65, 0.75] is below
    ("d < 0.1 +/- 0.02", {"d": 0.05}, True),
    ("d < 0.1 +/- 0.02", {"d": 0.11}, None),
    ("d < 0.1 +/- 0.02", {"d": 0.20}, False),
    ("n - o >= 0.02 +/- 0.01", {"n": 0.90, "o": 0.85}, True),
    ("n - o >= 0.02 +/- 0.01", {"n": 0.90, "o": 0.89}, None),
    ("n - o <= 0 +/- 0.01", {"n": 0.90, "o": 0.95}, True),
    ("n - o <= 0 +/- 0.01", {"n": 0.95, "o": 0.90}, False),
])
def test_a_clause_is_true_false_or_unknown(text, values, verdict):
    assert Condition.parse(text).evaluate(values) is verdict


def test_a_conjunction_is_false_if_any_clause_is_false_and_true_only_if_all_are():
    condition = Condition.parse("n > 0.8 +/- 0.05 /\\ d < 0.1 +/- 0.02")
    assert condition.evaluate({"n": 0.9, "d": 0.05}) is True
    assert condition.evaluate({"n": 0.82, "d": 0.05}) is None
    assert condition.evaluate({"n": 0.82, "d": 0.5}) is False


def test_the_mode_decides_unknown():
    unknown = {"n": 0.82}
    assert Condition.parse("n > 0.8 +/- 0.05", mode="fp-free").decide(unknown) is False
    assert Condition.parse("n > 0.8 +/- 0.05", mode="fn-free").decide(unknown) is True
    assert Condition.parse("n > 0.8 +/- 0.05", mode="fn-free").decide({"n": 0.7}) is False
