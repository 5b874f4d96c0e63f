"""Company list readers on slices of the real lists, and their parsers."""

import json
from pathlib import Path

import pytest

from stream_processors.enrichment.company_files import (
    estimate_employees,
    parse_funding,
    read_companies,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "companies"
AVRO_FIELDS = {
    "domain",
    "name",
    "industry",
    "employees",
    "country",
    "region",
    "technologies",
    "funding_total_usd",
    "directory_source",
}


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("$2800000, $2100000, $1200000, $1200000", 7_300_000),
        ("undisclosed amount, $1300000", 1_300_000),
        ("$3,000,000", 3_000_000),
        ("$1200000, undisclosed amount", 1_200_000),
        ("$14.500000, undisclosed amount, $1100000", 1_100_000),
        ("undisclosed amount, undisclosed amount", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_funding(text: str | None, total: int | None) -> None:
    """Rounds add up; commas are digits; undisclosed and corrupt amounts add nothing."""
    assert parse_funding(text) == total


@pytest.mark.parametrize(
    ("band", "text", "employees"),
    [
        ("tiny", "", 5),
        ("Enterprise", "", 4000),
        ("", "~100 currently (5/3/2019) and growing", 100),
        ("", "1,200 people", 1200),
        ("", "growing fast", None),
        (None, None, None),
    ],
)
def test_estimate_employees(
    band: str | None, text: str | None, employees: int | None
) -> None:
    """A size band maps to its estimate; without one the text's number is used."""
    assert estimate_employees(band, text) == employees


def test_wikipedia_rows() -> None:
    """Wikipedia rows give canonical domains from deep URLs, headcount and continent."""
    companies = list(read_companies(FIXTURES / "wikipedia_companies.csv"))

    assert len(companies) == 37
    assert companies[0] == {
        "domain": "sgcc.com.cn",
        "name": "State Grid Corporation of China",
        "industry": "electric utility",
        "employees": 927839,
        "country": "China",
        "region": "Asia",
        "technologies": [],
        "funding_total_usd": None,
        "directory_source": "companies-wikipedia",
    }


def test_yc_rows() -> None:
    """YC rows carry summed funding, first category, country; siteless rows go."""
    companies = {c["name"]: c for c in read_companies(FIXTURES / "yc_startups.csv")}

    assert len(companies) == 46
    assert companies["Curebit"]["domain"] == "talkable.com"
    assert companies["Curebit"]["funding_total_usd"] == 1_200_000
    assert companies["Goldbely"]["funding_total_usd"] == 3_000_000
    assert companies["Curebit"]["industry"] == "E-Commerce"
    assert all(c["employees"] is None for c in companies.values())


def test_remote_rows() -> None:
    """Remote rows carry the tech stack and an employee estimate from the band."""
    companies = {
        c["domain"]: c for c in read_companies(FIXTURES / "remote_companies.csv")
    }

    assert companies["15five.com"]["technologies"] == ["devops", "javascript", "python"]
    assert companies["15five.com"]["employees"] == 100
    assert companies["automattic.com"]["employees"] == 4000
    assert companies["15five.com"]["region"] == "americas-europe"


def test_sp500_has_no_domains() -> None:
    """The S&P 500 list is recognised but yields nothing, having no domain column."""
    assert list(read_companies(FIXTURES / "sp500_constituents.csv")) == []


@pytest.mark.parametrize(
    "name", ["wikipedia_companies", "yc_startups", "remote_companies"]
)
def test_every_record_has_the_avro_shape(name: str) -> None:
    """Every record has exactly the Avro fields and a lowercase, dotted domain."""
    for company in read_companies(FIXTURES / f"{name}.csv"):
        assert set(company) == AVRO_FIELDS
        assert company["domain"] == company["domain"].lower()
        assert "." in company["domain"]
        assert "/" not in company["domain"]


def test_generic_csv_and_jsonl(tmp_path: Path) -> None:
    """Files in Avro field names read back, domains canonical, bad lines skipped."""
    csv_file = tmp_path / "crm_export.csv"
    csv_file.write_text(
        "domain,name,employees,technologies\nHTTPS://WWW.Acme.Example/about,Acme,42,python;go\n"
        ",Nameless Domain,1,\n",
        encoding="utf-8",
    )
    jsonl_file = tmp_path / "directory.jsonl"
    record = {
        "domain": "www.beta.example",
        "name": "Beta",
        "funding_total_usd": 5,
        "directory_source": "crm",
    }
    jsonl_file.write_text(json.dumps(record) + "\nnot json\n[1]\n", encoding="utf-8")

    from_csv = list(read_companies(csv_file))
    from_jsonl = list(read_companies(jsonl_file))

    assert [
        (c["domain"], c["employees"], c["technologies"], c["directory_source"])
        for c in from_csv
    ] == [("acme.example", 42, ["python", "go"], "crm_export")]
    assert [
        (c["domain"], c["funding_total_usd"], c["directory_source"]) for c in from_jsonl
    ] == [("beta.example", 5, "crm")]


def test_unknown_header_is_refused(tmp_path: Path) -> None:
    """A CSV of no known list is an error naming the file, not an empty directory."""
    path = tmp_path / "mystery.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"mystery\.csv"):
        list(read_companies(path))
