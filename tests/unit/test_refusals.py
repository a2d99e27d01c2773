"""Every class of damaged `environments/` is refused by `jamaa validate`: exit 2, exactly the expected line
(one root cause, one line), no traceback. The cases that could hang or exhaust memory run the real
command in a subprocess whose timeout turns a hang into a failure; bench/validate_bench.py times them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jamaa.cli import app
from jamaa.errors import MAX_PROBLEM_CHARS, ConfigError
from jamaa.yamlio import MAX_YAML_BYTES, load_yaml

Edit = Callable[[str, Callable[[dict], None]], Path]
HANG_TIMEOUT = 30  # seconds: generous; only there so that a hang fails instead of blocking the suite


def refused(envdir: Path) -> list[str]:
    """Run `jamaa validate ENVDIR` in-process: exit 2, no exception escaped, the lines it printed."""
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert all(len(line) <= MAX_PROBLEM_CHARS for line in lines)
    return lines


def refused_by_the_command(envdir: Path) -> list[str]:
    """Run the real `jamaa validate` in a subprocess: a hang fails the test after HANG_TIMEOUT."""
    proc = subprocess.run(
        [sys.executable, "-m", "jamaa.cli", "validate", str(envdir)],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert all(len(line) <= MAX_PROBLEM_CHARS for line in lines)
    return lines


def replace_text(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- 1. accepted before, refused now -----------------------------------------------------------


def test_region_network_outside_the_national_supernet(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-08.yaml", lambda d: d.update(cidr="10.200.0.0/16"))
    assert refused(envdir) == [f"{path}: cidr: 10.200.0.0/16 is outside the national supernet 10.64.0.0/12"]


def test_region_network_in_public_address_space(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-08.yaml", lambda d: d.update(cidr="8.8.0.0/16"))
    assert refused(envdir) == [
        f"{path}: cidr: 8.8.0.0/16 is public address space (the plan is private, RFC 1918)"
    ]


def test_public_supernet(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("national.yaml", lambda d: d["ip_plan"].update(supernet="11.64.0.0/12"))
    assert refused(envdir) == [
        f"{path}: ip_plan.supernet: 11.64.0.0/12 is public address space (the plan is private, RFC 1918)"
    ]


def test_public_office_supernet(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("national.yaml", lambda d: d["ip_plan"].update(office_supernet="100.64.0.0/14"))
    assert refused(envdir) == [
        f"{path}: ip_plan.office_supernet: 100.64.0.0/14 is public address space "
        "(the plan is private, RFC 1918)"
    ]


def test_office_network_outside_the_office_supernet(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-07.yaml", lambda d: d["offices"][0].update(cidr="172.30.1.0/24"))
    edit_yaml("ipam.yaml", lambda d: d["offices"].pop("c3510107"))  # an explicit cidr needs no ledger slice
    assert refused(envdir) == [
        f"{path}: offices[0].cidr: 172.30.1.0/24 is outside the office supernet 172.20.0.0/14"
    ]


def test_office_network_in_public_address_space(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-07.yaml", lambda d: d["offices"][0].update(cidr="198.51.100.0/24"))
    edit_yaml("ipam.yaml", lambda d: d["offices"].pop("c3510107"))
    assert refused(envdir) == [
        f"{path}: offices[0].cidr: 198.51.100.0/24 is outside the office supernet 172.20.0.0/14"
    ]


@pytest.mark.parametrize(
    ("gateway", "reason"),
    [
        ("0.0.0.0", "is the unspecified address; it cannot be a gateway"),
        ("255.255.255.255", "is the broadcast address; it cannot be a gateway"),
        ("127.0.0.1", "is a loopback address; it cannot be a gateway"),
        ("224.0.0.5", "is a multicast address; it cannot be a gateway"),
        ("172.20.8.0", "is the network address of 172.20.8.0/24; it cannot be a gateway"),
        ("172.20.8.255", "is the broadcast address of 172.20.8.0/24; it cannot be a gateway"),
        ("10.71.0.1", "is inside the national supernet 10.64.0.0/12, not an office router"),
    ],
)
def test_office_gateway_that_cannot_be_a_gateway(
    envdir: Path, edit_yaml: Edit, gateway: str, reason: str
) -> None:
    path = edit_yaml("regions/ma-07.yaml", lambda d: d["offices"][0].update(gateway_ip=gateway))
    assert refused(envdir) == [f"{path}: offices[0].gateway_ip: {gateway} {reason}"]


@pytest.mark.parametrize("location_id", ["aws", "eu-west-3", "aws-rabat"])
def test_sovereign_location_named_like_a_cloud_location(
    envdir: Path, edit_yaml: Edit, location_id: str
) -> None:
    path = edit_yaml("national.yaml", lambda d: d["hosting"]["sovereign_locations"][0].update(id=location_id))
    assert refused(envdir) == [
        f"{path}: hosting.sovereign_locations[0].id: {location_id!r} collides with a cloud location name "
        "(aws, aws:<region>, a region)"
    ]


def test_duplicate_sovereign_location(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml(
        "national.yaml", lambda d: d["hosting"]["sovereign_locations"][1].update(id="ma-sovereign-rabat")
    )
    assert refused(envdir) == [
        f"{path}: hosting.sovereign_locations: duplicate location id 'ma-sovereign-rabat' (entries 0 and 1)"
    ]


def test_retention_table_leaving_out_a_data_class_in_use(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("prod/environment.yaml", lambda d: d["backup_retention_days"].pop("public"))
    assert refused(envdir) == [
        f"{path}: backup_retention_days: missing public (every data class that may live in the cloud has "
        "backup plans, so a retention figure)"
    ]


def test_waiver_with_a_blank_owner(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("lab/waivers.yaml", lambda d: d["waivers"][0].update(owner="   "))
    assert refused(envdir) == [
        f"{path}: waivers[0].owner: must not be blank (a waiver names who answers for it, why, and where)"
    ]


def test_waiver_longer_than_the_national_limit(envdir: Path, edit_yaml: Edit) -> None:
    expires = date.today() + timedelta(days=400)
    path = edit_yaml("lab/waivers.yaml", lambda d: d["waivers"][0].update(expires=expires))
    assert refused(envdir) == [
        f"{path}: waivers[0].expires: waiver of HOST-SSH-021 runs 400 days, to {expires.isoformat()}; "
        "the longest allowed is 365 days (national.yaml waivers.max_duration_days)"
    ]


def test_the_waiver_limit_is_a_national_setting(envdir: Path, edit_yaml: Edit) -> None:
    expires = date.today() + timedelta(days=40)
    edit_yaml("lab/waivers.yaml", lambda d: d["waivers"][0].update(expires=expires))
    edit_yaml("national.yaml", lambda d: d.update(waivers={"max_duration_days": 30}))
    (line,) = refused(envdir)
    assert line.endswith(
        "runs 40 days, to " + expires.isoformat() + "; the longest allowed is 30 days "
        "(national.yaml waivers.max_duration_days)"
    )


def test_waivers_in_a_directory_that_is_not_an_environment(envdir: Path) -> None:
    (envdir / "regions" / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    assert refused(envdir) == [
        f"{envdir / 'regions' / 'waivers.yaml'}: waivers outside an environment "
        "(no environment.yaml beside it)"
    ]


def test_file_symlink_leading_outside(envdir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    (envdir / "regions" / "ma-03.yaml").rename(outside)
    (envdir / "regions" / "ma-03.yaml").symlink_to(outside)
    assert refused(envdir) == [
        f"{envdir / 'regions' / 'ma-03.yaml'}: symbolic link to {outside} leads outside {envdir}"
    ]


def test_directory_symlink_leading_outside(envdir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "catalog-elsewhere"
    (envdir / "catalog").rename(outside)
    (envdir / "catalog").symlink_to(outside, target_is_directory=True)
    assert refused(envdir) == [f"{envdir / 'catalog'}: symbolic link to {outside} leads outside {envdir}"]


def test_symlink_inside_the_tree_is_fine(envdir: Path) -> None:
    (envdir / "lab" / "generated").mkdir()
    (envdir / "lab" / "generated" / "group_vars").symlink_to(Path("..") / "group_vars")
    result = CliRunner().invoke(app, ["validate", str(envdir)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (",MA-09\n", ",MA-13\n", "region: unknown region code 'MA-13' (MA-01 … MA-12)"),
        (",Agadir,", ",=HYPERLINK(1),", "name_fr: starts with '=', which a spreadsheet runs as a formula"),
        (",Agadir,", ",+1,", "name_fr: starts with '+', which a spreadsheet runs as a formula"),
        (",Agadir,", ",-1+cmd,", "name_fr: starts with '-', which a spreadsheet runs as a formula"),
        (",Agadir,", ",@SUM(A1),", "name_fr: starts with '@', which a spreadsheet runs as a formula"),
    ],
)
def test_catalogue_rows(envdir: Path, old: str, new: str, reason: str) -> None:
    catalogue = replace_text(envdir / "catalog" / "communes.csv", old, new)
    assert refused(envdir) == [f"{catalogue}:2: {reason}"]


def test_catalogue_with_a_nul_byte(envdir: Path) -> None:
    catalogue = replace_text(envdir / "catalog" / "communes.csv", ",Amskroud,", ",Ams\x00kroud,")
    assert refused(envdir) == [f"{catalogue}:3: row: NUL byte (not a text catalogue)"]


# --- 2. crashes before, one line now -----------------------------------------------------------


def test_catalogue_that_is_not_utf8(envdir: Path) -> None:
    catalogue = envdir / "catalog" / "communes.csv"
    data = catalogue.read_bytes().replace(b"Amskroud", "Amskroud\xe9".encode("latin-1"), 1)
    catalogue.write_bytes(data)
    offset = data.index(b"\xe9")
    assert refused(envdir) == [f"{catalogue}: line 3: not UTF-8 text (byte 0xe9 at offset {offset})"]


def test_catalogue_field_over_the_csv_limit(envdir: Path) -> None:
    catalogue = replace_text(envdir / "catalog" / "communes.csv", ",Amskroud,", f',"{"x" * 200_000}",')
    assert refused(envdir) == [f"{catalogue}:3: row: unreadable CSV (field larger than field limit (131072))"]


def test_yaml_mapping_with_a_list_key(envdir: Path) -> None:
    path = envdir / "regions" / "ma-04.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "? [a, b]\n: value\n", encoding="utf-8")
    line = len(path.read_text(encoding="utf-8").splitlines()) - 1
    assert refused(envdir) == [
        f"{path}: line {line}: malformed YAML: a key must be a plain value, not a list or a mapping"
    ]


@pytest.mark.parametrize("shape", ["flow", "block"])
def test_deeply_nested_yaml(envdir: Path, shape: str) -> None:
    path = envdir / "regions" / "ma-04.yaml"
    if shape == "flow":
        path.write_text("code: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    else:
        path.write_text("".join(" " * i + f"k{i}:\n" for i in range(1000)), encoding="utf-8")
    (line,) = refused_by_the_command(envdir)
    assert line.startswith(f"{path}: line ") and line.endswith("malformed YAML: nested deeper than 64 levels")


# --- 3. resource exhaustion ----------------------------------------------------------------------

LAUGHS = 'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
)


def test_billion_laughs_refused_before_expansion(envdir: Path) -> None:
    path = envdir / "national.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    assert len(LAUGHS) < 1400
    assert refused_by_the_command(envdir) == [
        f"{path}: line 6: malformed YAML: aliases expand to more than 100000 values "
        "(refused before expansion)"
    ]


def test_too_many_aliases(envdir: Path) -> None:
    path = envdir / "regions" / "ma-04.yaml"
    path.write_text("a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n", encoding="utf-8")
    assert refused(envdir) == [
        f"{path}: line 2: malformed YAML: more than 100 aliases (refused before expansion)"
    ]


def test_a_huge_value_is_never_printed(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("regions/ma-03.yaml", lambda d: d["data_stores"][0].update(data_class="x" * 500_000))
    (line,) = refused(envdir)
    assert line.startswith(f"{path}: data_stores[0].data_class: unknown value 'xxxx")
    assert len(line) < 400


def test_file_over_the_size_limit(envdir: Path) -> None:
    path = envdir / "national.yaml"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("# " + "x" * MAX_YAML_BYTES + "\n")
    size = path.stat().st_size
    assert refused(envdir) == [f"{path}: file is {size} bytes, over the limit of {MAX_YAML_BYTES} bytes"]


def test_fifo_is_refused_without_opening_it(envdir: Path) -> None:
    path = envdir / "staging" / "environment.yaml"
    path.unlink()
    os.mkfifo(path)
    assert refused_by_the_command(envdir) == [
        f"{path}: not a regular file (a FIFO); refused without opening it"
    ]


def test_fifo_catalogue_is_refused_without_opening_it(envdir: Path) -> None:
    path = envdir / "catalog" / "communes.csv"
    path.unlink()
    os.mkfifo(path)
    assert refused_by_the_command(envdir) == [
        f"{path}: not a regular file (a FIFO); refused without opening it"
    ]


def test_socket_is_refused(envdir: Path) -> None:
    path = envdir / "ipam.yaml"
    path.unlink()
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        assert refused(envdir) == [f"{path}: not a regular file (a socket); refused without opening it"]


def test_device_is_refused_without_reading_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(Path("/dev/zero"))
    assert caught.value.problems == [
        "/dev/zero: not a regular file (a character device); refused without opening it"
    ]


# --- 4. messages that point ---------------------------------------------------------------------


def test_expired_cndp_authorisation_is_one_line(envdir: Path, edit_yaml: Edit) -> None:
    path = edit_yaml("national.yaml", lambda d: d["cndp_authorisations"][0].update(expires="2020-01-31"))
    ma01 = envdir / "regions" / "ma-01.yaml"
    assert refused(envdir) == [
        f"{path}: cndp_authorisations[0].expires: CNDP-AT-EXAMPLE-0001 expired on 2020-01-31; personal data "
        f"in eu-south-2 needs a valid one (12 data stores, first {ma01}: data_stores[0])"
    ]


def test_a_multi_line_value_stays_on_one_line(envdir: Path) -> None:
    path = envdir / "national.yaml"
    path.write_text(path.read_text(encoding="utf-8") + '"two\\nlines": 1\n', encoding="utf-8")
    assert refused(envdir) == [f"{path}: two\\nlines: unknown key (typo?)"]
