"""Errors that carry their HTTP status and become an OperationOutcome in one handler."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    code: str  # OperationOutcome.issue.code: invalid, structure, required, value, not-found...
    diagnostics: str
    expression: str | None = None
    severity: str = "error"


@dataclass
class FhirError(Exception):
    status: int
    issues: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)

    @classmethod
    def one(
        cls, status: int, code: str, diagnostics: str, expression: str | None = None
    ) -> FhirError:
        return cls(status, [Issue(code, diagnostics, expression)])

    def at(self, prefix: str) -> FhirError:
        """The same error with every expression placed under `prefix` (a Bundle entry)."""
        moved = [
            Issue(i.code, i.diagnostics, _under(prefix, i.expression), i.severity)
            for i in self.issues
        ]
        return FhirError(self.status, moved)


def _under(prefix: str, expression: str | None) -> str:
    """`Patient.name[0]` under `Bundle.entry[2].resource` is `Bundle.entry[2].resource.name[0]`:
    the resource's own type name gives way to its place in the Bundle."""
    if not expression:
        return prefix
    head, dot, rest = expression.partition(".")
    if head[:1].isupper() and "[" not in head:
        return f"{prefix}.{rest}" if dot else prefix
    return f"{prefix}.{expression}"


def operation_outcome(issues: list[Issue]) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "diagnostics": i.diagnostics,
                **({"expression": [i.expression]} if i.expression else {}),
            }
            for i in issues
        ],
    }
