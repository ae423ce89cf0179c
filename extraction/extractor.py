"""The extraction entry point: article records in, entities and patients out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from extraction.cases import assemble_patients, entity_from_span
from extraction.lexicons import Lexicons, load_lexicons
from extraction.pipeline import MAX_CHARS, load_pipeline
from extraction.records import ArticleExtraction, Entity, Patient, SeriesFacts, Summary
from ingest.records import AbstractSection, Article


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
        pairs = ((a.text()[:MAX_CHARS], a) for a in articles)
        for doc, article in self.nlp.pipe(pairs, as_tuples=True, batch_size=batch_size):
            yield self._from_doc(doc, article)

    def _from_doc(self, doc: Doc, article: Article) -> ArticleExtraction:
        layout, patients = assemble_patients(doc, article, self.lexicons)
        entities = [entity_from_span(e) for e in doc.ents]
        doc.user_data.pop("pmlkg_sentences", None)
        doc.user_data.pop("pmlkg_text", None)
        return ArticleExtraction(
            pmid=article.pmid,
            extractor=self.version,
            about_pml=layout.about_pml,
            is_case=layout.is_case,
            entities=entities,
            patients=patients,
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
