# ruff: noqa: E501  (expected messages and fixtures read best on one line)
"""The control catalogue: schema, frameworks, loader errors, derived links, coverage, and agreement with
the policy pack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from jamaa.controls import DEFAULT_CONTROLS_DIR, DEFAULT_FRAMEWORKS, load_catalogue
from jamaa.errors import ConfigError
from jamaa.links import Link
from jamaa.policy import Pack

SCHEMA = DEFAULT_CONTROLS_DIR / "schema.json"

GOOD = {
    "id": "CLD-TST-001",
    "title": {"fr": "Un contrôle", "en": "A control"},
    "rationale": "Because the test needs one.",
    "severity": "high",
    "layer": "cloud",
    "references": {"aws-fsbp": "S3.5", "law-09-08": None},
}
# Where CLD-TST-001 is enforced and verified: a policy's `controls=` (a policy both enforces and verifies).
POLICY = Link("CLD-TST-001", "policy", "s3-tls-only-policy", Path("policies/jamaa_policies/s3.py"), 10)


def write_catalogue(tmp_path: Path, *files: tuple[str, object]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCHEMA, tmp_path / "schema.json")
    shutil.copy(DEFAULT_FRAMEWORKS, tmp_path.parent / "frameworks.yaml")
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
    assert catalogue.unknown_links() == []
    for control in catalogue.cloud_controls():
        assert control.id.startswith("CLD-")
        assert control.manual is not None or (control.enforced_by and control.verified_by)


def test_no_record_writes_its_links_by_hand() -> None:
    for path in sorted(DEFAULT_CONTROLS_DIR.glob("*.yaml")):
        for record in yaml.safe_load(path.read_text())["controls"]:
            assert not {"enforced_by", "verified_by"} & set(record), (path.name, record["id"])


def test_every_framework_is_cited_and_declared_once() -> None:
    catalogue = load_catalogue()
    cited = {r.framework for c in catalogue.controls.values() for r in c.references}
    assert cited == set(catalogue.frameworks)
    for key, framework in catalogue.frameworks.items():
        assert framework.source.startswith("https://"), key
    ssh = catalogue["HOST-SSH-003"].references
    assert [(r.framework, r.id) for r in ssh] == [("cis-debian-12", None), ("anssi-bp-028", "R67")]
    assert ssh[1].title == "ANSSI-BP-028, recommandations de configuration d'un système GNU/Linux v2.0"


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
    root = write_catalogue(tmp_path / "controls", ("cloud-test.yaml", {"controls": [GOOD]}))
    catalogue = load_catalogue(root, links=[POLICY])
    assert list(catalogue.controls) == ["CLD-TST-001"]
    control = catalogue.controls["CLD-TST-001"]
    assert control.policies == ("s3-tls-only-policy",)
    assert control.enforced_by == control.verified_by == ("policy:s3-tls-only-policy",)
    assert [str(r) for r in control.references] == ["aws-fsbp S3.5", "law-09-08"]
    assert catalogue.links_of("CLD-TST-001") == [POLICY]


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
            {"enforced_by": ["policy:s3-tls-only-policy"]},
            "controls.0.enforced_by: derived from the implementation when the catalogue loads",
        ),
        (
            {"references": {"aws-fsbp": "S3"}},
            "controls.0.references.aws-fsbp: 'S3' is not an identifier of aws-fsbp",
        ),
        (
            {"references": {"anssi-bp-028": "29"}},
            "controls.0.references.anssi-bp-028: '29' is not an identifier of anssi-bp-028 (^R[0-9]+$)",
        ),
        (
            {"references": {"iso-27001": "A.5.1"}},
            "controls.0.references.iso-27001: unknown framework (declared: ",
        ),
        (
            {"references": {"law-09-08": "23"}},
            "controls.0.references.law-09-08: '23': law-09-08 is cited without numbers",
        ),
        ({"references": {}}, "controls.0.references: {} should be non-empty"),
        (
            {"references": {"aws-fsbp": 3.1}},
            "controls.0.references.aws-fsbp: 3.1 is not valid under any of the given schemas",
        ),
        ({"title": {"fr": "Seulement en français"}}, "controls.0.title: 'en' is a required property"),
        (
            {"verified_by": ["testinfra:HOST-SSH-001"]},
            "controls.0.verified_by: derived from the implementation",
        ),
        ({"owner": "me"}, "controls.0: Additional properties are not allowed ('owner' was unexpected)"),
    ],
)
def test_loader_names_file_field_and_reason(tmp_path: Path, change: dict[str, object], message: str) -> None:
    root = write_catalogue(tmp_path / "controls", ("cloud-test.yaml", {"controls": [{**GOOD, **change}]}))
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root, links=[POLICY])
    expected = f"{root / 'cloud-test.yaml'}: {message}"
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_host_controls_may_be_kernel_level(tmp_path: Path) -> None:
    host = {
        **GOOD,
        "id": "HOST-TST-001",
        "layer": "host",
        "kernel_level": True,
        "references": {"anssi-bp-028": "R29", "cis-debian-12": ["5.1.20", "5.1.21"]},
    }
    links = [
        Link("HOST-TST-001", "role", "ssh_hardening", Path("roles/ssh_hardening/tasks/main.yml"), 12),
        Link("HOST-TST-001", "testinfra", "HOST-TST-001", Path("tests/baseline/hostchecks/ssh.py"), 40),
    ]
    root = write_catalogue(tmp_path / "controls", ("host-test.yaml", {"controls": [host]}))
    catalogue = load_catalogue(root, links=links)
    control = catalogue.controls["HOST-TST-001"]
    assert (
        control.kernel_level
        and control.roles == ("ssh_hardening",)
        and control.testinfra_checks == ("HOST-TST-001",)
    )
    assert catalogue.host_controls() == [control]
    assert [str(r) for r in control.references] == [
        "anssi-bp-028 R29",
        "cis-debian-12 5.1.20",
        "cis-debian-12 5.1.21",
    ]


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    root = write_catalogue(
        tmp_path / "controls", ("cloud-a.yaml", {"controls": [GOOD]}), ("cloud-b.yaml", {"controls": [GOOD]})
    )
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root, links=[POLICY])
    assert caught.value.problems == [
        f"{root / 'cloud-b.yaml'}: controls.0.id: duplicate id CLD-TST-001 (also in {root / 'cloud-a.yaml'})"
    ]


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "controls", ("cloud-bad.yaml", "controls:\n  - id: [unclosed\n"))
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root, links=[])
    assert caught.value.problems[0].startswith(f"{root / 'cloud-bad.yaml'}: line ")


def test_uncovered_control_is_found_unless_manual(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "controls", ("cloud-test.yaml", {"controls": [GOOD]}))
    catalogue = load_catalogue(root, links=[])
    assert catalogue.coverage_problems() == [
        f"{root / 'cloud-test.yaml'}: CLD-TST-001: no enforcement (a policy's controls=, a role task named or tagged with the id, an SCP) and no verification (a policy, a baseline @check, an audit check), and not marked manual with a reason"
    ]
    scp = Link("CLD-TST-001", "scp", "jamaa-test", Path("jamaa/landingzone.py"), 70)
    catalogue = load_catalogue(root, links=[scp])
    assert catalogue.coverage_problems() == [
        f"{root / 'cloud-test.yaml'}: CLD-TST-001: no verification (a policy, a baseline @check, an audit check), and not marked manual with a reason"
    ]
    audit = Link("CLD-TST-001", "audit", "test-check", Path("jamaa/audit/checks.py"), 33)
    assert load_catalogue(root, links=[scp, audit]).coverage_problems() == []
    manual = {**GOOD, "manual": "Checked by the DGCT's annual on-site audit of the data centre."}
    write_catalogue(tmp_path / "controls", ("cloud-test.yaml", {"controls": [manual]}))
    assert load_catalogue(root, links=[]).coverage_problems() == []


def test_links_naming_unknown_controls_are_reported(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "controls", ("cloud-test.yaml", {"controls": [GOOD]}))
    stray = Link("CLD-NOPE-001", "policy", "s3-tls-only-policy", Path("policies/jamaa_policies/s3.py"), 10)
    catalogue = load_catalogue(root, links=[POLICY, stray])
    assert catalogue.unknown_links() == [
        "policies/jamaa_policies/s3.py:10: policy:s3-tls-only-policy: names CLD-NOPE-001, which is not in the catalogue"
    ]


def test_a_bad_frameworks_file_is_named(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "controls", ("cloud-test.yaml", {"controls": [GOOD]}))
    (tmp_path / "frameworks.yaml").write_text(
        "frameworks:\n  aws-fsbp: {title: AWS FSBP, source: 'http://insecure', ids: '['}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_catalogue(root, links=[])
    assert caught.value.problems[0].startswith(
        f"{tmp_path / 'frameworks.yaml'}: frameworks.aws-fsbp.source: String should match pattern"
    )


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
