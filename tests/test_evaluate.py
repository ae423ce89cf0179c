"""NER evaluation: hand-counted scores on tiny PubTator files, scored by tiny real spaCy pipelines.

Offsets in the PubTator files are computed from the text (``str.index``), so each test's gold is
readable as words; the expected tp/fp/fn and rates are counted by hand in the comments.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

from pmlkg.extraction.evaluate import (Counts, carve_bucket, carved_dev, carved_train, evaluate_ner,
                                 normalise_gold_ids)
from pmlkg.extraction.lexicons import Defect, Drug, Gene, Lexicons
from pmlkg.extraction.pubtator import read_pubtator

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
BC5CDR_DEV = SHARED / "corpora" / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt"

# (pmid, title, abstract, [(surface, occurrence, corpus type, ids)])
Gold = list[tuple[str, str, str, list[tuple[str, int, str, str]]]]

SPAN_CORPUS: Gold = [
    ("111", "Rituximab caused PML.", "BTK mutation and lupus were noted in mice.", [
        ("Rituximab", 0, "Chemical", ""), ("PML", 0, "Disease", ""), ("BTK", 0, "Gene", ""),
        ("lupus", 0, "Disease", ""), ("mice", 0, "Species", ""),  # Species: not a scored type
    ]),
    ("222", "Natalizumab and steroids.", "No CD40LG defect.", [
        ("Natalizumab", 0, "Chemical", ""), ("steroids", 0, "Chemical", ""), ("CD40LG", 0, "Gene", ""),
    ]),
]
SPAN_PATTERNS = [
    {"label": "DRUG", "pattern": "Rituximab"},  # DRUG tp
    {"label": "DEFECT", "pattern": "PML"},  # DEFECT -> DISEASE tp
    {"label": "GENE", "pattern": [{"ORTH": "BTK"}, {"ORTH": "mutation"}]},  # boundary: GENE fp + fn
    # lupus: not predicted -> DISEASE fn
    {"label": "GENE", "pattern": "Natalizumab"},  # wrong label: GENE fp, DRUG fn
    {"label": "DRUG_CLASS", "pattern": "steroids"},  # DRUG_CLASS -> DRUG tp
    {"label": "GENE", "pattern": "CD40LG"},  # GENE tp
    {"label": "DISEASE", "pattern": "defect"},  # DISEASE fp
    {"label": "SPECIES", "pattern": "mice"},  # unmapped label: ignored
]


def write_pubtator(path: Path, corpus: Gold) -> Path:
    lines = []
    for pmid, title, abstract, mentions in corpus:
        text = f"{title} {abstract}"
        lines += [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
        for surface, nth, kind, ids in mentions:
            start = -1
            for _ in range(nth + 1):
                start = text.index(surface, start + 1)
            lines.append("\t".join([pmid, str(start), str(start + len(surface)), surface, kind, ids]))
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ruler_pipeline(patterns: list[dict]) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


def rates(scores: dict) -> tuple[float, float, float, int, int, int]:
    return (scores["precision"], scores["recall"], scores["f1"], scores["tp"], scores["fp"], scores["fn"])


# ------------------------------------------------------------------ spans


@pytest.fixture
def span_file(tmp_path: Path) -> Path:
    return write_pubtator(tmp_path / "spans.PubTator", SPAN_CORPUS)


def test_strict_span_scores_per_label_and_micro(span_file: Path) -> None:
    scores = evaluate_ner(ruler_pipeline(SPAN_PATTERNS), read_pubtator(span_file))
    lab = scores.labels
    assert list(lab) == ["DRUG", "DISEASE", "GENE"]
    # DRUG: Rituximab, steroids (via DRUG_CLASS) found; Natalizumab tagged GENE -> fn
    assert (lab["DRUG"].tp, lab["DRUG"].fp, lab["DRUG"].fn) == (2, 0, 1)
    assert lab["DRUG"].precision == 1.0 and lab["DRUG"].recall == pytest.approx(2 / 3)
    assert lab["DRUG"].f1 == pytest.approx(0.8)
    # DISEASE: PML (via DEFECT) tp; "defect" fp; lupus fn
    assert (lab["DISEASE"].tp, lab["DISEASE"].fp, lab["DISEASE"].fn) == (1, 1, 1)
    assert (lab["DISEASE"].precision, lab["DISEASE"].recall, lab["DISEASE"].f1) == (0.5, 0.5, 0.5)
    # GENE: CD40LG tp; "BTK mutation" and "Natalizumab" fp; BTK fn
    assert (lab["GENE"].tp, lab["GENE"].fp, lab["GENE"].fn) == (1, 2, 1)
    assert lab["GENE"].precision == pytest.approx(1 / 3) and lab["GENE"].recall == 0.5
    assert lab["GENE"].f1 == pytest.approx(0.4)
    # micro: tp 4, fp 3, fn 3
    assert (scores.micro.tp, scores.micro.fp, scores.micro.fn) == (4, 3, 3)
    assert scores.micro.f1 == pytest.approx(4 / 7)
    assert scores.ids == {}  # no ids in this corpus
    assert scores.n_docs == 2


def test_pipeline_labels_map_onto_corpus_labels(tmp_path: Path) -> None:
    corpus: Gold = [("1", "XLA and IVIG and steroids.", "", [("XLA", 0, "SpecificDisease", ""),
                                                             ("IVIG", 0, "Chemical", ""),
                                                             ("steroids", 0, "Chemical", "")])]
    nlp = ruler_pipeline([{"label": "DEFECT", "pattern": "XLA"}, {"label": "DRUG", "pattern": "IVIG"},
                          {"label": "DRUG_CLASS", "pattern": "steroids"}])
    scores = evaluate_ner(nlp, read_pubtator(write_pubtator(tmp_path / "m.txt", corpus)))
    assert {k: (c.tp, c.fp, c.fn) for k, c in scores.labels.items()} == {"DRUG": (2, 0, 0), "DISEASE": (1, 0, 0)}


def test_labels_the_corpus_lacks_are_not_scored(tmp_path: Path) -> None:
    """An NCBI-disease-like corpus: drug and gene predictions are neither scored nor errors."""
    corpus: Gold = [("1", "Rituximab in BTK deficiency.", "", [("BTK deficiency", 0, "SpecificDisease", "")])]
    nlp = ruler_pipeline([{"label": "DRUG", "pattern": "Rituximab"}, {"label": "GENE", "pattern": "BTK"}])
    scores = evaluate_ner(nlp, read_pubtator(write_pubtator(tmp_path / "d.txt", corpus)))
    assert list(scores.labels) == ["DISEASE"]
    assert (scores.micro.tp, scores.micro.fp, scores.micro.fn) == (0, 0, 1)
    assert scores.micro.precision == 0.0 and scores.micro.f1 == 0.0


def test_a_plain_callable_can_stand_in_for_a_pipeline(span_file: Path) -> None:
    nlp = ruler_pipeline(SPAN_PATTERNS)
    assert evaluate_ner(lambda text: nlp(text), read_pubtator(span_file)).to_dict() == \
        evaluate_ner(nlp, read_pubtator(span_file)).to_dict()


def test_counts_zero_division() -> None:
    assert (Counts().precision, Counts().recall, Counts().f1) == (0.0, 0.0, 0.0)


# ------------------------------------------------------------------ ids

TINY_LEXICONS = Lexicons(
    genes={"BTK": Gene("BTK", 695, (), (), ()), "CD40LG": Gene("CD40LG", 959, (), (), ())},
    defects={"iuis:xla": Defect("iuis:xla", "XLA", (), ("BTK",), ("300755",), None, None),
             "iuis:sle": Defect("iuis:sle", "SLE", (), (), ("152700",), None, None)},
    drugs={"rituximab": Drug("rituximab", "Rituximab", None, "D000069283", ()),
           "natalizumab": Drug("natalizumab", "Natalizumab", None, "D000069442", ())},
    drug_classes={}, hgnc={}, version="test",
)
ID_CORPUS: Gold = [
    ("100", "Rituximab for XLA with BTK and murine Btk; lupus too.", "Rituximab again.", [
        ("Rituximab", 0, "Chemical", "D000069283"), ("Rituximab", 1, "Chemical", "D000069283"),
        ("XLA", 0, "SpecificDisease", "OMIM:300755"), ("BTK", 0, "Gene", "695"),
        ("Btk", 0, "Gene", "12229(Tax:10090)"),  # mouse gene: no lexicon id -> out of scope
        ("lupus", 0, "Disease", "D008180"),  # MeSH-coded: out of scope for OMIM-coded defects
    ]),
    ("200", "CD40LG and natalizumab.", "", [
        ("CD40LG", 0, "Gene", "959"), ("natalizumab", 0, "Chemical", "D000069442"),
    ]),
]
ID_PATTERNS = [
    {"label": "DRUG", "pattern": "Rituximab", "id": "rituximab"},  # twice in doc 100: one (pmid, id) pair
    {"label": "DEFECT", "pattern": "XLA", "id": "iuis:xla"},
    {"label": "GENE", "pattern": [{"LOWER": "btk"}], "id": "BTK"},  # BTK tp; Btk on the mouse mention: ignored
    {"label": "DEFECT", "pattern": "lupus", "id": "iuis:sle"},  # on an out-of-scope mention: ignored
    {"label": "GENE", "pattern": "CD40LG", "id": "BTK"},  # wrong link: 695 fp, 959 fn
    # natalizumab not predicted: D000069442 fn
]


def test_document_level_id_scores_over_lexicon_ids(tmp_path: Path) -> None:
    docs = read_pubtator(write_pubtator(tmp_path / "ids.txt", ID_CORPUS))
    scores = evaluate_ner(ruler_pipeline(ID_PATTERNS), docs, lexicons=TINY_LEXICONS)
    got = {k: (c.tp, c.fp, c.fn) for k, c in scores.ids.items()}
    assert got == {"DRUG": (1, 0, 1), "DISEASE": (1, 0, 0), "GENE": (1, 1, 1)}
    assert scores.ids["DRUG"].f1 == pytest.approx(2 / 3)
    assert scores.ids["GENE"].f1 == 0.5


def test_id_fallback_resolves_bare_spans_through_the_real_lexicons(tmp_path: Path) -> None:
    """A trained NER sets no ids: the span's text is looked up as a lexicon term."""
    corpus: Gold = [("1", "Mutations in BTK.", "", [("BTK", 0, "Gene", "695")])]
    scores = evaluate_ner(ruler_pipeline([{"label": "GENE", "pattern": "BTK"}]),
                          read_pubtator(write_pubtator(tmp_path / "g.txt", corpus)))
    assert (scores.ids["GENE"].tp, scores.ids["GENE"].fp, scores.ids["GENE"].fn) == (1, 0, 0)


def test_gold_id_cells_are_normalised() -> None:
    assert normalise_gold_ids([" D008661", "OMIM:300755+D001", "12229(Tax:10090)", "D1|D2", "-1", "-"]) == \
        {"D008661", "300755", "D001", "12229", "D1", "D2"}


# ------------------------------------------------------------------ carved dev


def test_carved_dev_is_the_sha1_tenth(tmp_path: Path) -> None:
    corpus: Gold = [(str(p), f"Title {p}.", "", []) for p in range(1000, 1100)]
    docs = list(read_pubtator(write_pubtator(tmp_path / "c.txt", corpus)))
    dev, train = carved_dev(docs), carved_train(docs)
    expected = {d.pmid for d in docs if int(hashlib.sha1(d.pmid.encode()).hexdigest(), 16) % 10 == 0}
    assert {d.pmid for d in dev} == expected and 0 < len(dev) < 30
    assert len(dev) + len(train) == len(docs) and not {d.pmid for d in dev} & {d.pmid for d in train}
    assert all(carve_bucket(d.pmid) == 0 for d in dev)


# ------------------------------------------------------------------ CLI


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pmlkg", "eval", "ner", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_cli_json_with_a_saved_pipeline(tmp_path: Path, span_file: Path) -> None:
    ruler_pipeline(SPAN_PATTERNS).to_disk(tmp_path / "tiny_pipeline")
    proc = run_cli("--pubtator", str(span_file), "--pipeline", str(tmp_path / "tiny_pipeline"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["file"] == str(span_file) and out["pipeline"] == str(tmp_path / "tiny_pipeline")
    assert rates(out["labels"]["DRUG"]) == (1.0, 0.6667, 0.8, 2, 0, 1)
    assert rates(out["labels"]["DISEASE"]) == (0.5, 0.5, 0.5, 1, 1, 1)
    assert rates(out["labels"]["GENE"]) == (0.3333, 0.5, 0.4, 1, 2, 1)
    assert rates(out["micro"]) == (0.5714, 0.5714, 0.5714, 4, 3, 3)
    assert out["ids"] == {}


def test_cli_table_output(tmp_path: Path, span_file: Path) -> None:
    ruler_pipeline(SPAN_PATTERNS).to_disk(tmp_path / "tiny_pipeline")
    proc = run_cli("--pubtator", str(span_file), "--pipeline", str(tmp_path / "tiny_pipeline"))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line[:1].isalpha()}
    assert rows["GENE"][:6] == ["0.333", "0.500", "0.400", "1", "2", "1"]
    assert rows["micro"][3:6] == ["4", "3", "3"]


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    proc = run_cli("--pubtator", str(tmp_path / "absent.PubTator"), "--json")
    assert proc.returncode == 2
    assert "absent.PubTator" in proc.stderr and "no such file" in proc.stderr


def test_cli_unknown_pipeline_exits_2(span_file: Path) -> None:
    proc = run_cli("--pubtator", str(span_file), "--pipeline", "no_such_pipeline_xyz")
    assert proc.returncode == 2 and "no_such_pipeline_xyz" in proc.stderr


@pytest.mark.skipif(not BC5CDR_DEV.is_file(), reason=f"shared corpora not present ({BC5CDR_DEV})")
def test_cli_rules_pipeline_on_bc5cdr_dev() -> None:
    """``pmlkg_rules`` by name: a view of pmlkg_extract (its lexicons and rules), no folder of its own."""
    proc = run_cli("--pubtator", str(BC5CDR_DEV), "--pipeline", "pmlkg_rules", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["n_docs"] == 500
    assert out["labels"]["DRUG"]["precision"] > 0.5
    assert set(out["labels"]) == {"DRUG", "DISEASE"}  # BC5CDR annotates no genes


@pytest.mark.skipif(not BC5CDR_DEV.is_file(), reason=f"shared corpora not present ({BC5CDR_DEV})")
def test_shipped_pipeline_keeps_its_measured_accuracy_on_bc5cdr_dev() -> None:
    """A regression guard a little under the figures nlp_models/README.md reports (88.1 / 79.9)."""
    proc = run_cli("--pubtator", str(BC5CDR_DEV), "--json")
    assert proc.returncode == 0, proc.stderr
    labels = json.loads(proc.stdout)["labels"]
    assert labels["DRUG"]["f1"] >= 0.87 and labels["DISEASE"]["f1"] >= 0.785, labels
