"""The rule engine: compile ``[[rules]]`` once, evaluate events fast."""

from bridge.rules.compiler import compile_rules
from bridge.rules.engine import RuleEngine
from bridge.rules.model import SEVERITIES, Match, NotFired, Reason, Rule, Threshold
from bridge.rules.state import RuleState
from bridge.rules.templates import Template

__all__ = [
    "SEVERITIES",
    "Match",
    "NotFired",
    "Reason",
    "Rule",
    "RuleEngine",
    "RuleState",
    "Template",
    "Threshold",
    "compile_rules",
]
