"""Gold PubTator corpora -> spaCy DocBin files for the two trained NER pipelines.

    python nlp_models/recipe/prepare_corpora.py [--shared ../shared] [--out nlp_models/corpus]

Writes (under --out, a build folder that is not committed):
  chemdis_train.spacy        BC5CDR train + BioRED train, labels DRUG, DISEASE
  chemdis_ncbi_train.spacy   the same + NCBI-disease train (DISEASE only, other tokens "missing")
  chemdis_dev.spacy          BC5CDR dev + BioRED dev (DRUG, DISEASE)
  gene_train.spacy           NLM-Gene train 90% + GNormPlus train 90% + BioRED train, label GENE
  gene_dev.spacy             NLM-Gene 10% + GNormPlus 10% (sha1(pmid) % 10 == 0) + BioRED dev (GENE)
  dev/<name>.pmids           the PMIDs of every per-corpus dev set (used by train.py evaluate)
  stats.json                 counts of documents and spans kept / dropped, per file and reason

Rules
- Every PMID of shared/corpora/OVERLAP_WITH_HELDOUT.tsv is dropped (train and dev alike).
- A training document whose PMID is in one of the model's dev sets is dropped (BioRED re-used
  BC5CDR / NLM-Gene / GNormPlus abstracts), so dev scores are not inflated by leakage.
- Duplicate PMIDs inside one file (NCBI-disease 8528200) are kept once.
- Gold spans come from extraction.pubtator.gold_spans (offsets that mismatch their text are dropped
  there). Spans of labels the model does not predict are ignored (their tokens are "O", except in
  NCBI-disease where the unannotated DRUG label makes every non-DISEASE token "missing").
- Alignment: doc.char_span(strict); otherwise alignment_mode="expand" is accepted only when the
  expansion adds at most 3 characters and no whitespace/punctuation-only change of meaning
  (e.g. "BCL-2tg" for "BCL-2"); other misaligned spans are dropped and counted.
- Overlapping / nested spans: the longest is kept (ties: the earliest), the others are dropped and counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import spacy
from spacy.tokens import DocBin

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from pmlkg.extraction.evaluate import carve_bucket
from pmlkg.extraction.pubtator import gold_spans, read_pubtator  # noqa: E402
from pmlkg.extraction.tokenizer import customize_tokenizer  # noqa: E402

MAX_EXPAND = 3


def carved_dev(pmid: str) -> bool:
    """Deterministic 10% dev carve for corpora without a dev split (the evaluator's own rule)."""
    return carve_bucket(pmid) == 0


def load(path: Path, excluded: set[str]) -> list:
    seen, docs = set(), []
    for d in read_pubtator(path):
        if d.pmid in excluded or d.pmid in seen:
            continue
        seen.add(d.pmid)
        docs.append(d)
    return docs


def to_doc(nlp, pdoc, labels: set[str], stats: Counter, missing: bool = False):
    doc = nlp.make_doc(pdoc.text)
    spans = []
    for start, end, label in sorted(gold_spans(pdoc)):
        if label not in labels:
            continue
        stats[f"gold_{label}"] += 1
        span = doc.char_span(start, end, label=label)
        if span is None:
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            added = (span.end_char - span.start_char) - (end - start) if span is not None else 99
            extra = pdoc.text[span.start_char:start] + pdoc.text[end:span.end_char] if span is not None else ""
            if span is None or added > MAX_EXPAND or any(c.isspace() for c in extra):
                stats[f"dropped_misaligned_{label}"] += 1
                continue
            stats[f"expanded_{label}"] += 1
        spans.append(span)
    # longest first; keep a span only if it overlaps nothing kept
    spans.sort(key=lambda s: (-(s.end_char - s.start_char), s.start_char))
    kept, taken = [], set()
    for s in spans:
        if any(i in taken for i in range(s.start, s.end)):
            stats[f"dropped_overlap_{s.label_}"] += 1
            continue
        taken.update(range(s.start, s.end))
        kept.append(s)
    kept.sort(key=lambda s: s.start)
    for s in kept:
        stats[f"kept_{s.label_}"] += 1
    doc.set_ents(kept, default="missing" if missing else "outside")
    stats["docs"] += 1
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "nlp_models" / "corpus")
    args = ap.parse_args()
    c = args.shared / "corpora"
    out = args.out
    (out / "dev").mkdir(parents=True, exist_ok=True)

    overlap = {line.split("\t")[0] for line in (c / "OVERLAP_WITH_HELDOUT.tsv").read_text().splitlines()
               if line and not line.startswith("#") and not line.startswith("pmid")}
    files = {
        "bc5cdr_train": c / "bc5cdr/CDR_TrainingSet.PubTator.txt",
        "bc5cdr_dev": c / "bc5cdr/CDR_DevelopmentSet.PubTator.txt",
        "biored_train": c / "biored/Train.PubTator",
        "biored_dev": c / "biored/Dev.PubTator",
        "ncbi_train": c / "ncbi-disease/NCBItrainset_corpus.txt",
        "ncbi_dev": c / "ncbi-disease/NCBIdevelopset_corpus.txt",
        "nlmgene_train": c / "nlm-gene/NLMgene_Train.PubTator",
        "gnormplus_train": c / "gnormplus/GNormPlus_Train.PubTator",
    }
    raw = {}
    report: dict = {"overlap_pmids_listed": len(overlap), "files": {}}
    for name, path in files.items():
        all_docs = list(read_pubtator(path))
        raw[name] = load(path, overlap)
        report["files"][name] = {"docs_in_file": len(all_docs), "docs_after_overlap_and_dedup": len(raw[name])}
    # carve NLM-Gene / GNormPlus dev
    for corpus in ("nlmgene", "gnormplus"):
        docs = raw.pop(f"{corpus}_train")
        raw[f"{corpus}_dev"] = [d for d in docs if carved_dev(d.pmid)]
        raw[f"{corpus}_train"] = [d for d in docs if not carved_dev(d.pmid)]

    nlp = customize_tokenizer(spacy.blank("en"))

    def build(name: str, parts: list[str], labels: set[str], dev_pmids: set[str], missing_parts=()) -> None:
        stats: Counter = Counter()
        db = DocBin(store_user_data=False)
        for part in parts:
            leak = 0
            for d in raw[part]:
                if d.pmid in dev_pmids:
                    leak += 1
                    continue
                db.add(to_doc(nlp, d, labels, stats, missing=part in missing_parts))
            stats[f"dropped_docs_in_dev_{part}"] = leak
        db.to_disk(out / f"{name}.spacy")
        report[name] = dict(sorted(stats.items()))
        print(name, dict(sorted(stats.items())))

    chemdis_dev_parts = ["bc5cdr_dev", "biored_dev"]
    gene_dev_parts = ["nlmgene_dev", "gnormplus_dev", "biored_dev"]
    chem_dev_pmids = {d.pmid for p in chemdis_dev_parts + ["ncbi_dev"] for d in raw[p]}
    gene_dev_pmids = {d.pmid for p in gene_dev_parts for d in raw[p]}
    for p in set(chemdis_dev_parts + gene_dev_parts + ["ncbi_dev"]):
        (out / "dev" / f"{p}.pmids").write_text("\n".join(d.pmid for d in raw[p]) + "\n")

    build("chemdis_dev", chemdis_dev_parts, {"DRUG", "DISEASE"}, set())
    build("gene_dev", gene_dev_parts, {"GENE"}, set())
    build("chemdis_train", ["bc5cdr_train", "biored_train"], {"DRUG", "DISEASE"}, chem_dev_pmids)
    build("chemdis_ncbi_train", ["bc5cdr_train", "biored_train", "ncbi_train"], {"DRUG", "DISEASE"},
          chem_dev_pmids, missing_parts=("ncbi_train",))
    build("gene_train", ["nlmgene_train", "gnormplus_train", "biored_train"], {"GENE"}, gene_dev_pmids)
    (out / "stats.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
