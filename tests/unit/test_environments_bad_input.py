"""Each class of bad input stops at the model with `FILE: FIELD.PATH: reason` (all problems, not just one)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.config import load_environments
from jamaa.errors import ConfigError

Edit = Callable[[str, Callable[[dict], None]], Path]


def problems_of(envdir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_environments(envdir)
    return caught.value.problems


def test_unknown_region_code(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-12.yaml", lambda d: d.update(code="MA-13"))
    assert f"{path}: code: unknown region code 'MA-13' (MA-01 … MA-12)" in problems_of(envdir)


def test_duplicate_region_code(envdir: Path) -> None:
    copy = envdir / "regions" / "ma-07-copy.yaml"
    shutil.copy(envdir / "regions" / "ma-07.yaml", copy)
    assert (
        f"{envdir / 'regions' / 'ma-07.yaml'}: code: duplicate region code MA-07 (also in {copy})"
        in problems_of(envdir)
    )


def test_region_file_must_be_named_after_its_code(envdir: Path) -> None:
    (envdir / "regions" / "ma-07.yaml").rename(envdir / "regions" / "marrakech.yaml")
    path = envdir / "regions" / "marrakech.yaml"
    assert f"{path}: code: MA-07 must live in ma-07.yaml" in problems_of(envdir)


def test_missing_region_file(envdir: Path) -> None:
    (envdir / "regions" / "ma-11.yaml").unlink()
    assert f"{envdir / 'regions'}: MA-11: region file missing (ma-11.yaml)" in problems_of(envdir)


def test_duplicate_commune_id(envdir: Path) -> None:
    catalogue = envdir / "catalog" / "communes.csv"
    lines = catalogue.read_text(encoding="utf-8").splitlines(keepends=True)
    catalogue.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    last = len(lines) + 1
    assert (
        f"{catalogue}:{last}: commune_id: duplicate commune id 'c0010101' (first on line 2)"
        in problems_of(envdir)
    )


def test_commune_id_must_match_its_codes(envdir: Path) -> None:
    catalogue = envdir / "catalog" / "communes.csv"
    text = catalogue.read_text(encoding="utf-8").replace("c0010101,Agadir", "c9990101,Agadir", 1)
    catalogue.write_text(text, encoding="utf-8")
    assert (
        f"{catalogue}:2: commune_id: 'c9990101' does not match its codes (expected 'c0010101')"
        in problems_of(envdir)
    )


def test_dedicated_commune_in_a_region_that_does_not_own_it(envdir: Path, edit_yaml: Edit) -> None:
    # c0010101 is Agadir, in Souss-Massa (MA-09), not in Marrakech-Safi
    path = edit_yaml(
        "regions/ma-07.yaml",
        lambda d: d["dedicated_communes"].append({"commune": "c0010101", "data_class": "personal"}),
    )
    assert (
        f"{path}: dedicated_communes[2].commune: commune c0010101 (Agadir) belongs to MA-09, not MA-07"
        in problems_of(envdir)
    )


def test_office_of_an_unknown_commune(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-07.yaml", lambda d: d["offices"][0].update(commune="c9999999"))
    assert f"{path}: offices[0].commune: unknown commune 'c9999999' (not in the catalogue)" in problems_of(
        envdir
    )


def test_office_cidr_overlapping_a_region(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-07.yaml", lambda d: d["offices"][0].update(cidr="10.71.4.0/24"))
    ma07 = envdir / "regions" / "ma-07.yaml"
    assert f"{path}: offices[0].cidr: 10.71.4.0/24 overlaps 10.71.0.0/16 ({ma07}: cidr)" in problems_of(
        envdir
    )


def test_region_cidr_overlapping_another_region(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-08.yaml", lambda d: d.update(cidr="10.71.128.0/17"))
    ma07 = envdir / "regions" / "ma-07.yaml"
    assert f"{path}: cidr: 10.71.128.0/17 overlaps 10.71.0.0/16 ({ma07}: cidr)" in problems_of(envdir)


def test_dr_region_equal_to_the_primary(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("national.yaml", lambda d: d["hosting"].update(dr_region="eu-south-2"))
    assert f"{path}: hosting.dr_region: must differ from the primary region eu-south-2" in problems_of(envdir)


def test_environment_dr_override_equal_to_its_primary(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("staging/environment.yaml", lambda d: d.update(dr_region="eu-south-2"))
    assert f"{path}: dr_region: must differ from the primary region eu-south-2" in problems_of(envdir)


def test_region_outside_the_allowed_list(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("prod/environment.yaml", lambda d: d.update(primary_region="us-east-1"))
    assert (
        f"{path}: primary_region: us-east-1 is outside the allowed regions ['eu-south-2', 'eu-west-3']"
        in problems_of(envdir)
    )


def test_backup_retention_below_the_floor(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("prod/environment.yaml", lambda d: d["backup_retention_days"].update(personal=30))
    assert (
        f"{path}: backup_retention_days.personal: 30 days is below the personal floor of 365 days"
        in problems_of(envdir)
    )


def test_log_retention_below_the_internal_floor(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("staging/environment.yaml", lambda d: d.update(log_retention_days=14))
    assert f"{path}: log_retention_days: 14 days is below the internal floor of 90 days" in problems_of(
        envdir
    )


def test_unknown_data_class(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-03.yaml", lambda d: d["data_stores"][0].update(data_class="secret"))
    assert (
        f"{path}: data_stores[0].data_class: unknown value 'secret'; "
        "expected 'public', 'internal', 'personal' or 'sensitive'" in problems_of(envdir)
    )


def test_unknown_data_class_in_retention(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("prod/environment.yaml", lambda d: d["backup_retention_days"].update(secret=9000))
    assert (
        f"{path}: backup_retention_days.secret: unknown value 'secret'; "
        "expected 'public', 'internal', 'personal' or 'sensitive'" in problems_of(envdir)
    )


def test_sensitive_data_outside_a_sovereign_location(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-05.yaml", lambda d: d["data_stores"][1].update(location="aws:eu-west-3"))
    assert (
        f"{path}: data_stores[1].location: sensitive data must stay on a sovereign location "
        "(ma-sovereign-benguerir, ma-sovereign-rabat), not aws:eu-west-3" in problems_of(envdir)
    )


def test_sensitive_data_on_a_dedicated_cloud_server(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "regions/ma-07.yaml", lambda d: d["dedicated_communes"][0].update(data_class="sensitive")
    )
    assert (
        f"{path}: dedicated_communes[0].data_class: sensitive data cannot run on cloud servers; "
        "place it on a sovereign location" in problems_of(envdir)
    )


def test_personal_data_abroad_needs_a_cndp_authorisation(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("national.yaml", lambda d: d.update(cndp_authorisations=[]))
    ma01 = envdir / "regions" / "ma-01.yaml"
    # one root cause, one line (not one per data store)
    assert problems_of(envdir) == [
        f"{path}: cndp_authorisations: personal data in eu-south-2 (abroad) needs a valid CNDP "
        f"authorisation (12 data stores, first {ma01}: data_stores[0])"
    ]


def test_one_personal_store_in_an_uncovered_region_names_the_store(envdir: Path, edit_yaml: Edit) -> None:
    edit_yaml("national.yaml", lambda d: d["cndp_authorisations"][0].update(regions=["eu-south-2"]))
    path = edit_yaml("regions/ma-02.yaml", lambda d: d["data_stores"][0].update(location="aws:eu-west-3"))
    store = next(d for d in yaml.safe_load(path.read_text(encoding="utf-8"))["data_stores"])
    assert store["data_class"] == "personal"
    assert problems_of(envdir) == [
        f"{path}: data_stores[0].location: personal data in eu-west-3 (abroad) needs a valid CNDP "
        "authorisation recorded in national.yaml"
    ]


def test_unknown_location(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-02.yaml", lambda d: d["data_stores"][1].update(location="basement"))
    assert (
        f"{path}: data_stores[1].location: unknown location 'basement' "
        "(aws, aws:<region> or one of ['ma-sovereign-benguerir', 'ma-sovereign-rabat'])"
        in problems_of(envdir)
    )


def test_malformed_yaml_names_its_line(envdir: Path) -> None:
    path = envdir / "regions" / "ma-04.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "name_ar: [unclosed"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = [p for p in problems_of(envdir) if p.startswith(str(path))]
    assert problem.startswith(f"{path}: line 5: malformed YAML:")


def test_duplicate_yaml_key_is_refused(envdir: Path) -> None:
    path = envdir / "national.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "programme: twice\n", encoding="utf-8")
    (problem,) = problems_of(envdir)
    assert problem.startswith(f"{path}: line ") and problem.endswith(
        "malformed YAML: duplicate key 'programme'"
    )


def test_unknown_key_is_a_typo_not_ignored(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("national.yaml", lambda d: d["hosting"].update(primary_regoin="eu-west-3"))
    assert f"{path}: hosting.primary_regoin: unknown key (typo?)" in problems_of(envdir)


def test_unknown_key_in_a_region(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-09.yaml", lambda d: d["offices"][0].update(gatway_ip="203.0.113.9"))
    assert f"{path}: offices[0].gatway_ip: unknown key (typo?)" in problems_of(envdir)


def test_region_names_carry_no_display_suffix(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-11.yaml", lambda d: d.update(name_fr="Laâyoune-Sakia El Hamra (EH)"))
    assert f"{path}: name_fr: official names carry no '(EH)' display suffix" in problems_of(envdir)


def test_missing_ip_allocation_asks_for_a_sync(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("ipam.yaml", lambda d: d["dedicated"].pop("c3510107"))
    assert f"{path}: dedicated.c3510107: no allocation recorded; run `jamaa ipplan sync`" in problems_of(
        envdir
    )


def test_ip_allocation_outside_its_regions_pool(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("ipam.yaml", lambda d: d["dedicated"].update(c3510107="10.72.128.0/27"))
    assert f"{path}: dedicated.c3510107: 10.72.128.0/27 is not a /27 of 10.71.128.0/17" in problems_of(envdir)


def test_every_problem_is_reported_not_only_the_first(envdir: Path, edit_yaml: Edit) -> None:
    edit_yaml("national.yaml", lambda d: d["hosting"].update(dr_region="eu-south-2"))
    edit_yaml("prod/environment.yaml", lambda d: d["backup_retention_days"].update(internal=1))
    edit_yaml("regions/ma-05.yaml", lambda d: d["data_stores"][1].update(location="aws"))
    problems = problems_of(envdir)
    assert len(problems) >= 3
    assert any("hosting.dr_region" in p for p in problems)
    assert any("backup_retention_days.internal" in p for p in problems)
    assert any("data_stores[1].location" in p for p in problems)


def test_cli_prints_one_line_per_problem_and_exits_2(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("staging/environment.yaml", lambda d: d.update(log_retention_days=14))
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 2
    assert (
        f"{path}: log_retention_days: 14 days is below the internal floor of 90 days"
        in result.output.splitlines()
    )
