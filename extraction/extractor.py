"""The extraction entry point: article records in, entities and patients out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from pmlkg.extraction.cases import assemble_patients, entity_from_span
from pmlkg.extraction.lexicons import Lexicons, load_lexicons
from pmlkg.extraction.pipeline import MAX_CHARS, load_pipeline
from pmlkg.extraction.records import ArticleExtraction, Entity, Patient, SeriesFacts, Summary
from pmlkg.extraction.text_checks import CheckedText, check_text
from pmlkg.ingest.records import AbstractSection, Article

# Articles go through spaCy in batches of at most ``batch_size`` articles and about this many
# characters: a batch's documents are in memory together, and a document takes roughly 2 KB per
# character (a 100,000-character text peaks near 450 MB; 32 of them would need 6 GB).
# Abstracts (1-3k characters) fill a batch of 32 long before this.
MAX_BATCH_CHARS = 200_000


class Extractor:
    """Loads the pipeline once; ``extract_many`` streams articles through ``nlp.pipe``."""

    def __init__(self, nlp: Language | None = None, lexicons: Lexicons | None = None):
        self.lexicons = lexicons or load_lexicons()
        self.nlp = nlp or load_pipeline()
        meta = self.nlp.meta
        self.name = f"{meta.get('name', 'pipeline')} {meta.get('version', '0')}"
        self.version = f"{self.name} (lexicons {self.lexicons.version})"

    def extract(self, article: Article) -> ArticleExtraction:
        return next(self.extract_many([article]))

    def extract_many(self, articles: Iterable[Article], batch_size: int = 32) -> Iterator[ArticleExtraction]:
        """One extraction per article, in order.

        Each text is checked first (``extraction.text_checks``): read up to ``MAX_CHARS`` (a
        warning says what was dropped), refused when it is not text (no entities, a warning
        starting "not extracted: "), its language detected. Text not in English gets a warning
        and still runs through the English pipeline, keeping only the entities with a lexicon id:
        drug names, gene symbols and defect names are much the same in every language, while the
        models' unnormalised spans there are noise ("eine" as a drug, "Malgré" as a disease).
        """
        pending: list[tuple[Article, CheckedText]] = []
        chars = 0
        for article in articles:
            checked = check_text(article.text(), MAX_CHARS)
            pending.append((article, checked))
            chars += len(checked.text or "")
            if len(pending) >= batch_size or chars >= MAX_BATCH_CHARS:
                yield from self._run(pending)
                pending, chars = [], 0
        if pending:
            yield from self._run(pending)

    def _run(self, pending: list[tuple[Article, CheckedText]]) -> Iterator[ArticleExtraction]:
        texts = [c.text for _, c in pending if c.text is not None]
        docs = self.nlp.pipe(texts, batch_size=max(len(texts), 1))
        for article, checked in pending:
            if checked.text is None:
                yield ArticleExtraction(pmid=article.pmid, extractor=self.version, about_pml=False, is_case=False,
                                        language=checked.language, warnings=list(checked.warnings))
            else:
                yield self._from_doc(next(docs), article, checked)

    def _from_doc(self, doc: Doc, article: Article, checked: CheckedText | None = None) -> ArticleExtraction:
        layout, patients = assemble_patients(doc, article, self.lexicons)
        entities = [entity_from_span(e) for e in doc.ents]
        if checked and not checked.english:
            entities = [e for e in entities if e.id is not None]
        doc.user_data.pop("pmlkg_sentences", None)
        doc.user_data.pop("pmlkg_text", None)
        return ArticleExtraction(
            pmid=article.pmid,
            extractor=self.version,
            about_pml=layout.about_pml,
            is_case=layout.is_case,
            entities=entities,
            patients=patients,
            language=checked.language if checked else "en",
            warnings=list(checked.warnings) if checked else [],
        )


def extraction_json(ex: ArticleExtraction) -> dict[str, Any]:
    """The JSON shape `pmlkg extract` prints: entities with offsets, then the patients."""
    def entity(e: Entity) -> dict[str, Any]:
        return {"text": e.text, "label": e.label, "start": e.start, "end": e.end, "id": e.id,
                "normalised": e.id is not None, "negated": e.negated, "hedged": e.hedged,
                "source": e.source, "confidence": e.confidence}

    def patient(p: Patient) -> dict[str, Any]:
        return {
            "index": p.index, "cohort_size": p.cohort_size, "age_years": p.age_years, "sex": p.sex,
            "cd4_per_ul": p.cd4_per_ul, "defects": [{"id": d.id, "text": d.text} for d in p.defects],
            "genes": [g.id for g in p.genes],
            "exposures": [u.drug for u in p.exposures], "treatments": [u.drug for u in p.treatments],
            "drugs": [{"drug": u.drug, "role": u.role, "negated": u.entity.negated, "is_class": u.is_class,
                       "sentence": u.entity.evidence.sentence if u.entity.evidence else None} for u in p.drugs],
            "outcome": p.outcome, "months_to_outcome": p.months_to_outcome, "iris": p.iris,
            "jcv_detection": p.jcv_detection, "series": series_json(p.series) if p.series else None, "mesh_support": p.mesh_support,
            "outcome_sentence": p.outcome_evidence.sentence if p.outcome_evidence else None,
        }

    return {"pmid": ex.pmid, "extractor": ex.extractor, "about_pml": ex.about_pml, "is_case": ex.is_case,
            "language": ex.language, "warnings": ex.warnings,
            "entities": [entity(e) for e in ex.entities], "patients": [patient(p) for p in ex.patients]}


def series_json(s: SeriesFacts) -> dict[str, Any]:
    def summary(v: Summary | None) -> dict[str, Any] | None:
        return None if v is None else {"median": v.median, "low": v.low, "high": v.high, "kind": v.kind}

    return {"drug_counts": s.drug_counts, "died": s.died, "survived": s.survived,
            "months_to_outcome": summary(s.months_to_outcome), "age_years": summary(s.age_years),
            "cd4_per_ul": summary(s.cd4_per_ul), "sex": s.sex, "previously_published": s.previously_published,
            "evidence": {k: e.sentence for k, e in s.evidence.items()}}


def article_from_text(text: str, pmid: str = "text") -> Article:
    """Plain text as an article: the first line is the title, the rest (after a blank line) the abstract."""
    title, _, rest = text.strip("\ufeff").partition("\n")
    sections = tuple(AbstractSection(p.strip()) for p in rest.split("\n") if p.strip())
    return Article(pmid=pmid, title=title.strip(), abstract=sections)
