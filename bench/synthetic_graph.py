"""Synthetic PML case reports for the graph benchmarks: (Article, ArticleExtraction) pairs built
directly, without spaCy, shaped like what the extractor returns.

Why synthetic: the demo corpus is a few dozen articles, far too small to measure the API or the
loader at the size of the real literature graph (thousands of cases), and running the NLP
pipeline over thousands of generated abstracts would make every benchmark minutes longer
without changing the graph it produces. So this module writes each article's text sentence by
sentence and records every mention it places, with offsets that index ``Article.text()`` and
the sentence as ``Evidence``, exactly as the extractor's records do.

What an article looks like (all deterministic for a given ``seed``):

* PMIDs from 80,000,000 upward (``FIRST_PMID``), clear of real PubMed ids and of the demo
  corpus (9xxxxxxx synthetic ids);
* about 85% single case reports (one Patient: age, sex, often a CD4 count, CSF PCR / biopsy,
  outcome died / survived / unknown with months, sometimes IRIS) and 15% series (one Patient
  with ``cohort_size`` 5-20 and its ``SeriesFacts``: per-drug counts (now and then a drug named
  without a number), died/survived totals, often a median age with its range, the men and women,
  a median time to outcome with its range, each with its sentence as ``evidence``; a tenth of the
  series mix two defects);
* the immune defect drawn from ~40 lexicon defects with a skewed (Zipf-like) distribution,
  named by the lexicon name, often with one of the defect's lexicon genes;
* exposures from the lexicon's immunosuppressants (rituximab, the corticosteroid class, ...),
  treatments from the repurposed anti-JC virus drugs, checkpoint inhibitors and interleukin-7;
  about 5% of cases also deny an exposure ("had never received natalizumab"): a negated
  mention the loader stores and the queries never count.

Entities carry the lexicon ids (defect id, gene symbol, drug canonical name, drug class id) and
``source="dictionary"``, so the loader normalises them as it would a dictionary match.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pmlkg.extraction.lexicons import Lexicons, load_lexicons
from pmlkg.extraction.records import ArticleExtraction, DrugUse, Entity, Evidence, Patient, SeriesFacts, Summary
from pmlkg.extraction.concepts import ConceptResolver
from pmlkg.graph.load import GraphLoader, LoadReport
from pmlkg.graph.constraints import create_schema
from pmlkg.graph.stores import GraphStore
from pmlkg.ingest.records import AbstractSection, Article, MeshHeading

FIRST_PMID = 80_000_000
EXTRACTOR_NAME = "pmlkg-synthetic 0.1.0"
SERIES_SHARE = 0.15
MIXED_SERIES_SHARE = 0.10
NEGATED_SHARE = 0.05

# The most reported defects first (the head of the skewed distribution), then the rest of the
# curated PML-relevant defects, then a few more IUIS defects with a gene; ids missing from the
# lexicon are skipped, so a lexicon rebuild cannot break the generator.
_HEAD_DEFECTS = (
    "iuis:common-variable-immune-deficiency-with-no-gene-defect-specified",
    "pmlkg:idiopathic-cd4-lymphopenia",
    "iuis:cd40-ligand-deficiency",
    "pmlkg:scid",
    "iuis:wiskott-aldrich-syndrome",
    "iuis:gata2-deficiency",
    "iuis:dock8-deficiency",
    "iuis:stat1-gof",
    "pmlkg:good-syndrome",
    "iuis:btk-deficiency-x-linked-agammaglobulinemia",
    "iuis:ad-hies-job-syndrome",
    "pmlkg:pid-unspecified",
    "iuis:ctla4-deficiency",
    "iuis:pik3cd-mutation-apds1",
    "iuis:magt1-deficiency",
)
_EXTRA_DEFECTS = (
    "iuis:x-linked-chronic-granulomatous-disease-gp91phox",
    "iuis:apeced-autoimmune-polyendocrinopathy-with-candidiasis-and-ectodermal-dystrophy",
    "iuis:rag1-deficiency",
    "iuis:card11-deficiency",
    "iuis:ikaros-deficiency",
    "iuis:lrba-deficiency",
    "iuis:itk-deficiency",
    "iuis:stat5b-deficiency",
)
_X_LINKED_GENES = {"BTK", "CD40LG", "IL2RG", "WAS", "SH2D1A", "XIAP", "MAGT1", "IKBKG", "CYBB"}

# (label, lexicon id, text as written, weight)
_EXPOSURES = (
    ("DRUG", "rituximab", "rituximab", 10),
    ("DRUG_CLASS", "corticosteroid", "corticosteroids", 8),
    ("DRUG", "prednisone", "prednisone", 3),
    ("DRUG", "azathioprine", "azathioprine", 4),
    ("DRUG", "mycophenolate mofetil", "mycophenolate mofetil", 4),
    ("DRUG", "methotrexate", "methotrexate", 3),
    ("DRUG", "cyclophosphamide", "cyclophosphamide", 3),
    ("DRUG", "fludarabine", "fludarabine", 2),
    ("DRUG", "natalizumab", "natalizumab", 1),
    ("DRUG", "tacrolimus", "tacrolimus", 2),
    ("DRUG", "cyclosporine", "cyclosporine", 2),
    ("DRUG", "alemtuzumab", "alemtuzumab", 1),
    ("DRUG", "ibrutinib", "ibrutinib", 1),
    ("DRUG", "ruxolitinib", "ruxolitinib", 1),
    ("DRUG", "infliximab", "infliximab", 1),
)
_TREATMENTS = (
    ("DRUG", "mefloquine", "mefloquine", 5),
    ("DRUG", "mirtazapine", "mirtazapine", 5),
    ("DRUG", "cidofovir", "cidofovir", 3),
    ("DRUG", "pembrolizumab", "pembrolizumab", 3),
    ("DRUG", "nivolumab", "nivolumab", 1),
    ("DRUG", "interleukin-7", "interleukin-7", 2),
)
_NEGATABLE = ("natalizumab", "rituximab", "fludarabine", "alemtuzumab")
_JOURNALS = ("J Clin Immunol", "Front Immunol", "J Neurovirol", "Neurology", "Clin Infect Dis",
             "J Allergy Clin Immunol Pract", "BMJ Case Rep", "Pediatr Neurol", "Eur J Neurol",
             "Transpl Infect Dis")
_INDICATIONS = ("autoimmune cytopenia", "granulomatous disease", "autoimmune hepatitis", "enteropathy",
                "immune thrombocytopenia", "lymphoproliferation")
_PML_MESH = ("Leukoencephalopathy, Progressive Multifocal", "JC Virus", "Humans")


@dataclass(frozen=True, slots=True)
class _Mention:
    text: str
    label: str
    id: str
    negated: bool = False


Piece = str | _Mention


@dataclass(slots=True)
class _Placed:
    """A sentence laid out in the article text, and the entities of its mentions."""

    text: str
    start: int
    entities: list[Entity] = field(default_factory=list)

    def evidence(self, offset: int, length: int) -> Evidence:
        return Evidence(self.text, self.start, self.start + offset, self.start + offset + length)

    def span_of(self, phrase: str) -> Evidence:
        i = self.text.index(phrase)
        return self.evidence(i, len(phrase))


class _Layout:
    """Lays out the title (line 0) and one abstract section (line 1, sentences joined by spaces)
    the way ``Article.text()`` joins them, so every offset indexes that text."""

    def __init__(self) -> None:
        self.title: _Placed | None = None
        self.sentences: list[_Placed] = []
        self._cursor = 0

    def add(self, pieces: Sequence[Piece]) -> _Placed:
        # the title starts at 0; then "\n" after the title and " " between sentences: one char each
        start = 0 if self.title is None else self._cursor + 1
        text = ""
        placed_at: list[tuple[_Mention, int]] = []
        for piece in pieces:
            if isinstance(piece, _Mention):
                placed_at.append((piece, start + len(text)))
                text += piece.text
            else:
                text += piece
        placed = _Placed(text=text, start=start, entities=[
            Entity(text=m.text, label=m.label, start=b, end=b + len(m.text), id=m.id,  # type: ignore[arg-type]
                   negated=m.negated, evidence=Evidence(text, start, b, b + len(m.text)), source="dictionary")
            for m, b in placed_at])
        self._cursor = start + len(text)
        if self.title is None:
            self.title = placed
        else:
            self.sentences.append(placed)
        return placed

    @property
    def abstract(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def entities(self) -> list[Entity]:
        out = list(self.title.entities) if self.title else []
        for s in self.sentences:
            out += s.entities
        return out


def _listing(items: Sequence[Piece]) -> list[Piece]:
    """["a"], ["a", " and ", "b"], ["a", ", ", "b", " and ", "c"]."""
    out: list[Piece] = []
    for i, item in enumerate(items):
        if i:
            out.append(" and " if i == len(items) - 1 else ", ")
        out.append(item)
    return out


class SyntheticCorpus:
    """Deterministic generator: the same (seed, lexicons) gives the same articles, in order."""

    def __init__(self, seed: int = 0, lexicons: Lexicons | None = None):
        self.seed = seed
        self.lex = lexicons or load_lexicons()
        self.extractor = f"{EXTRACTOR_NAME} (lexicons {self.lex.version})"
        ids = [d for d in _HEAD_DEFECTS if d in self.lex.defects]
        curated_rest = sorted(d for d in self.lex._curated_defects if d not in ids)  # noqa: SLF001
        ids += curated_rest + [d for d in _EXTRA_DEFECTS if d in self.lex.defects and d not in ids]
        if not ids:
            raise RuntimeError("none of the benchmark defects is in the lexicon")
        self.defects = ids
        self.defect_weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(ids))]
        self.exposures = [e for e in _EXPOSURES if self._known(e)]
        self.treatments = [t for t in _TREATMENTS if self._known(t)]

    def _known(self, item: tuple[str, str, str, int]) -> bool:
        label, key = item[0], item[1]
        return key in (self.lex.drug_classes if label == "DRUG_CLASS" else self.lex.drugs)

    def articles(self, n: int) -> Iterator[tuple[Article, ArticleExtraction]]:
        rng = random.Random(self.seed)
        for i in range(n):
            yield self._article(rng, str(FIRST_PMID + i))

    # -- one article --------------------------------------------------------------------------

    def _drugs(self, rng: random.Random, pool: Sequence[tuple[str, str, str, int]], k: int) -> list[tuple[str, str, str, int]]:
        chosen: list[tuple[str, str, str, int]] = []
        while len(chosen) < k:
            item = rng.choices(pool, weights=[w for *_, w in pool])[0]
            if item not in chosen:
                chosen.append(item)
        return chosen

    def _defect_mention(self, defect_id: str) -> _Mention:
        return _Mention(self.lex.defects[defect_id].name, "DEFECT", defect_id)

    def _article(self, rng: random.Random, pmid: str) -> tuple[Article, ArticleExtraction]:
        series = rng.random() < SERIES_SHARE
        defect_id = rng.choices(self.defects, weights=self.defect_weights)[0]
        defect = self.lex.defects[defect_id]
        gene = rng.choice(defect.genes) if defect.genes and rng.random() < 0.7 else None
        layout = _Layout()
        if series:
            patient, pubtypes, mesh = self._series(rng, layout, defect_id, gene)
        else:
            patient, pubtypes, mesh = self._case(rng, layout, defect_id, gene)
        year = min(2025, 1990 + int(rng.triangular(0, 36, 30)))
        month = rng.randint(1, 12)
        assert layout.title is not None
        article = Article(
            pmid=pmid, title=layout.title.text, abstract=(AbstractSection(layout.abstract),),
            journal=rng.choice(_JOURNALS), year=year, pub_date=f"{year}-{month:02d}",
            doi=f"10.5555/synthetic.{pmid}", publication_types=pubtypes,
            mesh=tuple(MeshHeading(m) for m in (*_PML_MESH, *mesh)), languages=("eng",))
        extraction = ArticleExtraction(pmid=pmid, extractor=self.extractor, about_pml=True, is_case=True,
                                       entities=layout.entities(), patients=[patient])
        return article, extraction

    def _case(self, rng: random.Random, layout: _Layout, defect_id: str, gene: str | None
              ) -> tuple[Patient, tuple[str, ...], tuple[str, ...]]:
        x_linked = gene in _X_LINKED_GENES or "x-linked" in defect_id
        sex = "male" if x_linked or rng.random() < 0.55 else "female"
        noun, pron, poss = ("man", "He", "His") if sex == "male" else ("woman", "She", "Her")
        age = rng.randint(1, 17) if rng.random() < 0.25 else rng.randint(18, 78)
        if age < 18:
            noun = "boy" if sex == "male" else "girl"
        age_text = f"{age}-year-old"
        p = Patient(index=0, age_years=float(age), sex=sex)  # type: ignore[arg-type]

        title_defect = self._defect_mention(defect_id)
        layout.add(["Progressive multifocal leukoencephalopathy in a ", age_text, f" {noun} with ", title_defect])
        body_defect = self._defect_mention(defect_id)
        pieces: list[Piece] = ["A ", age_text, f" {noun} with ", body_defect]
        if gene:
            pieces += [" due to a ", _Mention(gene, "GENE", gene), " variant"]
        pieces.append(" presented with progressive hemiparesis and aphasia.")
        intro = layout.add(pieces)
        p.defects.append(intro.entities[0])
        if gene:
            p.genes.append(intro.entities[1])
        p.facts_evidence["age"] = intro.span_of(age_text)
        p.facts_evidence["sex"] = intro.span_of(noun)

        exposures = self._drugs(rng, self.exposures, rng.choice((0, 1, 1, 1, 2, 2, 3)))
        if exposures:
            mentions = [_Mention(text, label, key) for label, key, text, _ in exposures]
            template = rng.randrange(3)
            if template == 0:
                s = layout.add([f"{pron} had received ", *_listing(mentions),
                                f" for {rng.choice(_INDICATIONS)} before the neurological symptoms began."])
            elif template == 1:
                s = layout.add(["Previous immunosuppressive therapy included ", *_listing(mentions), "."])
            else:
                s = layout.add([f"{pron} had been treated with ", *_listing(mentions),
                                f" in the preceding {rng.randint(2, 36)} months."])
            p.drugs += [DrugUse(drug=e.id, is_class=e.label == "DRUG_CLASS", role="exposure", entity=e)  # type: ignore[arg-type]
                        for e in s.entities]
        if rng.random() < NEGATED_SHARE:
            taken = {e[1] for e in exposures}
            denied = [d for d in _NEGATABLE if d not in taken and d in self.lex.drugs]
            if denied:
                drug = rng.choice(denied)
                s = layout.add([f"{pron} had never received ", _Mention(drug, "DRUG", drug, negated=True), "."])
                p.drugs.append(DrugUse(drug=drug, is_class=False, role="exposure", entity=s.entities[0]))

        if rng.random() < 0.7:
            p.cd4_per_ul = rng.choice((rng.randint(5, 200), rng.randint(200, 900)))
            s = layout.add([f"{poss} CD4 count was {p.cd4_per_ul} cells/µL."])
            p.facts_evidence["cd4"] = s.span_of(str(p.cd4_per_ul))
        csf, biopsy = rng.random() < 0.85, rng.random() < 0.3
        if not (csf or biopsy):
            csf = True
        if csf:
            layout.add(["JC virus DNA was detected in the cerebrospinal fluid by PCR."])
            p.jcv_detection.append("csf_pcr")
        if biopsy:
            layout.add(["Brain biopsy showed demyelination with JC virus-infected oligodendrocytes."])
            p.jcv_detection.append("biopsy")

        treatments = self._drugs(rng, self.treatments, rng.choice((0, 0, 1, 1, 1, 2)))
        if treatments:
            mentions = [_Mention(text, label, key) for label, key, text, _ in treatments]
            s = layout.add(["PML was treated with ", *_listing(mentions), "."])
            p.drugs += [DrugUse(drug=e.id, is_class=e.label == "DRUG_CLASS", role="treatment", entity=e)  # type: ignore[arg-type]
                        for e in s.entities]
        if rng.random() < 0.1:
            layout.add(["Immune reconstitution inflammatory syndrome developed after treatment."])
            p.iris = True

        roll = rng.random()
        months = float(rng.randint(1, 30))
        if roll < 0.45:
            s = layout.add([f"{pron} died {int(months)} months after the diagnosis of PML."])
            p.outcome, p.months_to_outcome, p.outcome_evidence = "died", months, s.span_of("died")
        elif roll < 0.8:
            s = layout.add([f"{pron} survived and was neurologically stable {int(months)} months after diagnosis."])
            p.outcome, p.months_to_outcome, p.outcome_evidence = "survived", months, s.span_of("survived")
        mesh = ("Male" if sex == "male" else "Female", "Child" if age < 18 else "Adult")
        return p, ("Case Reports", "Journal Article"), mesh

    def _series(self, rng: random.Random, layout: _Layout, defect_id: str, gene: str | None
                ) -> tuple[Patient, tuple[str, ...], tuple[str, ...]]:
        size = rng.randint(5, 20)
        p = Patient(index=0, cohort_size=size, series=SeriesFacts())
        layout.add([f"Progressive multifocal leukoencephalopathy in {size} patients with ",
                    self._defect_mention(defect_id), ": a case series"])
        second = None
        if rng.random() < MIXED_SERIES_SHARE:
            others = [d for d in self.defects if d != defect_id]
            second = rng.choices(others, weights=self.defect_weights[: len(others)])[0]
        pieces: list[Piece] = [f"We describe {size} patients with ", self._defect_mention(defect_id)]
        if second:
            pieces += [" or ", self._defect_mention(second)]
        if gene:
            pieces += [", most with ", _Mention(gene, "GENE", gene), " variants"]
        pieces.append(", who developed PML.")
        intro = layout.add(pieces)
        p.defects += [e for e in intro.entities if e.label == "DEFECT"]
        p.genes += [e for e in intro.entities if e.label == "GENE"]
        assert p.series is not None
        if rng.random() < 0.6:
            low = rng.randint(1, 40)
            high = low + rng.randint(5, 40)
            med = rng.randint(low, high)
            males = rng.randint(0, size)
            age_text, sex_text = f"median age {med} years, range {low}-{high}", f"{males} men"
            s = layout.add([f"Their {age_text}; {sex_text} and {size - males} women."])
            p.series.age_years = Summary(float(med), float(low), float(high))
            p.series.sex = {"male": males, "female": size - males}
            p.series.evidence["age_years"] = s.span_of(age_text)
            p.series.evidence["sex"] = s.span_of(sex_text)

        for role, pool, k in (("exposure", self.exposures, rng.choice((1, 2, 2, 3))),
                              ("treatment", self.treatments, rng.choice((0, 1, 1, 2)))):
            for label, key, text, _ in self._drugs(rng, pool, k):
                j = rng.randint(1, size)
                if rng.random() < 0.1:  # named without a number: counts 1 (graph/queries/counting.py)
                    s = layout.add(["Some patients had received ", _Mention(text, label, key), "."])
                elif role == "exposure":
                    s = layout.add([f"{j} patients had received ", _Mention(text, label, key), " before PML."])
                    p.series.drug_counts[key] = j
                    p.series.evidence[f"drug:{key}"] = s.span_of(f"{j} patients")
                else:
                    s = layout.add(["Treatment with ", _Mention(text, label, key), f" was given to {j} patients."])
                    p.series.drug_counts[key] = j
                    p.series.evidence[f"drug:{key}"] = s.span_of(f"{j} patients")
                p.drugs.append(DrugUse(drug=key, is_class=label == "DRUG_CLASS", role=role,  # type: ignore[arg-type]
                                       entity=s.entities[0]))
        p.jcv_detection.append("csf_pcr")
        layout.add(["All diagnoses were confirmed by JC virus PCR in the cerebrospinal fluid."])
        died = rng.randint(0, size)
        s = layout.add([f"{died} of the {size} patients died and {size - died} survived."])
        p.series.died, p.series.survived = died, size - died
        p.series.evidence["died"] = s.span_of(f"{died} of the {size} patients died")
        p.series.evidence["survived"] = s.span_of(f"{size - died} survived")
        if died:
            p.outcome, p.outcome_evidence = "died", s.span_of("died")
        else:
            p.outcome, p.outcome_evidence = "survived", s.span_of("survived")
        if rng.random() < 0.5:
            low = rng.randint(1, 6)
            high = low + rng.randint(3, 30)
            med = rng.randint(low, high)
            phrase = f"median follow-up {med} months (range {low}-{high})"
            s = layout.add([f"The {phrase}."])
            p.series.months_to_outcome = Summary(float(med), float(low), float(high))
            p.series.evidence["months_to_outcome"] = s.span_of(phrase)
        return p, ("Journal Article", "Multicenter Study"), ()


def synthetic_pairs(n: int, seed: int = 0, lexicons: Lexicons | None = None) -> list[tuple[Article, ArticleExtraction]]:
    """``n`` synthetic (Article, ArticleExtraction) pairs, PMIDs ``FIRST_PMID`` .. ``FIRST_PMID + n - 1``."""
    return list(SyntheticCorpus(seed, lexicons).articles(n))


def counted_cases(ex: ArticleExtraction) -> int:
    """Cases as /associations counts them (its universe): a patient 1, a series its size; a series
    mixing defects, and a case without a defect, 0."""
    return sum(p.cohort_size for p in ex.patients
               if p.defects and (p.cohort_size == 1 or len({d.id for d in p.defects}) == 1))


def pairs_for_cases(cases: int, seed: int = 0, lexicons: Lexicons | None = None) -> list[tuple[Article, ArticleExtraction]]:
    """The shortest prefix of the seed's articles that counts at least ``cases`` cases (``counted_cases``)."""
    out: list[tuple[Article, ArticleExtraction]] = []
    total = 0
    for pair in SyntheticCorpus(seed, lexicons).articles(10 * cases + 10):
        if total >= cases:
            break
        out.append(pair)
        total += counted_cases(pair[1])
    return out


def check_offsets(pairs: Sequence[tuple[Article, ArticleExtraction]]) -> int:
    """Every entity's text and sentence sit at their offsets in ``Article.text()``; returns entities checked."""
    checked = 0
    for article, ex in pairs:
        text = article.text()
        for e in ex.entities:
            assert text[e.start:e.end] == e.text, (article.pmid, e)
            ev = e.evidence
            assert ev is not None and text[ev.sentence_start: ev.sentence_start + len(ev.sentence)] == ev.sentence
            checked += 1
        for p in ex.patients:
            series = list(p.series.evidence.values()) if p.series else []
            for ev in [p.outcome_evidence, *p.facts_evidence.values(), *series]:
                if ev is not None:
                    assert text[ev.sentence_start: ev.sentence_start + len(ev.sentence)] == ev.sentence
                    assert ev.sentence_start <= ev.start < ev.end <= ev.sentence_start + len(ev.sentence)
    return checked


def load(store: GraphStore, pairs: Sequence[tuple[Article, ArticleExtraction]]) -> LoadReport:
    """Create the schema, load ``pairs`` with the real GraphLoader, then ``finish()``."""
    create_schema(store)
    loader = GraphLoader(store, ConceptResolver(load_lexicons()))
    report = loader.load(pairs)
    loader.finish()
    return report


if __name__ == "__main__":  # a quick look: python bench/synthetic_graph.py
    import sys
    from collections import Counter

    sample = synthetic_pairs(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    print(f"{len(sample)} articles, {check_offsets(sample)} entities at valid offsets")
    print("cases:", sum(len(ex.patients) for _, ex in sample),
          "patients:", sum(p.cohort_size for _, ex in sample for p in ex.patients))
    print("top defects:", Counter(p.defects[0].id for _, ex in sample for p in ex.patients).most_common(5))
    print(sample[0][0].text())
