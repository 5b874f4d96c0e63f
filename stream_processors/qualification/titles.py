"""Job title parsing: seniority, department and whether the text is a job title at all.

Persona rules match on these three facts instead of on raw text, so one parser
decides what "Sr. Dir., Eng." means for every workspace. The parser is a small
hand-written lexicon, not a model: its decisions can be read, tested and argued with.
Its agreement with hand labels of real titles (O*NET reported titles) is measured in
``tests/unit/qualification/test_title_agreement.py``.

Conventions the lexicon follows:

- Seniority is the highest rank any marker names ("Senior Vice President" is ``vp``),
  except that "assistant"/"associate" before a rank lowers it one step and an
  intern marker wins over ranks below ``manager``.
- A professional title without rank markers is ``individual``; text that is not a
  job title (honorifics, placeholders, joke titles, empty) gets ``None`` for both.
- Department comes from the strongest functional word: a named function (sales,
  data, finance...) beats a role noun (engineer, designer) which beats a weak
  modifier (product, operations, business); the earliest wins a tie.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

SENIORITIES: Final = (
    "c_level",
    "vp",
    "head",
    "director",
    "manager",
    "lead",
    "senior",
    "individual",
    "intern",
)
DEPARTMENTS: Final = (
    "engineering",
    "product",
    "marketing",
    "sales",
    "customer_success",
    "operations",
    "finance",
    "hr",
    "legal",
    "it",
    "data",
    "design",
    "executive",
    "other",
)

# Longer text is a sentence or a page title, not a job title; the cap also bounds
# the work one signal can cause.
_MAX_CHARS: Final = 200

_RANK: Final = {name: len(SENIORITIES) - i for i, name in enumerate(SENIORITIES)}
_DEMOTED: Final = {
    "vp": "director",
    "head": "manager",
    "director": "manager",
    "manager": "lead",
}

_ABBREVIATIONS: Final[dict[str, tuple[str, ...]]] = {
    "ceo": ("chief", "executive", "officer"),
    "cto": ("chief", "technology", "officer"),
    "cfo": ("chief", "financial", "officer"),
    "coo": ("chief", "operating", "officer"),
    "cmo": ("chief", "marketing", "officer"),
    "cro": ("chief", "revenue", "officer"),
    "cio": ("chief", "information", "officer"),
    "ciso": ("chief", "information", "security", "officer"),
    "cdo": ("chief", "data", "officer"),
    "cpo": ("chief", "product", "officer"),
    "chro": ("chief", "human", "resources", "officer"),
    "cso": ("chief", "officer"),
    "cco": ("chief", "officer"),
    "cao": ("chief", "officer"),
    "svp": ("senior", "vp"),
    "evp": ("executive", "vp"),
    "avp": ("assistant", "vp"),
    "dir": ("director",),
    "mgr": ("manager",),
    "mngr": ("manager",),
    "sr": ("senior",),
    "snr": ("senior",),
    "jr": ("junior",),
    "asst": ("assistant",),
    "assoc": ("associate",),
    "eng": ("engineering",),
    "engr": ("engineer",),
    "mktg": ("marketing",),
    "qa": ("quality", "assurance"),
    "gm": ("general", "manager"),
    "csm": ("customer", "success", "manager"),
    "sdr": ("sales", "development", "representative"),
    "bdr": ("business", "development", "representative"),
    "ux": ("design",),
    "ui": ("design",),
    "swe": ("software", "engineer"),
    "sre": ("site", "reliability", "engineer"),
    "pr": ("public", "relations"),
}

# Multi-word spellings folded to one token before any lookup.
_JOINS: Final[dict[tuple[str, ...], str]] = {
    ("vice", "president"): "vp",
    ("vice", "presidents"): "vp",
    ("co", "founder"): "cofounder",
    ("managing", "director"): "managing_director",
    ("managing", "partner"): "managing_partner",
    ("general", "partner"): "managing_partner",
    ("general", "manager"): "general_manager",
    ("chief", "of", "staff"): "chief_of_staff",
    ("product", "owner"): "product_owner",
    ("process", "owner"): "product_owner",
    ("account", "owner"): "product_owner",
    ("working", "student"): "intern",
}

_WHIMSY: Final = frozenset(
    {
        "ninja",
        "rockstar",
        "jedi",
        "wizard",
        "guru",
        "overlord",
        "overlords",
        "unicorn",
        "superhero",
        "superstar",
        "galactic",
        "intergalactic",
        "pirate",
        "samurai",
        "sorcerer",
        "magician",
        "happiness",
        "awesomeness",
        "awesome",
        "troublemaker",
        "dreamer",
        "whisperer",
        "poobah",
        "honcho",
        "demigod",
        "kahuna",
        "mastermind",
        "badass",
        "emperor",
        "empress",
        "warlord",
        "fun",
        "vibes",
        "chaos",
        "everything",
    }
)
_WHIMSY_PHRASES: Final = (
    ("rock", "star"),
    ("big", "cheese"),
    ("top", "dog"),
    ("bottle", "washer"),
    ("head", "honcho"),
)
_HONORIFICS: Final = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "madame",
        "dame",
        "lord",
        "lady",
        "rev",
        "reverend",
        "hon",
        "mister",
        "herr",
        "frau",
        "mme",
        "mlle",
        "senior",
        "junior",
    }
)
_PLACEHOLDERS: Final = frozenset(
    {
        "n",
        "a",
        "na",
        "none",
        "null",
        "nil",
        "unknown",
        "test",
        "title",
        "job",
        "tbd",
        "todo",
        "other",
        "self",
        "me",
        "asdf",
        "xxx",
        "x",
        "welcome",
        "untitled",
    }
)

# Markers that lower-rank words are ignored after, because the phrase names a thing,
# not a rank ("Senior Adults Director", "Lead Generation Specialist").
_NOT_SENIOR_AFTER: Final = frozenset(
    {"adult", "adults", "citizen", "citizens", "living", "care", "center", "housing"}
)
_NOT_LEAD_AFTER: Final = frozenset(
    {"generation", "gen", "abatement", "paint", "poisoning", "qualification"}
)
_HEAD_LEAD_NOUNS: Final = frozenset(
    {
        "cook",
        "chef",
        "nurse",
        "coach",
        "teacher",
        "waiter",
        "bartender",
        "gardener",
        "lifeguard",
        "custodian",
        "cashier",
        "teller",
        "mechanic",
        "engineer",
        "designer",
        "developer",
        "counselor",
        "librarian",
        "buyer",
        "trainer",
        "groundskeeper",
        "housekeeper",
        "baker",
        "brewer",
        "winemaker",
    }
)
_SENIOR_ROLE_NOUNS: Final = frozenset(
    {
        "engineer",
        "engineering",
        "scientist",
        "software",
        "data",
        "developer",
        "designer",
        "researcher",
        "product",
        "architect",
        "analyst",
        "consultant",
        "investigator",
        "ux",
        "design",
        "machine",
    }
)
_FINANCE_CONTROLLER_BEFORE: Final = frozenset(
    {"corporate", "financial", "finance", "group", "division", "assistant", "plant"}
)
_BREAKS: Final = frozenset({",", "/", "|", ";", ":", "and", "-"})
# Words before "partner" that keep it a partner of the firm.
_FIRM_PARTNER_BEFORE: Final = frozenset(
    {"senior", "equity", "founding", "junior", "salaried", "name", "associate"}
)

_SIMPLE_RANKS: Final[dict[str, str]] = {
    "vp": "vp",
    "vicepresident": "vp",
    "president": "c_level",
    "founder": "c_level",
    "cofounder": "c_level",
    "owner": "c_level",
    "proprietor": "c_level",
    "chairman": "c_level",
    "chairwoman": "c_level",
    "chairperson": "c_level",
    "managing_director": "c_level",
    "managing_partner": "c_level",
    "geschaftsfuhrer": "c_level",
    "geschäftsführer": "c_level",
    "director": "director",
    "directora": "director",
    "directeur": "director",
    "directrice": "director",
    "direktor": "director",
    "general_manager": "director",
    "chief_of_staff": "director",
    "chair": "director",
    "manager": "manager",
    "managers": "manager",
    "management": "manager",
    "supervisor": "manager",
    "superintendent": "manager",
    "gerente": "manager",
    "leiter": "head",
    "leiterin": "head",
    "jefe": "head",
    "leader": "lead",
    "foreman": "lead",
    "forewoman": "lead",
    "captain": "lead",
    "teamlead": "lead",
    "intern": "intern",
    "interns": "intern",
    "internship": "intern",
    "trainee": "intern",
    "apprentice": "intern",
    "praktikant": "intern",
    "werkstudent": "intern",
    "stagiaire": "intern",
}

# Department lexicon: phrase -> (department, strength). 3: a named function,
# 2: a role noun of one function, 1: a weak modifier that other words override.
_DEPARTMENT_WORDS: Final[dict[tuple[str, ...], tuple[str, int]]] = {}


def _words(department: str, strength: int, *phrases: str) -> None:
    """Register lexicon phrases, each a space-separated token sequence."""
    for phrase in phrases:
        _DEPARTMENT_WORDS[tuple(phrase.split())] = (department, strength)


_words(
    "executive",
    4,
    "chief executive officer",
)
_words("engineering", 4, "chief technology officer", "research and development")
_words("engineering", 4, "r and d")
_words("it", 4, "chief information officer", "chief information security officer")
_words("sales", 4, "chief revenue officer", "business development", "account executive")
_words("hr", 4, "learning and development", "organizational development")
_words("operations", 4, "data entry", "chief operating officer")
_words("design", 4, "landscape architect", "art director", "creative director")
_words("it", 4, "desktop support", "help desk", "helpdesk", "information security")
_words(
    "sales",
    3,
    "sales",
    "salesperson",
    "salesman",
    "saleswoman",
    "salespeople",
    "revenue",
    "account manager",
    "account management",
    "account representative",
    "leasing",
    "realtor",
    "broker",
    "inside sales",
    "presales",
    "partnerships",
)
_words(
    "marketing",
    3,
    "marketing",
    "marketer",
    "brand",
    "advertising",
    "communications",
    "promotions",
    "public relations",
    "growth",
    "demand generation",
    "lead generation",
    "seo",
    "social media",
)
_words(
    "data",
    3,
    "data",
    "analytics",
    "statistician",
    "statistics",
    "statistical",
    "machine learning",
    "ml",
    "ai",
    "bi",
    "intelligence",
    "data scientist",
)
_words(
    "finance",
    3,
    "finance",
    "financial",
    "accounting",
    "accountant",
    "accounts receivable",
    "accounts payable",
    "accounts payables",
    "receivable",
    "payable",
    "tax",
    "payroll",
    "credit",
    "treasury",
    "treasurer",
    "investment",
    "investments",
    "fixed income",
    "audit",
    "auditor",
    "bookkeeper",
    "bookkeeping",
    "corporate controller",
    "financial controller",
    "finance controller",
    "comptroller",
    "biller",
    "billing",
    "fp and a",
    "actuary",
    "underwriter",
)
_words(
    "hr",
    3,
    "hr",
    "human resources",
    "people operations",
    "talent",
    "recruiter",
    "recruiting",
    "recruitment",
    "compensation",
    "benefits",
    "diversity",
    "workforce",
)
_words(
    "legal",
    3,
    "legal",
    "counsel",
    "attorney",
    "lawyer",
    "paralegal",
    "compliance",
    "contracts",
    "solicitor",
)
_words(
    "it",
    3,
    "information technology",
    "information systems",
    "network",
    "networks",
    "networking",
    "systems administrator",
    "sysadmin",
    "webmaster",
    "informatics",
    "computing",
    "computer",
    "telecommunication",
    "telecommunications",
    "telecom",
    "infrastructure",
    "cybersecurity",
    "devops",
    "cloud",
    "database administrator",
)
_words(
    "customer_success",
    3,
    "customer success",
    "customer service",
    "customer services",
    "customer support",
    "customer experience",
    "customer care",
    "client services",
    "client success",
    "guest services",
    "guest relations",
    "onboarding",
)
_words(
    "engineering",
    2,
    "engineer",
    "engineers",
    "engineering",
    "developer",
    "programmer",
    "software",
    "firmware",
    "hardware",
    "frontend",
    "backend",
    "full stack",
    "fullstack",
    "drafter",
    "drafting",
    "automation",
    "architect",
    "process technician",
    "technology",
)
_words(
    "design",
    2,
    "designer",
    "graphic",
    "illustrator",
    "ux",
)
_words("product", 1, "product", "product_owner")
_words("design", 1, "design", "creative")
_words(
    "operations",
    1,
    "operations",
    "operating",
    "ops",
    "logistics",
    "supply chain",
    "shipping",
    "distribution",
    "warehouse",
    "purchasing",
    "procurement",
    "buyer",
    "production",
    "manufacturing",
    "quality",
    "administrative",
    "administration",
    "office",
    "receptionist",
    "clerk",
    "facilities",
    "business",
    "secretary",
)
_words("customer_success", 1, "support")
_words(
    "executive",
    0,
    "president",
    "founder",
    "cofounder",
    "owner",
    "proprietor",
    "chairman",
    "chairwoman",
    "managing_director",
    "managing_partner",
    "general_manager",
    "chief_of_staff",
    "executive vp",
    "executive director",
    "executive officer",
    "geschäftsführer",
)

_LONGEST_PHRASE: Final = max(len(phrase) for phrase in _DEPARTMENT_WORDS)
_TOKEN: Final = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[,/|;:-]")
_PARENTHETICAL: Final = re.compile(r"\([^)]*\)?")
_EMPLOYER_SUFFIX: Final = re.compile(r"\s(?:at|@)\s.*$|@.*$")


@dataclass(frozen=True, slots=True)
class TitleProfile:
    """What a job title says about its holder, as persona rules consume it."""

    seniority: str | None
    department: str | None
    is_professional: bool


_UNPROFESSIONAL: Final = TitleProfile(None, None, False)


@functools.lru_cache(maxsize=8192)
def parse_title(title: str | None) -> TitleProfile:
    """Parse one free-text job title; cached because feeds repeat the same titles."""
    if not title:
        return _UNPROFESSIONAL
    tokens = _tokens(title)
    words = [token for token in tokens if token not in _BREAKS]
    if not _is_professional(words):
        return _UNPROFESSIONAL

    return TitleProfile(
        seniority=_seniority(tokens),
        department=_department(tokens),
        is_professional=True,
    )


def _tokens(title: str) -> list[str]:
    """Lowercased tokens with abbreviations expanded and fixed phrases joined."""
    text = unicodedata.normalize("NFKC", title[: _MAX_CHARS * 2])
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    # "IT" is the department only when written in capitals; "it" is a pronoun.
    text = re.sub(r"\bIT\b", " information technology ", text)
    text = text.lower()[:_MAX_CHARS]

    without_notes = _PARENTHETICAL.sub(" ", text)
    if re.search(r"[^\W\d_]", without_notes):
        text = without_notes
    stripped = _EMPLOYER_SUFFIX.sub("", text)
    if re.search(r"[^\W\d_]", stripped):
        text = stripped
    text = text.replace("&", " and ").replace("+", " and ").replace(".", "")
    text = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", text)
    raw = [token.removesuffix("'s") for token in _TOKEN.findall(text)]

    expanded: list[str] = []
    for token in raw:
        expanded.extend(_ABBREVIATIONS.get(token, (token,)))
    if "to" in expanded[1:]:
        # "Assistant to the CEO": what follows "to" is the holder's boss.
        expanded = expanded[: expanded.index("to", 1)]
    return _join_phrases(expanded)


def _join_phrases(tokens: list[str]) -> list[str]:
    """Fold the multi-word spellings of ``_JOINS`` into their single token."""
    joined: list[str] = []
    index = 0
    while index < len(tokens):
        for phrase, replacement in _JOINS.items():
            if tuple(tokens[index : index + len(phrase)]) == phrase:
                joined.append(replacement)
                index += len(phrase)
                break
        else:
            joined.append(tokens[index])
            index += 1
    return joined


def _is_professional(words: list[str]) -> bool:
    """False for empty text, bare honorifics, placeholders and joke titles."""
    if not words or not any(any(ch.isalpha() for ch in word) for word in words):
        return False
    if all(word in _HONORIFICS for word in words):
        return False
    if all(word in _PLACEHOLDERS or word.isdigit() for word in words):
        return False
    if any(word in _WHIMSY for word in words):
        return False
    pairs = set(itertools.pairwise(words))
    return not any(phrase in pairs for phrase in _WHIMSY_PHRASES)


def _seniority(tokens: list[str]) -> str:
    """The highest rank any marker in the title names."""
    ranks = [_marker_rank(tokens, index) for index in range(len(tokens))]
    found = [rank for rank in ranks if rank is not None]
    if not found:
        return "individual"

    best = max(found, key=_RANK.__getitem__)
    if "intern" in found and _RANK[best] < _RANK["manager"]:
        return "intern"
    return best


def _marker_rank(tokens: list[str], index: int) -> str | None:
    """The rank the token at ``index`` names in its context, if any."""
    token = tokens[index]
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    before = tokens[index - 1] if index > 0 else None

    rank = _contextual_rank(tokens, token, before, after)
    if rank is None:
        rank = _SIMPLE_RANKS.get(token)
    if rank is None or rank == "intern":
        return rank

    demoters = {"assistant", "associate", "asst"}
    if demoters.intersection(tokens[max(0, index - 2) : index]):
        return _DEMOTED.get(rank, rank)
    return rank


def _contextual_rank(
    tokens: list[str], word: str, before: str | None, after: str | None
) -> str | None:
    """Ranks of the words whose meaning depends on their neighbours."""
    if word == "chief":
        return "c_level" if "officer" in tokens else "director"
    if word == "head":
        if after is None or after == "of" or after in _BREAKS:
            return "head"
        return "lead" if after in _HEAD_LEAD_NOUNS else None
    if word == "principal":
        # "School Principal", "Principal of ..." run a school; "Principal
        # Solutions Architect" is a senior individual contributor.
        if after is None or after in _BREAKS or after == "of":
            return "director"
        return "senior"
    if word == "partner":
        # An equity partner of a firm ranks as a director; an "HR Business
        # Partner" or a "Talent Acquisition Partner" is an individual contributor.
        if before is None or before in _BREAKS or before in _FIRM_PARTNER_BEFORE:
            return "director"
        return None
    if word == "staff":
        return "senior" if after in _SENIOR_ROLE_NOUNS else None
    if word == "senior":
        return None if after in _NOT_SENIOR_AFTER else "senior"
    if word == "lead":
        return None if after in _NOT_LEAD_AFTER else "lead"
    if word == "controller":
        return (
            "director"
            if before is None or before in _FINANCE_CONTROLLER_BEFORE
            else None
        )
    return None


def _department(tokens: list[str]) -> str:
    """The department of the strongest functional phrase; earliest wins a tie."""
    best: tuple[int, int, str] | None = None
    index = 0
    while index < len(tokens):
        match = _phrase_at(tokens, index)
        if match is None:
            index += 1
            continue

        length, department, strength = match
        candidate = (strength, -index, department)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
        index += length
    return best[2] if best is not None else "other"


def _phrase_at(tokens: list[str], index: int) -> tuple[int, str, int] | None:
    """The longest lexicon phrase at ``index``: length, department, strength."""
    for length in range(min(_LONGEST_PHRASE, len(tokens) - index), 0, -1):
        found = _DEPARTMENT_WORDS.get(tuple(tokens[index : index + length]))
        if found is not None:
            return length, found[0], found[1]
    return None
