"""The onboarding doctor (``python -m aftercare.ats doctor``) against the sandbox ATS: a
corporation the config maps passes; one with labels the config lacks exits non-zero, names
them and proposes the mapping; the warehouse is never touched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from aftercare.ats import doctor
from aftercare.ats.bullhorn import BullhornAts
from aftercare.config import Config, load_config
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats.settings import AtsSandboxSettings, Corporation
from tests.test_ats_client import credentials


@pytest.fixture
def sandbox() -> Iterator[callable]:
    servers: list[SandboxServer] = []

    def start(**corporation: object) -> BullhornAts:
        settings = AtsSandboxSettings(placements=1500, corporation=Corporation(**corporation))
        server = SandboxServer(SandboxSettings(seed=5, ats=settings)).start()
        servers.append(server)
        return BullhornAts(credentials(server.url, settings), load_config().ats)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def config() -> Config:
    return load_config()


def test_a_corporation_the_config_maps_can_run_its_first_night(
    sandbox: callable, config: Config
) -> None:
    text, problems = doctor.doctor(config, sandbox(), size=1000)

    assert problems == [], text
    assert "employmentType: 8 values, multi-value (arrives as a list); 0 not in the config" in text
    assert "No problems" in text
    assert "Candidate search reads its date bounds as UTC" in text
    # the sample went through the gate: the sandbox's dirty share is quarantined or found
    assert "would be quarantined" in text and "field finding email" in text


def test_unmapped_picklist_values_fail_and_a_mapping_is_proposed(
    sandbox: callable, config: Config, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    ats = sandbox(
        status_labels={**Corporation().status_labels, "Placed": ["Placed", "Started"]},
        employment_type_labels={**Corporation().employment_type_labels, "Temp": ["Casual Temp"]},
    )
    monkeypatch.setattr("aftercare.connections.open_ats", lambda _config: ats)

    assert doctor.main(["doctor", "--sample", "1000"]) == 1

    text = capsys.readouterr().out
    assert "unmapped status 'Started'" in text and "unmapped employmentType 'Casual Temp'" in text
    proposal = text[text.index("Proposed config") :]
    assert '    "Casual Temp": temp   # ?' in proposal
    assert '    - "Started"   # ? active' in proposal
    # the block is YAML the config takes as it is: every value the ATS lists, mapped
    block = yaml.safe_load(proposal.split("\n\n")[1])
    assert block["ats"]["employment_classes"]["Casual Temp"] == "temp"
    assert {"Started", "Accounts Approved"} <= set(block["ats"]["active_statuses"])
    assert "Started" in block["quality"]["placement_statuses"]
    config.model_validate(
        config.model_dump()
        | {
            "ats": config.ats.model_dump() | block["ats"],
            "quality": config.quality.model_dump() | block["quality"],
        }
    )
    # a third of the sampled placements carry the new labels: night 1 would trip the breaker
    assert "night 1 would trip the breaker" in text
    # record ids, never personal data
    assert "@" not in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Fixed Term Contract", "contract"), ("Perm", "permanent"), ("Temporary", "temp")],
)
def test_proposed_classes_read_the_name(name: str, expected: str) -> None:
    assert doctor.proposed_class(name) == expected
