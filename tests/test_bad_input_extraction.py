"""Bad input to extraction: junk bytes, other languages, very long texts, control characters.

``extraction/text_checks.py`` decides before spaCy; these tests hold it to what a user sees:
refusals fast and exact, warnings exact, offsets into ``Article.text()`` still right.
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from pmlkg.extraction.extractor import Extractor, article_from_text
from pmlkg.extraction.pipeline import MAX_CHARS
from pmlkg.extraction.text_checks import (
    REFUSED,
    decode_text,
    detect_language,
    refusal,
    refused,
    truncate,
)
from pmlkg.graph.stores import GraphStore
from pmlkg.ingest.records import AbstractSection, Article
from pmlkg.build import build_graph

PMLKG = [sys.executable, "-m", "pmlkg"]
NOT_TEXT = "does not look like text: "
ENGLISH_ONLY = ("extraction is English-only, so only entities with a lexicon id (genes, drugs, immune defects) "
                "are kept and patients may be missing")

EN = ("Progressive multifocal leukoencephalopathy in X-linked hyper-IgM syndrome\n\n"
      "A 34-year-old man with X-linked hyper-IgM syndrome caused by a CD40LG mutation had received "
      "intravenous immunoglobulin since childhood and was treated with rituximab for autoimmune cytopenia. "
      "Two years later he developed progressive weakness of the left arm, and magnetic resonance imaging "
      "showed confluent white matter lesions without enhancement. JC virus DNA was detected in the "
      "cerebrospinal fluid by PCR, and progressive multifocal leukoencephalopathy was diagnosed. "
      "His CD4 count was 210 cells/uL. Despite treatment with mefloquine and mirtazapine he died four months "
      "after the diagnosis.")
FR = ("Leucoencéphalopathie multifocale progressive chez un patient atteint d'un syndrome hyper-IgM\n\n"
      "Nous rapportons le cas d'un homme de 34 ans atteint d'un syndrome hyper-IgM lié à l'X, dû à une mutation "
      "du gène CD40LG. Il avait reçu du rituximab pour une cytopénie auto-immune. Deux ans plus tard, il a "
      "présenté une faiblesse progressive du bras gauche et l'imagerie par résonance magnétique a montré des "
      "lésions de la substance blanche. L'ADN du virus JC a été détecté dans le liquide céphalorachidien par PCR "
      "et le diagnostic de leucoencéphalopathie multifocale progressive a été posé. Malgré un traitement par "
      "méfloquine, il est décédé quatre mois après le diagnostic.")
DE = ("Progressive multifokale Leukenzephalopathie bei einem Patienten mit Hyper-IgM-Syndrom\n\n"
      "Wir berichten über einen 34-jährigen Mann mit X-chromosomalem Hyper-IgM-Syndrom aufgrund einer Mutation "
      "im CD40LG-Gen. Er hatte wegen einer autoimmunen Zytopenie Rituximab erhalten. Zwei Jahre später "
      "entwickelte er eine fortschreitende Schwäche des linken Arms, und die Magnetresonanztomographie zeigte "
      "Läsionen der weißen Substanz. Die DNA des JC-Virus wurde im Liquor mittels PCR nachgewiesen, und es wurde "
      "die Diagnose einer progressiven multifokalen Leukenzephalopathie gestellt. Trotz einer Behandlung mit "
      "Mefloquin starb er vier Monate nach der Diagnose.")
ZH = ("高IgM综合征患者的进行性多灶性白质脑病\n\n"
      "我们报告一例34岁男性患者，因CD40LG基因突变导致X连锁高IgM综合征。他曾因自身免疫性血细胞减少接受利妥昔单抗治疗。"
      "两年后，他出现左臂进行性无力，磁共振成像显示白质病变。通过PCR在脑脊液中检测到JC病毒DNA，"
      "诊断为进行性多灶性白质脑病。尽管接受了甲氟喹治疗，他在确诊四个月后死亡。")
ES = ("Presentamos el caso de un varón de 34 años con síndrome de hiper-IgM ligado al X por una mutación en el gen "
      "CD40LG. Había recibido rituximab por una citopenia autoinmune y falleció cuatro meses después del diagnóstico.")
IT = ("Descriviamo il caso di un uomo di 34 anni con sindrome da iper-IgM legata all'X dovuta a una mutazione del "
      "gene CD40LG. Aveva ricevuto rituximab per una citopenia autoimmune ed è deceduto quattro mesi dopo la diagnosi.")
PT = ("Relatamos o caso de um homem de 34 anos com síndrome de hiper-IgM ligada ao X por uma mutação no gene "
      "CD40LG. Ele havia recebido rituximabe para uma citopenia autoimune e morreu quatro meses após o diagnóstico.")
NL = ("Wij beschrijven een 34-jarige man met X-gebonden hyper-IgM-syndroom door een mutatie in het CD40LG-gen. "
      "Hij had rituximab gekregen voor een auto-immuun cytopenie en overleed vier maanden na de diagnose.")


def _random_bytes(n: int = 200_000, seed: int = 1234) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


# --- not text ---------------------------------------------------------------------------------

def test_random_bytes_are_refused_in_milliseconds(extractor: Extractor) -> None:
    article = article_from_text(_random_bytes().decode("utf-8", errors="replace"))
    tracemalloc.start()
    t0 = time.perf_counter()
    ex = extractor.extract(article)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 10  # measured 0.02 s; the pipeline took 20-48 s and 1.1 GB on it
    assert peak < 64 * 2**20  # the check only: a few copies of the 100,000 characters it reads
    assert (ex.entities, ex.patients, ex.about_pml, ex.is_case) == ([], [], False, False)
    assert ex.language == "und"
    assert ex.warnings == [REFUSED + NOT_TEXT + "44% of its characters are undecodable bytes (U+FFFD)"]
    assert refused(ex.warnings) == NOT_TEXT + "44% of its characters are undecodable bytes (U+FFFD)"


def _junk() -> dict[str, str]:
    raw = _random_bytes()
    r = random.Random(99)
    return {
        "latin-1": raw.decode("latin-1"),
        "windows-1252": raw.decode("cp1252", errors="replace"),
        "base64 lines": base64.encodebytes(raw).decode(),
        "base64 flat": base64.b64encode(raw).decode(),
        "hex dump": "\n".join(f"{i:08x}: " + " ".join(raw[i + j:i + j + 2].hex() for j in range(0, 16, 2))
                              for i in range(0, 50_000, 16)),
        "hex flat": raw[:50_000].hex(),
        "random printable": "".join(r.choice(string.printable[:95]) for _ in range(50_000)),
        "random printable words": " ".join("".join(r.choice(string.printable[:94]) for _ in range(r.randint(1, 9)))
                                           for _ in range(8_000)),
        "NUL bytes": "\x00" * 1000,
    }


JUNK_REASONS = {
    "latin-1": "24% of its characters are control characters",
    "windows-1252": "12% of its characters are control characters",
    "base64 lines": "100% of it is runs of over 40 characters without a space (encoded data such as base64 or hex?)",
    "base64 flat": "100% of it is runs of over 40 characters without a space (encoded data such as base64 or hex?)",
    "hex dump": "only 31% of its characters are letters",
    "hex flat": "only 37% of its characters are letters",
    "random printable": "93% of it is runs of over 40 characters without a space (encoded data such as base64 "
                        "or hex?)",
    "random printable words": "only 40% of its tokens look like words",
    "NUL bytes": "100% of its characters are control characters",
}


@pytest.mark.parametrize("kind", list(JUNK_REASONS))
def test_every_kind_of_junk_is_refused_with_its_reason(kind: str) -> None:
    assert refusal(_junk()[kind]) == NOT_TEXT + JUNK_REASONS[kind]


@pytest.mark.parametrize("text", [EN, FR, DE, ZH, ES, IT, PT, NL, "", "CD40LG", "12345"])
def test_real_text_is_not_refused(text: str) -> None:
    assert refusal(text) is None


def test_cli_refuses_random_bytes_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(_random_bytes())
    t0 = time.monotonic()
    proc = subprocess.run([*PMLKG, "extract", "--text", str(path)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert time.monotonic() - t0 < 15  # refused before the pipeline loads: about 2 s, mostly imports
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (f"error: {path}: not extracted: {NOT_TEXT}44% of its characters are undecodable bytes "
                           "(U+FFFD)\n")
    stdin = subprocess.run([*PMLKG, "extract", "--text", "-"], input=base64.b64encode(_random_bytes(3000)),
                           capture_output=True, timeout=120, check=False)
    assert stdin.returncode == 2
    assert stdin.stderr.decode() == ("error: standard input: not extracted: does not look like text: 100% of it is "
                                     "runs of over 40 characters without a space (encoded data such as base64 "
                                     "or hex?)\n")


# --- languages --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "language", "name"), [(FR, "fr", "French"), (DE, "de", "German"),
                                                         (ZH, "zh", "Chinese")])
def test_other_languages_are_named_warned_and_keep_only_normalised_entities(
        extractor: Extractor, text: str, language: str, name: str) -> None:
    article = article_from_text(text)
    ex = extractor.extract(article)
    assert ex.language == language
    assert ex.warnings == [f"text is in {name} ({language}), not English: {ENGLISH_ONLY}"]
    assert [e for e in ex.entities if e.id is None] == []
    ids = {e.id for e in ex.entities}
    if language == "zh":  # the English tokenizer sees one word per sentence: nothing matches
        assert ids == set()
    else:
        assert {"CD40LG", "rituximab", "mefloquine"} <= ids
    for e in ex.entities:
        assert article.text()[e.start:e.end] == e.text


def test_english_is_en_without_warning(extractor: Extractor) -> None:
    ex = extractor.extract(article_from_text(EN))
    assert (ex.language, ex.warnings) == ("en", [])
    assert [p.outcome for p in ex.patients] == ["died"]
    assert any(e.id is None for e in ex.entities)  # English keeps the models' unnormalised spans


@pytest.mark.parametrize(("text", "language"), [(EN, "en"), (FR, "fr"), (DE, "de"), (ZH, "zh"), (ES, "es"),
                                                (IT, "it"), (PT, "pt"), (NL, "nl")])
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_a_bare_title_is_undecidable_without_warning(extractor: Extractor) -> None:
    ex = extractor.extract(Article(pmid="1", title="Rituximab-associated PML"))
    assert (ex.language, ex.warnings) == ("und", [])
    assert ex.entities[0].id == "rituximab"


def test_cli_french_text_prints_language_and_warning(tmp_path: Path) -> None:
    path = tmp_path / "fr.txt"
    path.write_bytes(FR.encode("latin-1"))  # a legacy file: read as Windows-1252
    proc = subprocess.run([*PMLKG, "extract", "--text", str(path)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    warning = f"text is in French (fr), not English: {ENGLISH_ONLY}"
    assert out["language"] == "fr"
    assert out["warnings"] == ["not valid UTF-8: read as Windows-1252", warning]
    assert proc.stderr.splitlines() == [f"warning: {path}: not valid UTF-8: read as Windows-1252",
                                        f"warning: {path}: {warning}"]
    assert "rituximab" in {e["id"] for e in out["entities"]}


# --- long texts -------------------------------------------------------------------------------

def _long_article(chars: int) -> Article:
    title, _, paragraph = EN.partition("\n\n")
    return Article(pmid="long", title=title,
                   abstract=tuple(AbstractSection(paragraph) for _ in range(chars // (len(paragraph) + 1))))


def test_truncate_cuts_at_a_line_break_and_says_how_much() -> None:
    text = _long_article(1_000_000).text()
    read, warning = truncate(text, MAX_CHARS)
    assert text.startswith(read) and len(read) == 99_438 and text[len(read)] == "\n"
    assert warning == ("text truncated at the extraction limit of 100,000 characters: the first 99,438 of "
                       "999,673 characters were read, 900,235 (90%) were not")
    assert truncate("short", MAX_CHARS) == ("short", None)


def test_a_1_mb_text_is_read_to_the_limit_with_a_warning_and_right_offsets(extractor: Extractor) -> None:
    article = _long_article(1_000_000)
    text = article.text()
    assert len(text) == 999_673
    ex = extractor.extract(article)
    read = text[:99_438]
    assert ex.warnings == [("text truncated at the extraction limit of 100,000 characters: the first 99,438 of "
                            "999,673 characters were read, 900,235 (90%) were not")]
    assert ex.language == "en"
    assert max(e.end for e in ex.entities) <= len(read)
    last = ex.entities[-1]
    assert (last.id, last.start, last.end) == ("mirtazapine", read.rfind("mirtazapine"), read.rfind("mirtazapine") + 11)
    assert sum(e.id == "rituximab" for e in ex.entities) == read.count("rituximab")
    for e in ex.entities:
        assert text[e.start:e.end] == e.text


def test_order_is_kept_around_refused_articles(extractor: Extractor) -> None:
    junk = Article(pmid="2", title="x", abstract=(AbstractSection(base64.b64encode(_random_bytes(2000)).decode()),))
    arts = [article_from_text(EN, "1"), junk, article_from_text(FR, "3"), article_from_text(EN, "4")]
    out = list(extractor.extract_many(arts, batch_size=2))
    assert [(x.pmid, x.language, refused(x.warnings) is not None) for x in out] == [
        ("1", "en", False), ("2", "und", True), ("3", "fr", False), ("4", "en", False)]
    assert out[1].entities == [] and out[0].entities == out[3].entities


# --- control characters -----------------------------------------------------------------------

def test_stray_control_characters_do_not_crash_and_do_not_hide_words(extractor: Extractor) -> None:
    text = EN.replace("with rituximab for", "with\x00rituximab\x01for").replace("CD40LG", "\u200bCD40LG\x1b") \
             .replace("he died", "he\x07died")
    article = article_from_text(text)
    ex = extractor.extract(article)
    assert (ex.language, ex.warnings) == ("en", [])
    drugs = {e.id: e for e in ex.entities if e.label == "DRUG"}
    assert drugs["rituximab"].start == article.text().index("rituximab")
    gene = next(e for e in ex.entities if e.id == "CD40LG")
    assert (gene.start, gene.end) == (article.text().index("CD40LG"), article.text().index("CD40LG") + 6)
    for e in ex.entities:
        assert article.text()[e.start:e.end] == e.text
    assert [p.outcome for p in ex.patients] == ["died"]


def test_empty_and_mostly_control_texts(extractor: Extractor) -> None:
    empty = extractor.extract(Article(pmid="0", title=""))
    assert (empty.entities, empty.language, empty.warnings) == ([], "und", [])
    controls = extractor.extract(article_from_text("Title\n\n" + "\x00\x01\x02 " * 50))
    assert controls.entities == []
    assert controls.warnings == [REFUSED + NOT_TEXT + "73% of its characters are control characters"]


def test_decode_text() -> None:
    assert decode_text("é".encode()) == ("é", None)
    assert decode_text("\ufeffé".encode()) == ("é", None)
    assert decode_text("é PML".encode("utf-16")) == ("é PML", "decoded as UTF-16 (byte order mark)")
    assert decode_text(FR.encode("latin-1")) == (FR, "not valid UTF-8: read as Windows-1252")
    one_bad = EN.encode() + b"\xff"
    assert decode_text(one_bad) == (EN + "\ufffd", "not valid UTF-8: 1 undecodable byte sequence(s) replaced by U+FFFD")
    junk, note = decode_text(_random_bytes())
    assert note is None and refusal(junk) == NOT_TEXT + "44% of its characters are undecodable bytes (U+FFFD)"


# --- the build --------------------------------------------------------------------------------

def _pubmed_xml(records: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">{pmid}</PMID>'
        f'<Article PubModel="Print"><Journal><Title>Synthetic</Title></Journal>'
        f"<ArticleTitle>{escape(title)}</ArticleTitle><Abstract><AbstractText>{escape(abstract)}</AbstractText>"
        f"</Abstract></Article></MedlineCitation></PubmedArticle>" for pmid, title, abstract in records)
    return ('<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January '
            '2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
            f"<PubmedArticleSet>{body}</PubmedArticleSet>\n")


RECORDS = [("99000001", *EN.split("\n\n")), ("99000002", "Attachment", base64.b64encode(_random_bytes(3000)).decode()),
           ("99000003", *FR.split("\n\n"))]
BLOB = "100% of it is runs of over 40 characters without a space (encoded data such as base64 or hex?)"


def test_build_loads_refused_articles_without_extraction_and_names_them(
        store: GraphStore, data_dir: Path, tmp_path: Path, extractor: Extractor) -> None:
    path = tmp_path / "mixed.xml"
    path.write_text(_pubmed_xml(RECORDS), encoding="utf-8")
    report = build_graph([path], store, data_dir, extractor=extractor)
    assert (report.articles_parsed, report.articles_loaded, report.file_errors) == (3, 3, [])
    assert report.refused == [f"99000002: {NOT_TEXT}{BLOB}"]
    assert report.warnings == [f"99000003: text is in French (fr), not English: {ENGLISH_ONLY}"]
    rows = store.read("MATCH (p:Publication) OPTIONAL MATCH (p)-[m:MENTIONS]->() "
                      "RETURN p.pmid AS pmid, count(m) AS mentions ORDER BY pmid")
    mentions = {r["pmid"]: r["mentions"] for r in rows}
    assert sorted(mentions) == ["99000001", "99000002", "99000003"]
    assert mentions["99000002"] == 0
    again = build_graph([path], store, data_dir, extractor=extractor)
    assert (again.articles_unchanged, again.refused) == (3, [])


def test_cli_xml_returns_a_refused_record_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "mixed.xml"
    path.write_text(_pubmed_xml(RECORDS), encoding="utf-8")
    proc = subprocess.run([*PMLKG, "extract", "--pubmed-xml", str(path)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    out = {r["pmid"]: r for r in json.loads(proc.stdout)}
    assert [out[p]["language"] for p in ("99000001", "99000002", "99000003")] == ["en", "und", "fr"]
    assert (out["99000002"]["entities"], out["99000002"]["patients"]) == ([], [])
    assert out["99000002"]["warnings"] == [f"{REFUSED}{NOT_TEXT}{BLOB}"]
    assert proc.stderr.splitlines() == [f"warning: 99000002: {REFUSED}{NOT_TEXT}{BLOB}",
                                        f"warning: 99000003: text is in French (fr), not English: {ENGLISH_ONLY}"]
