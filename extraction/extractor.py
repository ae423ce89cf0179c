"""The extraction entry point: article records in, entities and patients out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc

from extraction.cases import assemble_patients, entity_from_span
from extraction.lexicons import Lexicons, load_lexicons
from extraction.pipeline import MAX_CHARS, load_pipeline
from extraction.records import ArticleExtraction
from ingest.records import Article


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
