"""The YAML config: the shipped file is valid, and bad input fails loudly with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aftercare import DEFAULT_CONFIG
from aftercare.config import ConfigError, load_config
from aftercare.names import WAREHOUSE_POOL


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "aftercare.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _shipped() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG.read_text())


def test_shipped_config_is_valid_and_has_the_warehouse_pool() -> None:
    config = load_config(DEFAULT_CONFIG)

    assert WAREHOUSE_POOL in config.airflow.pools
    assert config.airflow.pools[WAREHOUSE_POOL].slots == 1
    assert config.airflow.retries >= 2


def test_unknown_key_is_named(tmp_path: Path) -> None:
    data = _shipped()
    data["agency"]["timezone"] = "Europe/London"  # typo of time_zone

    with pytest.raises(ConfigError, match=r"agency\.timezone: Extra inputs are not permitted"):
        load_config(_write(tmp_path, data))


def test_bad_time_zone_is_named(tmp_path: Path) -> None:
    data = _shipped()
    data["agency"]["time_zone"] = "Mars/Olympus"

    with pytest.raises(
        ConfigError, match=r"agency\.time_zone: .*unknown IANA time zone 'Mars/Olympus'"
    ):
        load_config(_write(tmp_path, data))


def test_pool_without_slots_is_named(tmp_path: Path) -> None:
    data = _shipped()
    data["airflow"]["pools"][WAREHOUSE_POOL]["slots"] = 0

    with pytest.raises(ConfigError, match=rf"airflow\.pools\.{WAREHOUSE_POOL}\.slots"):
        load_config(_write(tmp_path, data))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read aftercare config"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("agency: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p["milestones"]["check_in"].update(send_time="21:30"),
            r"send_time 21:30:00 is inside the quiet hours",
        ),
        (
            lambda p: p["milestones"]["check_in"].update(channels=["fax"]),
            r"planning\.milestones\.check_in\.channels\.0: Input should be 'email'",
        ),
        (lambda p: p["priority"].remove("birthday"), r"priority does not rank .*'birthday'"),
        (
            lambda p: p["milestones"]["birthday"].pop("recent_placement_days"),
            r"planning\.milestones\.birthday: .*needs recent_placement_days",
        ),
        (
            lambda p: p["milestones"]["check_in"].update(window_days=-1),
            r"planning\.milestones\.check_in\.window_days: Input should be greater than or equal",
        ),
    ],
    ids=["quiet-hours", "channel", "priority", "birthday-rule", "window"],
)
def test_bad_planning_config_is_named(tmp_path: Path, change: object, message: str) -> None:
    data = _shipped()
    change(data["planning"])

    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sender_email", "not-an-email", r"messages\.sender_email: value is not a valid email"),
        ("unsubscribe_link_base", "ftp://x.example/u", r"messages\.unsubscribe_link_base: .*http"),
        ("review_locale", "english", r"messages\.review_locale: String should match pattern"),
    ],
    ids=["email", "url", "locale"],
)
def test_bad_message_settings_are_named(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    data = _shipped()
    data["messages"][field] = value

    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, data))


def test_message_settings_sms_check_defaults(tmp_path: Path) -> None:
    data = _shipped()
    del data["messages"]["sms_check"]

    check = load_config(_write(tmp_path, data)).messages.sms_check

    assert (check.first_name_chars, check.job_title_chars, check.client_chars) == (20, 40, 40)
    assert (check.link_chars, check.max_segments) == (60, 2)


def test_active_statuses_must_be_known_statuses(tmp_path: Path) -> None:
    data = _shipped()
    data["ats"]["active_statuses"].append("Onboarding")

    with pytest.raises(
        ConfigError, match=r"\['Onboarding'\] are not in quality\.placement_statuses"
    ):
        load_config(_write(tmp_path, data))
