# ruff: noqa: E501  (expected messages and fixtures read best on one line)
"""The control catalogue: schema, loader errors, coverage, and agreement with the policy pack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from jamaa.catalogue import DEFAULT_CONTROLS_DIR, load_catalogue
from jamaa.errors import ConfigError
from jamaa.policy import Pack

SCHEMA = DEFAULT_CONTROLS_DIR / "schema.json"

GOOD = {
    "id": "CLD-TST-001",
    "title": {"fr": "Un contrôle", "en": "A control"},
    "rationale": "Because the test needs one.",
    "severity": "high",
    "layer": "cloud",
    "references": [{"framework": "aws-fsbp", "id": "S3.5"}, {"framework": "law-09-08"}],
    "enforced_by": ["policy:s3-tls-only-policy"],
    "verified_by": ["policy:s3-tls-only-policy"],
}


def write_catalogue(tmp_path: Path, *files: tuple[str, object]) -> Path:
    shutil.copy(SCHEMA, tmp_path / "schema.json")
    for name, data in files:
        (tmp_path / name).write_text(
            yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data
        )
    return tmp_path


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_repository_catalogue_loads_and_is_covered() -> None:
    catalogue = load_catalogue()
    assert len(catalogue.cloud_controls()) >= 40
    assert catalogue.coverage_problems() == []
    for control in catalogue.cloud_controls():
        assert control.id.startswith("CLD-")
        assert control.manual is not None or (control.enforced_by and control.verified_by)


def test_every_policy_names_existing_controls_and_each_control_names_it_back(pack: Pack) -> None:
    catalogue = load_catalogue()
    for info in pack.policies:
        assert catalogue.unknown_ids(info.controls) == [], info.name
        for control in info.controls:
            assert info.name in catalogue.controls[control].policies, (info.name, control)
    names = set(pack.by_name())
    for control in catalogue.cloud_controls():
        assert set(control.policies) <= names, (control.id, set(control.policies) - names)
        for name in control.policies:
            assert control.id in pack.by_name()[name].controls, (control.id, name)


def test_cloud_references_use_real_identifier_shapes() -> None:
    catalogue = load_catalogue()
    for control in catalogue.cloud_controls():
        frameworks = {r.framework for r in control.references}
        assert frameworks <= {
            "cis-aws-foundations-v3",
            "aws-fsbp",
            "law-09-08",
            "law-05-20",
            "decree-2-24-921",
            "dnssi",
        }
        for reference in control.references:
            if reference.framework in ("law-09-08", "law-05-20", "decree-2-24-921", "dnssi"):
                assert reference.id is None, "no article numbers for laws and the DNSSI"


def test_loader_accepts_a_good_file(tmp_path: Path) -> None:
    catalogue = load_catalogue(write_catalogue(tmp_path, ("cloud-test.yaml", {"controls": [GOOD]})))
    assert list(catalogue.controls) == ["CLD-TST-001"]
    assert catalogue.controls["CLD-TST-001"].policies == ("s3-tls-only-policy",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"severity": "hgh"},
            "controls.0.severity: 'hgh' is not one of ['low', 'medium', 'high', 'critical']",
        ),
        ({"id": "CLD-S3-1"}, "controls.0.id: 'CLD-S3-1' does not match"),
        ({"id": "HOST-TST-001"}, "controls.0.id: 'HOST-TST-001' does not match '^CLD-'"),
        ({"kernel_level": True}, "controls.0.kernel_level: False was expected"),
        (
            {"enforced_by": ["role:ssh_hardening"]},
            "controls.0.enforced_by.0: 'role:ssh_hardening' does not match '^policy:'",
        ),
        (
            {"references": [{"framework": "aws-fsbp", "id": "S3"}]},
            "controls.0.references.0.id: 'S3' does not match",
        ),
        (
            {"references": [{"framework": "anssi-bp028", "id": "29"}]},
            "controls.0.references.0.id: '29' does not match '^R[0-9]+$'",
        ),
        (
            {"references": [{"framework": "iso-27001"}]},
            "controls.0.references.0.framework: 'iso-27001' is not one of",
        ),
        ({"title": {"fr": "Seulement en français"}}, "controls.0.title: 'en' is a required property"),
        ({"verified_by": ["testinfra:ssh"]}, "controls.0.verified_by.0: 'testinfra:ssh' does not match"),
        ({"owner": "me"}, "controls.0: Additional properties are not allowed ('owner' was unexpected)"),
    ],
)
def test_loader_names_file_field_and_reason(tmp_path: Path, change: dict[str, object], message: str) -> None:
    root = write_catalogue(tmp_path, ("cloud-test.yaml", {"controls": [{**GOOD, **change}]}))
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root)
    expected = f"{root / 'cloud-test.yaml'}: {message}"
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_host_controls_may_be_kernel_level(tmp_path: Path) -> None:
    host = {
        **GOOD,
        "id": "HOST-TST-001",
        "layer": "host",
        "kernel_level": True,
        "references": [
            {"framework": "anssi-bp028", "id": "R29"},
            {"framework": "cis-debian", "id": "5.1.20"},
        ],
        "enforced_by": ["role:ssh_hardening"],
        "verified_by": ["testinfra:HOST-TST-001"],
    }
    catalogue = load_catalogue(write_catalogue(tmp_path, ("host-test.yaml", {"controls": [host]})))
    control = catalogue.controls["HOST-TST-001"]
    assert (
        control.kernel_level
        and control.roles == ("ssh_hardening",)
        and control.testinfra_checks == ("HOST-TST-001",)
    )
    assert catalogue.host_controls() == [control]


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    root = write_catalogue(
        tmp_path, ("cloud-a.yaml", {"controls": [GOOD]}), ("cloud-b.yaml", {"controls": [GOOD]})
    )
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root)
    assert caught.value.problems == [
        f"{root / 'cloud-b.yaml'}: controls.0.id: duplicate id CLD-TST-001 (also in {root / 'cloud-a.yaml'})"
    ]


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path, ("cloud-bad.yaml", "controls:\n  - id: [unclosed\n"))
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root)
    assert caught.value.problems[0].startswith(f"{root / 'cloud-bad.yaml'}: line ")


def test_uncovered_control_is_found_unless_manual(tmp_path: Path) -> None:
    orphan = {**GOOD, "enforced_by": [], "verified_by": []}
    catalogue = load_catalogue(write_catalogue(tmp_path, ("cloud-test.yaml", {"controls": [orphan]})))
    assert catalogue.coverage_problems() == [
        f"{tmp_path / 'cloud-test.yaml'}: CLD-TST-001: no enforced_by and no verified_by, and not marked manual with a reason"
    ]
    unverified = {**GOOD, "verified_by": []}
    catalogue = load_catalogue(write_catalogue(tmp_path, ("cloud-test.yaml", {"controls": [unverified]})))
    assert catalogue.coverage_problems() == [
        f"{tmp_path / 'cloud-test.yaml'}: CLD-TST-001: no verified_by, and not marked manual with a reason"
    ]
    manual = {**orphan, "manual": "Checked by the DGCT's annual on-site audit of the data centre."}
    catalogue = load_catalogue(write_catalogue(tmp_path, ("cloud-test.yaml", {"controls": [manual]})))
    assert catalogue.coverage_problems() == []


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="catalogue directory not found"):
        load_catalogue(tmp_path / "nope")


def test_lookups_by_policy_and_root(pack: Pack) -> None:
    repo = DEFAULT_CONTROLS_DIR.parents[1]
    catalogue = load_catalogue(repo)  # the repository root resolves to policies/controls
    assert catalogue.root == DEFAULT_CONTROLS_DIR
    assert "CLD-S3-001" in catalogue and catalogue["CLD-S3-001"].severity == "critical"
    assert catalogue.controls_for_policy("s3-tls-only-policy") == ["CLD-S3-003"]
    assert catalogue.controls_for_policy("no-such-policy") == []
    assert catalogue.unknown_ids(["CLD-S3-001", "CLD-NOPE-001"]) == ["CLD-NOPE-001"]
    for info in pack.policies:
        assert sorted(catalogue.controls_for_policy(info.name)) == sorted(info.controls)
