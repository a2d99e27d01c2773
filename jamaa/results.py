"""One result vocabulary, from the policy engine to the evidence report.

Every part that judges a control — the policy engine (offline plan or CrossGuard), `jamaa verify` (the
baseline on hosts), `jamaa audit` (a live account), `jamaa drift`, `jamaa drill` — says what it found with
one `Status`, and hands the report `Result` records; the stages of `jamaa lab run` end with one too (a
stage not run because a stage it needs did not pass: cannot-evaluate). A new status is added here,
once, with its labels.

- pass: the check ran and the control holds.
- fail: the check ran and the control does not hold (a violation, a drift, a failed restore).
- waived: a waiver (owner, reason, expiry) covers it; never counted as passed.
- not-applicable: the control does not apply to that target (a container cannot show a kernel setting).
- cannot-evaluate: the question could not be answered there (a value only known after deployment, an API
  the endpoint does not implement, a host that could not be reached); never counted as passed.
- error: the check itself broke (an unexpected exception): counts as a failure of the run.
- disabled: the operator turned the check off (a policy's enforcement level).
- not-verified: nothing checked the control (the report's aggregate only).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WAIVED = "waived"
    NOT_APPLICABLE = "not-applicable"
    CANNOT_EVALUATE = "cannot-evaluate"
    ERROR = "error"
    DISABLED = "disabled"
    NOT_VERIFIED = "not-verified"

    @property
    def label(self) -> str:
        """The English words (`not applicable`), for tables and messages."""
        return self.value.replace("-", " ")

    @property
    def label_fr(self) -> str:
        """The French words the evidence report shows."""
        return LABELS_FR[self]

    @property
    def failing(self) -> bool:
        """Counts against the control (or the run): a failure, or a check that broke."""
        return self in (Status.FAIL, Status.ERROR)


LABELS_FR: dict[Status, str] = {
    Status.PASS: "conforme",
    Status.FAIL: "non conforme",
    Status.WAIVED: "dérogation",
    Status.NOT_APPLICABLE: "non applicable",
    Status.CANNOT_EVALUATE: "non évaluable",
    Status.ERROR: "erreur",
    Status.DISABLED: "désactivée",
    Status.NOT_VERIFIED: "non vérifié",
}

CHECK_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s is not Status.NOT_VERIFIED)
"""What one check can say about one target (everything but the report's aggregate)."""


class Result(BaseModel):
    """What one check (a policy, a host check, an audit invariant, a drift run, a drill) said about one
    control on one target (a stack, a host, an account resource)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    """Which part produced it: policy, host, audit, drift or drill."""
    control: str
    target: str
    check: str
    """The policy name, the check's node id or name, the audit invariant."""
    status: Status
    message: str = ""
    detail: list[str] = []
    """Per-finding lines (a policy's violations with their URNs)."""
    observed: Status | None = None
    """For a waived result: what the check found anyway."""
    enforcement: str = ""
    """Policies: the enforcement level the result was judged at."""


def worst(statuses: list[Status]) -> Status:
    """One status for several results about the same control and target (a policy over many resources):
    a failure wins, then a broken check, then what could not be evaluated, then a waiver."""
    for status in (Status.FAIL, Status.ERROR, Status.CANNOT_EVALUATE, Status.WAIVED, Status.PASS):
        if status in statuses:
            return status
    if statuses and all(s is Status.NOT_APPLICABLE for s in statuses):
        return Status.NOT_APPLICABLE
    return Status.NOT_VERIFIED
