"""Title parsing: ranks, functions, abbreviations and non-titles."""

import pytest

from stream_processors.qualification.titles import TitleProfile, parse_title


@pytest.mark.parametrize(
    ("title", "seniority", "department"),
    [
        ("VP of Marketing", "vp", "marketing"),
        ("SVP, Sales", "vp", "sales"),
        ("EVP", "vp", "executive"),
        ("Sr. Dir., Eng.", "director", "engineering"),
        ("Head of Growth", "head", "marketing"),
        ("Head of Growth \u2028 EMEA", "head", "marketing"),
        ("CEO", "c_level", "executive"),
        ("CTO", "c_level", "engineering"),
        ("CFO", "c_level", "finance"),
        ("COO", "c_level", "operations"),
        ("CMO", "c_level", "marketing"),
        ("CRO", "c_level", "sales"),
        ("Co-Founder & CTO", "c_level", "engineering"),
        ("Co Founder at Clearbit", "c_level", "executive"),
        ("Sales Mgr", "manager", "sales"),
        ("Jr. Data Analyst", "individual", "data"),
        ("Dir. of Customer Success", "director", "customer_success"),
        ("IT Manager", "manager", "it"),
        ("Head of IT", "head", "it"),
        ("Staff Software Engineer", "senior", "engineering"),
        ("Marketing Intern", "intern", "marketing"),
        ("Assistant Vice President", "director", "other"),
        ("Senior Adults Director", "director", "other"),
        ("Well Head Pumper", "individual", "other"),
        ("Executive Assistant to the CEO", "individual", "other"),
        ("Product Owner", "individual", "product"),
        ("Lead Generation Specialist", "individual", "marketing"),
        ("Software Engineer @ Acme", "individual", "engineering"),
        ("Salesperson", "individual", "sales"),
        ("R&D Director", "director", "engineering"),
        ("Principal Solutions Architect", "senior", "engineering"),
        ("School Principal", "director", "other"),
        ("Partner, Deloitte", "director", "other"),
        ("HR Business Partner", "individual", "hr"),
        ("Talent Acquisition Partner", "individual", "hr"),
    ],
)
def test_real_titles(title: str, seniority: str, department: str) -> None:
    """Common spellings of real titles give the expected rank and function."""
    expected = TitleProfile(seniority, department, is_professional=True)

    assert parse_title(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        None,
        "",
        "   ",
        "\u2028",
        "Mr",
        "Mr.",
        "Dr.",
        "Mrs",
        "N/A",
        "test2",
        "title",
        "...",
        "Chief Happiness Officer",
        "Ninja",
        "Code Ninja",
        "Rockstar Developer",
        "Rock Star Engineer",
        "Galactic Overlord",
        "Head Honcho",
        "Marketing Wizard",
        "Chief Everything Officer",
    ],
)
def test_non_titles(title: str | None) -> None:
    """Honorifics, placeholders, joke titles and empty text are not professional."""
    expected = TitleProfile(None, None, is_professional=False)

    assert parse_title(title) == expected


def test_honorific_with_a_title_is_professional() -> None:
    """An honorific in front of a real title does not hide the title."""
    assert parse_title("Dr. Director of Engineering").seniority == "director"


def test_long_title_is_bounded() -> None:
    """A huge value parses quickly from its first characters only."""
    profile = parse_title("VP of Sales " + "x" * 100_000)

    assert profile.seniority == "vp"
