"""The rules of the validation gate, in one place: the Great Expectations suites.

Two row suites judge every record of a run (the version staging would take). Their expectations
are of two kinds:

* record rules (GX severity ``critical``): what makes a record unusable or untrustworthy (no
  id, missing or impossible key dates, a candidate added after its last change, an unknown
  candidate, a status or employment type the config does not map). A record failing any goes
  to ``quality.quarantine`` with each failed expectation and its column as a reason; staging
  keeps the version it had.
* field rules (severity ``warning``, ``meta.field`` naming the staging field): a bad contact
  field or date of birth. A record failing one flows on with that field treated as absent
  (``quality.field_findings``): a candidate with an unusable mobile still gets email.

The load suite judges each load as a whole: when one of its expectations fails (the circuit
breaker), the run stops before planning and sending. Only quarantined records count towards
it, never field findings.

Every expectation carries a ``description``: the rule as the Data Docs and the quarantine
reasons show it. The columns are those of ``sql/quality/collect_placement_rows.sql``,
``collect_candidate_rows.sql`` and ``load_checks.sql``; all thresholds come from ``quality`` in the
config.
"""

from __future__ import annotations

from datetime import datetime

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.expectations.row_conditions import Column

from aftercare.config import Config

#: The WHATWG HTML "valid e-mail address" pattern, with a dotted domain required (mail to a
#: bare host never reaches a candidate).
EMAIL_PATTERN = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)
#: Dates outside these bounds did not parse into anything real (an epoch 0, a typo'd year).
EARLIEST, LATEST = datetime(1950, 1, 1), datetime(2100, 12, 31)

#: Each row suite and the column that identifies its records.
ROW_SUITES = {"placement_rows": "placement_id", "candidate_rows": "candidate_id"}
LOAD_SUITE = "loads"


def placement_rows(config: Config) -> gx.ExpectationSuite:
    statuses = config.quality.placement_statuses
    types = sorted(config.ats.employment_classes)
    return _suite(
        "placement_rows",
        gxe.ExpectColumnValuesToNotBeNull(
            column="placement_id", description="every placement has an id"
        ),
        gxe.ExpectColumnValuesToBeUnique(
            column="placement_id", description="one version per placement id"
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="candidate_id", description="every placement names its candidate"
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="known_candidate_id",
            description="the placement's candidate exists (staged, or loaded in this run)",
            row_condition=Column("candidate_id").is_not_null(),
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="start_date", description="every placement has a start date"
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="start_date",
            min_value=EARLIEST,
            max_value=LATEST,
            description=f"the start date parses to a date from {EARLIEST:%Y} to {LATEST:%Y}",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="end_date",
            min_value=EARLIEST,
            max_value=LATEST,
            description=f"an end date parses to a date from {EARLIEST:%Y} to {LATEST:%Y}",
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="end_date",
            column_B="start_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description="the end date is not before the start date",
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="status", description="every placement has a status"
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="status",
            value_set=statuses,
            description="the status is one of quality.placement_statuses",
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="employment_type",
            value_set=types,
            description="the employment type is one of ats.employment_classes",
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="date_last_modified", description="every placement has a change time"
        ),
        _field_rule(
            "owner_email",
            gxe.ExpectColumnValuesToMatchRegex(
                column="owner_email",
                regex=EMAIL_PATTERN,
                description="the recruiter's email address is a valid address",
            ),
        ),
    )


def candidate_rows(config: Config) -> gx.ExpectationSuite:
    quality = config.quality
    return _suite(
        "candidate_rows",
        gxe.ExpectColumnValuesToNotBeNull(
            column="candidate_id", description="every candidate has an id"
        ),
        gxe.ExpectColumnValuesToBeUnique(
            column="candidate_id", description="one version per candidate id"
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="date_last_modified", description="every candidate has a change time"
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="date_last_modified",
            column_B="date_added",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description="a candidate was not added after its last change (a broken import)",
        ),
        _field_rule(
            "email",
            gxe.ExpectColumnValuesToMatchRegex(
                column="email",
                regex=EMAIL_PATTERN,
                description="an email address is a valid address (WHATWG syntax, dotted domain)",
            ),
        ),
        *(
            _field_rule(
                number,
                gxe.ExpectColumnValuesToNotBeNull(
                    column=f"{number}_e164",
                    description=f"a {number} number parses to E.164 (valid for its region)",
                    row_condition=Column(f"{number}_raw").is_not_null(),
                ),
            )
            for number in ("mobile", "phone")
        ),
        _field_rule(
            "date_of_birth",
            gxe.ExpectColumnValuesToBeBetween(
                column="age_at_start",
                min_value=quality.min_age_at_start,
                max_value=quality.max_age_at_start,
                description=(
                    f"a date of birth is plausible: {quality.min_age_at_start} to "
                    f"{quality.max_age_at_start} years old at the first placement's start"
                ),
            ),
        ),
    )


def loads(config: Config) -> gx.ExpectationSuite:
    quality, volume = config.quality, config.quality.volume
    return _suite(
        LOAD_SUITE,
        gxe.ExpectColumnValuesToBeBetween(
            column="quarantined_share",
            max_value=quality.max_quarantined_share,
            description=(
                f"at most {quality.max_quarantined_share:.0%} of a load's records are "
                f"quarantined (checked from {quality.breaker_min_rows} quarantined rows)"
            ),
            row_condition=Column("rows_quarantined") >= quality.breaker_min_rows,
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="volume_share",
            min_value=volume.full_min_share,
            description=(
                f"a full load brings at least {volume.full_min_share:.0%} of the records "
                "staging holds"
            ),
            row_condition=Column("mode") == "full",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="volume_share",
            min_value=volume.incremental_min_share,
            description=(
                f"an incremental load brings at least {volume.incremental_min_share:.0%} of "
                f"the median of the last {volume.lookback_loads} incremental loads"
            ),
            row_condition=Column("mode") == "incremental",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="newest_age_hours",
            max_value=quality.freshness_max_age_hours,
            description=(
                f"the newest change we hold is at most {quality.freshness_max_age_hours:g} "
                "hours old"
            ),
        ),
    )


SUITES = {"placement_rows": placement_rows, "candidate_rows": candidate_rows, LOAD_SUITE: loads}


#: The staging fields a field rule may mark absent, per row suite (extract/upsert_*.sql).
FIELDS = {
    "placement_rows": ("owner_email",),
    "candidate_rows": ("email", "mobile", "phone", "date_of_birth"),
}


def _field_rule(field: str, expectation: gxe.Expectation) -> gxe.Expectation:
    """``expectation`` as a field rule: a failure marks ``field`` absent, not the record bad."""
    expectation.severity = FailureSeverity.WARNING
    expectation.meta = {"field": field}
    return expectation


def field_of(expectation: gxe.Expectation | object) -> str | None:
    """The field a field rule marks absent; None for a record rule."""
    meta = getattr(expectation, "meta", None) or {}
    return meta.get("field") if getattr(expectation, "severity", None) == "warning" else None


def _suite(name: str, *expectations: gxe.Expectation) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite
