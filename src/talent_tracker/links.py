"""ORCID iDs, and a profile's links as direct URLs an annotator can follow: homepage, DBLP,
Google Scholar, ORCID, LinkedIn. Profiles state them loosely (a DBLP pid `251/5608`, a Scholar user id, a
LinkedIn slug, a full URL); each kind becomes one canonical https URL, or nothing when the
value is not one (a LinkedIn feed page, a `javascript:` link, an ORCID iD whose check digit
is wrong): links are shown in pages, so only http(s) URLs of the expected site get through.
"""

from __future__ import annotations

import re
import urllib.parse

KINDS = ("homepage", "dblp", "google_scholar", "orcid", "linkedin")
LABELS = {"homepage": "Homepage", "dblp": "DBLP", "google_scholar": "Google Scholar", "orcid": "ORCID",
          "linkedin": "LinkedIn"}
MAX_URL = 500
_DBLP_PID = re.compile(r"(?:pid/)?([0-9a-z]{1,6}/[0-9A-Za-z_=-]{1,60})(?:\.html)?")
_SCHOLAR_USER = re.compile(r"[0-9A-Za-z_-]{12}")
_DBLP_PERSON = re.compile(r"pers/(hd/)?[a-z0-9=]/[\w:=.-]{1,100}")
_LINKEDIN_SLUG = re.compile(r"[\w%.-]{3,100}")
_DBLP_HOST = re.compile(r"(www\.)?dblp\.(org|uni-trier\.de)")
_SCHOLAR_HOST = re.compile(r"scholar\.google\.[a-z]{2,3}(\.[a-z]{2})?")
_LINKEDIN_HOST = re.compile(r"([a-z]{2,3}\.)?linkedin\.c(om|n)")
_ORCID = re.compile(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]")
_ORCID_PREFIX = re.compile(r"^(https?://)?(www\.)?orcid\.org/", re.IGNORECASE)


def check_digit(base: str) -> str:
    """ISO 7064 MOD 11-2 over the 15 base digits of an ORCID iD."""
    total = 0
    for digit in base:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def orcid_id(value: object) -> str | None:
    """`0000-0002-1825-0097` from an ORCID iD or its URL; None when malformed or the check digit is wrong."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    found = _ORCID_PREFIX.sub("", value.strip()).strip("/").upper()
    if not _ORCID.fullmatch(found):
        return None
    digits = found.replace("-", "")
    return found if check_digit(digits[:15]) == digits[15] else None


def url(kind: str, value: str | None) -> str | None:
    """The canonical URL of one link, or None when `value` is not a link of that kind."""
    value = (value or "").strip()
    if not value or len(value) > MAX_URL or kind not in KINDS:
        return None
    return _CANONICAL[kind](value)


def _homepage(value: str) -> str | None:
    if "://" not in value and re.fullmatch(r"[\w.-]+\.[a-z]{2,}(/\S*)?", value, re.IGNORECASE):
        value = "https://" + value
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        return None
    return value


def _site(value: str, host: re.Pattern) -> urllib.parse.SplitResult | None:
    """`value` as an http(s) URL whose host matches `host`, else None."""
    parts = urllib.parse.urlsplit(value if "://" in value else "https://" + value)
    if parts.scheme in ("http", "https") and host.fullmatch((parts.hostname or "").lower()):
        return parts
    return None


def _dblp(value: str) -> str | None:
    if found := _DBLP_PID.fullmatch(value):
        return f"https://dblp.org/pid/{found.group(1)}.html"
    path = (parts.path if (parts := _site(value, _DBLP_HOST)) else "").strip("/")
    if found := _DBLP_PID.fullmatch(path):
        return f"https://dblp.org/pid/{found.group(1)}.html"
    if path.startswith("pers/") and _DBLP_PERSON.fullmatch(path):  # the older person pages still resolve
        return f"https://dblp.org/{path}"
    return None


def _scholar(value: str) -> str | None:
    user = value
    if not _SCHOLAR_USER.fullmatch(value):
        parts = _site(value, _SCHOLAR_HOST)
        user = (urllib.parse.parse_qs(parts.query).get("user") or [""])[0] if parts else ""
        if not _SCHOLAR_USER.fullmatch(user):
            return None  # a Scholar page of no one (`citations?hl=en`)
    return f"https://scholar.google.com/citations?user={user}"


def _orcid(value: str) -> str | None:
    found = _ORCID.search(value.upper())  # `my-orcid?orcid=...`, `http://  0000-...`
    return f"https://orcid.org/{identifier}" if found and (identifier := orcid_id(found.group(0))) else None


def _linkedin(value: str) -> str | None:
    slug = value.split("?")[0].strip("/")
    if "linkedin." in value.lower():  # a URL: only a member page (`/in/slug`, `/pub/slug`), not a feed
        path = (parts.path if (parts := _site(value, _LINKEDIN_HOST)) else "").strip("/").split("/")
        at = next((i for i, part in enumerate(path) if part in ("in", "pub")), len(path))  # `/mwlite/in/slug`
        slug = path[at + 1] if at + 1 < len(path) else ""
    return f"https://www.linkedin.com/in/{slug}" if _LINKEDIN_SLUG.fullmatch(slug) else None


_CANONICAL = {"homepage": _homepage, "dblp": _dblp, "google_scholar": _scholar, "orcid": _orcid,
              "linkedin": _linkedin}
