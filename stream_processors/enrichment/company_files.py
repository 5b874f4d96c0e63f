"""Readers that turn public company lists into company records of the Avro shape.

``read_companies(path)`` recognises the format by its header and yields dicts with
the fields of ``schemas/avro/company.avsc``, the domain in canonical form (the
directory is keyed by it, and signals carry the same canonical form). Rows without a
usable domain are skipped and counted in one log line per file, because a company
the pipeline cannot key cannot be matched to any signal. Formats:

- ``companies-wikipedia/companies.csv``: large companies (employees from ``people``,
  region from ``continent``). Rows without ``web`` are skipped.
- ``yc-startups-2005-2014/Startups.csv``: YC startups; industry is the first
  category, funding the sum of the parsed rounds (``parse_funding``). No headcount.
- ``remote-companies/remote_companies.csv``: remote-friendly companies with a tech
  stack; the headcount is estimated from the size band (``SIZE_BANDS``).
- ``sp500/constituents.csv``: has no domain column at all, so every row is skipped
  and the reader yields nothing. It is recognised only so the skip is logged
  instead of the file being rejected as unknown.
- Any CSV or JSON Lines file whose columns are the Avro field names; in CSV,
  ``technologies`` is ``;``-separated.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import structlog

from schemas.identity import canonical_domain

log = structlog.get_logger(__name__)

# Headcount estimate per remote-companies size band: the median of the headcounts
# the same list states in its free-text ``company_size_text`` for that band
# (measured on the copied snapshot: tiny 5, small 30, medium 100, large 500,
# enterprise 4000). A band is a range, so this is a typical value, not a count.
SIZE_BANDS: Final = {
    "tiny": 5,
    "small": 30,
    "medium": 100,
    "large": 500,
    "enterprise": 4000,
}

_AMOUNT: Final = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)")
_HEADCOUNT: Final = re.compile(r"\d[\d,]*")
_MAX_HEADCOUNT: Final = 10_000_000

Row = Mapping[str, str]
Mapper = Callable[[Row], dict[str, Any] | None]


def read_companies(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the companies of one list file, whatever its known format."""
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "{":
            yield from _logged(path, "jsonl", _jsonl_rows(handle, path))
            return

        reader = csv.DictReader(handle)
        source, mapper = _detect(reader.fieldnames or [], path)
        yield from _logged(path, source, (mapper(row) for row in reader))


def parse_funding(text: str | None) -> int | None:
    """Total US dollars of a YC funding string such as ``"$2800000, $1,200,000"``.

    "undisclosed amount" rounds add nothing; None means no amount was stated at
    all, which is not the same as zero. Amounts written with a decimal point
    (``$14.500000``, ``$232.7000``) are corrupt upstream spellings whose unit cannot
    be known, so they are left out rather than guessed.
    """
    if not text:
        return None
    amounts = [
        int(digits.replace(",", ""))
        for digits in _AMOUNT.findall(text)
        if "." not in digits
    ]
    return sum(amounts) if amounts else None


def estimate_employees(band: str | None, text: str | None = None) -> int | None:
    """Headcount of a remote-companies row: band estimate, else the text's number."""
    if band and band.strip().lower() in SIZE_BANDS:
        return SIZE_BANDS[band.strip().lower()]
    match = _HEADCOUNT.search(text or "")
    if match is None:
        return None
    number = int(match.group().replace(",", ""))
    return number if 0 < number <= _MAX_HEADCOUNT else None


def _detect(columns: Sequence[str], path: Path) -> tuple[str, Mapper]:
    """The list a header belongs to, and the row mapper for it."""
    names = set(columns)
    if {"people", "web", "continent"} <= names:
        return "companies-wikipedia", _wikipedia
    if {"Company", "Amounts raised in different funding rounds", "Website"} <= names:
        return "yc-startups-2005-2014", _yc
    if {"slug", "website", "company_size", "technologies"} <= names:
        return "remote-companies", _remote
    if {"Symbol", "Security", "GICS Sector"} <= names:
        return "sp500", lambda _row: None
    if {"domain", "name"} <= names:
        return path.stem, lambda row: _generic(row, path.stem)
    raise ValueError(f"{path}: unrecognised company list header {list(columns)[:8]}")


def _logged(
    path: Path, source: str, records: Iterable[dict[str, Any] | None]
) -> Iterator[dict[str, Any]]:
    """Pass records through, then log how many rows were read and skipped."""
    counts: Counter[str] = Counter()
    for record in records:
        if record is None:
            counts["skipped"] += 1
            continue
        counts["read"] += 1
        yield record
    log.info(
        "company_file_read",
        path=str(path),
        source=source,
        read=counts["read"],
        skipped=counts["skipped"],
    )


def _company(
    *,
    raw_domain: str | None,
    name: str | None,
    source: str,
    industry: str | None = None,
    employees: int | None = None,
    country: str | None = None,
    region: str | None = None,
    technologies: Iterable[str] = (),
    funding_total_usd: int | None = None,
) -> dict[str, Any] | None:
    """A company record, or None when the row has no name or no usable domain."""
    domain = _domain(raw_domain)
    if domain is None or not name or not name.strip():
        return None
    return {
        "domain": domain,
        "name": name.strip(),
        "industry": _text(industry),
        "employees": employees,
        "country": _text(country),
        "region": _text(region),
        "technologies": [t.strip() for t in technologies if t and t.strip()],
        "funding_total_usd": funding_total_usd,
        "directory_source": source,
    }


def _domain(raw: str | None) -> str | None:
    """The canonical domain of a website cell, or None when it has none."""
    if not raw or not raw.strip():
        return None
    try:
        domain = canonical_domain(raw.strip())
    except ValueError:
        return None
    return domain if "." in domain else None


def _text(value: str | None) -> str | None:
    """Trimmed text, None for blanks."""
    if value is None or not value.strip():
        return None
    return value.strip()


def _int(value: Any) -> int | None:
    """A whole, non-negative count from a cell; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 0 else None
    text = str(value).strip().replace(",", "")
    return int(text) if text.isdigit() else None


def _wikipedia(row: Row) -> dict[str, Any] | None:
    """A row of the Wikipedia/YAGO large-company list."""
    return _company(
        raw_domain=row.get("web"),
        name=row.get("name"),
        source="companies-wikipedia",
        industry=row.get("industry"),
        employees=_int(row.get("people")),
        country=row.get("country"),
        region=row.get("continent"),
    )


def _yc(row: Row) -> dict[str, Any] | None:
    """A row of the Y Combinator 2005-2014 list."""
    categories = (row.get("Categories") or "").split(",")
    return _company(
        raw_domain=row.get("Website"),
        name=row.get("Company"),
        source="yc-startups-2005-2014",
        industry=categories[0],
        country=row.get("Headquarters (Country)"),
        funding_total_usd=parse_funding(
            row.get("Amounts raised in different funding rounds")
        ),
    )


def _remote(row: Row) -> dict[str, Any] | None:
    """A row of the remote-friendly companies list."""
    return _company(
        raw_domain=row.get("website"),
        name=row.get("name"),
        source="remote-companies",
        employees=estimate_employees(
            row.get("company_size"), row.get("company_size_text")
        ),
        region=row.get("region"),
        technologies=(row.get("technologies") or "").split(";"),
    )


def _generic(row: Mapping[str, Any], default_source: str) -> dict[str, Any] | None:
    """A row already in the Avro field names (CSV cells or JSON values)."""
    technologies = row.get("technologies") or []
    if isinstance(technologies, str):
        technologies = technologies.split(";")
    if not isinstance(technologies, list):
        return None
    return _company(
        raw_domain=_str_or_none(row.get("domain")),
        name=_str_or_none(row.get("name")),
        source=_str_or_none(row.get("directory_source")) or default_source,
        industry=_str_or_none(row.get("industry")),
        employees=_int(row.get("employees")),
        country=_str_or_none(row.get("country")),
        region=_str_or_none(row.get("region")),
        technologies=[str(t) for t in technologies],
        funding_total_usd=_int(row.get("funding_total_usd")),
    )


def _str_or_none(value: Any) -> str | None:
    """Text cells as text; anything else (numbers, objects) is not usable text."""
    return value if isinstance(value, str) else None


def _jsonl_rows(lines: Iterable[str], path: Path) -> Iterator[dict[str, Any] | None]:
    """Records of a JSON Lines file in the Avro field names; bad lines are skipped."""
    for line in lines:
        if not line.strip():
            continue
        try:
            decoded = json.loads(line)
        except ValueError:
            yield None
            continue
        yield _generic(decoded, path.stem) if isinstance(decoded, dict) else None
