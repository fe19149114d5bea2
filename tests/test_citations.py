"""Citations an auditor can follow.

Every `source` in the shipped guideline content (guidelines, fact dictionary, action codes, scores,
overlays, module lists) is a guideline module page, a PMID/DOI, or a stable official URL; no source
is a search-engine query or a staging copy; and no note, help text, comment or golden case cites a
document that is not shipped with the project (the working notes an encoding was made from, a
lecture transcript on disk, a section number of such a document).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import ROOT

CONTENT = sorted((ROOT / "guidelines").rglob("*.yaml"))
CASES = sorted((ROOT / "tests" / "cases").rglob("*.yaml")) + sorted((ROOT / "tests" / "scores").glob("*.yaml"))
DOCS = sorted((ROOT / "docs").glob("*.md"))

# Hosts whose pages are the guideline itself, a publication identifier, or an official body.
GUIDELINE_HOSTS = {"richtlijnendatabase.nl", "palliaweb.nl"}
IDENTIFIER_HOSTS = {"doi.org", "pubmed.ncbi.nlm.nih.gov", "pmc.ncbi.nlm.nih.gov", "www.ncbi.nlm.nih.gov"}
OFFICIAL_HOSTS = {
    "wetten.overheid.nl",  # Dutch legislation
    "zoek.officielebekendmakingen.nl",
    "ema.europa.eu",  # European Medicines Agency
    "asia-spinalinjury.org",  # ISNCSCI, the owner of the ASIA scale
    "ecog-acrin.org",  # the owner of the ECOG scale
    "www.ntvg.nl",  # Nederlands Tijdschrift voor Geneeskunde (journal of record)
    "www.ntvo.nl",  # Nederlands Tijdschrift voor Oncologie (journal of record)
    "repub.eur.nl",  # Erasmus University repository (stable handle)
    "cris.maastrichtuniversity.nl",  # Maastricht University repository (stable handle)
    "nccn.nl",  # host of the Bartels survival calculator the guideline names
    "hl7.org",  # HL7 International: FHIR, mCODE and genomics-reporting specifications
}
ALLOWED_HOSTS = GUIDELINE_HOSTS | IDENTIFIER_HOSTS | OFFICIAL_HOSTS

SEARCH_QUERY = re.compile(r"https?://[^\s\"'<>]*[?&](term|q|query|search|s)=", re.I)
STAGING_HOST = re.compile(r"https?://(?:[\w-]+\.)*(?:staging|stage|test|dev|preview)[.-][^\s\"'<>]*", re.I)
UNSHIPPED = [
    (re.compile(r"/work/|shared/(reference|seeds)"), "a path on the author's machine"),
    (
        re.compile(r"\b(scores|brain-metastases-2020|spinal-metastases|leptomeningeal-metastases-2020)\.md\b"),
        "the working notes the encoding was made from (not shipped)",
    ),
    (re.compile(r"\b[\w-]+\.txt\b"), "a text file that is not shipped"),
    (re.compile(r"\b[Rr]eference (§|[A-Z]{1,2}\d|DP\d|S\d|F\d|T\d|revision|proposal)"), "a section or item number of the unshipped working notes"),
    (re.compile(r"§\d+(\.\d+)? items? \d+"), "an item number of the unshipped working notes"),
]


def _sources(node, where=""):
    """Yield (where, source) for every `source` mapping or string in a loaded YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source" and isinstance(value, (dict, str)):
                yield f"{where}.{key}", value
            yield from _sources(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _sources(value, f"{where}[{i}]")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", CONTENT, ids=_rel)
def test_every_source_url_is_a_module_page_an_identifier_or_official(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    bad = []
    for where, source in _sources(data):
        url = source if isinstance(source, str) else source.get("url")
        if url is None:
            continue  # a module whose address could not be read (modules.yaml says so)
        if url.startswith("urn:guidewalk:seed:"):
            # The lecture that seeded the project: allowed only where the source says it is the lecture.
            tag = "" if isinstance(source, str) else str(source.get("tag", ""))
            if "lecture" not in tag:
                bad.append(f"{where}: lecture URN without tag lecture")
            continue
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.hostname not in ALLOWED_HOSTS:
            bad.append(f"{where}: {url}")
        elif parts.hostname == "pubmed.ncbi.nlm.nih.gov" and not re.fullmatch(r"/\d+/?", parts.path):
            bad.append(f"{where}: PubMed address that is not a PMID: {url}")
    assert not bad, "sources that are not a module page, PMID/DOI or stable official URL:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", CONTENT + CASES + DOCS, ids=_rel)
def test_no_search_urls_staging_hosts_or_unshipped_documents(path):
    text = path.read_text(encoding="utf-8")
    bad = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if SEARCH_QUERY.search(line):
            bad.append(f"{lineno}: search URL: {line.strip()[:140]}")
        if STAGING_HOST.search(line):
            bad.append(f"{lineno}: staging host: {line.strip()[:140]}")
        for pattern, why in UNSHIPPED:
            if pattern.search(line):
                bad.append(f"{lineno}: {why}: {line.strip()[:140]}")
    assert not bad, f"{_rel(path)}:\n" + "\n".join(bad)


def test_the_checks_catch_what_they_are_for():
    """The patterns above fail on the kinds of citation the review found."""
    assert SEARCH_QUERY.search("https://pubmed.ncbi.nlm.nih.gov/?term=Sperduto+2012")
    assert STAGING_HOST.search("https://staging.ntvo.nl/journal-article/x/")
    assert not STAGING_HOST.search("https://www.ntvo.nl/journal-article/x/")
    hits = lambda s: [why for pattern, why in UNSHIPPED if pattern.search(s)]  # noqa: E731
    assert hits("(reference §6.4)")
    assert hits("scores.md §9.1 [V]")
    assert hits("spinal-metastases.md §7 S1")
    assert hits("Reference T3 'indeterminate'")
    assert hits("/work/shared/reference/x")
    assert not hits("module Radiotherapie; M21")
    assert hits("(§6 item 8)")
    assert not hits("Regeling eisen geschiktheid 2000, bijlage §7.2")
