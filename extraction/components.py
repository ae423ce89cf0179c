"""spaCy pipeline components of the rules pipeline (registered on import, as spaCy expects).

- ``pmlkg_line_breaks``: abstract sections and the title are separate sentences.
- ``pmlkg_lexicon_ner``: longest-match dictionary NER over token-aligned character spans; one
  dict lookup per candidate, so 100k+ drug variants cost nothing at load or run time. It also
  knows the forms that are never a drug or gene (organisms, viruses, MR-spectroscopy metabolites
  in an MRS passage: ``vetoed``), keeps a salt or ester word with its drug ("glatiramer acetate"),
  and matches a few cytokine-named drugs ("IFN-β") only in a therapy context.
- ``pmlkg_ents_to_spans``: parks a source's entities in a span group, so the next NER sees none.
- ``pmlkg_merge_entities``: one entity set from every source's candidates, by priority, with
  lexicon ids for model spans whose text is a lexicon term.
- ``pmlkg_facts``: regex facts (age, sex, CD4, outcome, PML mentions) as ``doc.spans["facts"]``.
- ``pmlkg_context``: NegEx-style negation and hedging on entities, within the sentence.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import ensure_path

from pmlkg.extraction.facts import find_facts
from pmlkg.extraction.lexicons import NonEntity, Term, is_genus, is_species_of
from pmlkg.extraction.term_scan import doc_tokens, greedy_scan, term_key

for _attr in ("negated", "hedged"):
    if not Span.has_extension(_attr):
        Span.set_extension(_attr, default=False)
if not Span.has_extension("source"):  # "dictionary" | "model" | "abbreviation": how the entity was found
    Span.set_extension("source", default=None)


@Language.component("pmlkg_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """Start a sentence after every newline: the title has no full stop of its own."""
    for tok in doc[:-1]:
        if "\n" in tok.text or "\n" in tok.whitespace_:
            doc[tok.i + 1].is_sent_start = True
    return doc


# Words naming the salt, ester or hydrate form of the drug before them: "glatiramer acetate",
# "methylprednisolone sodium succinate", "diclofenac sodium". A drug mention keeps the words that
# follow it from this list (the dictionary would otherwise tag "acetate" as a drug of its own), and
# a model's drug mention ending in them takes the id of the drug they qualify. Cations other than
# sodium and potassium ("calcium", "magnesium") are left out: after a drug they are usually a
# second drug ("vitamin D calcium").
SALT_WORDS = frozenset({
    "acetate", "diacetate", "hydrochloride", "dihydrochloride", "hcl", "hydrobromide", "sulfate", "sulphate",
    "bisulfate", "sodium", "disodium", "potassium", "mesylate", "mesilate", "dimesylate", "maleate", "fumarate",
    "hemifumarate", "citrate", "phosphate", "diphosphate", "succinate", "hemisuccinate", "tartrate", "bitartrate",
    "besylate", "besilate", "bromide", "chloride", "iodide", "nitrate", "gluconate", "pamoate", "embonate",
    "decanoate", "enanthate", "palmitate", "propionate", "dipropionate", "valerate", "butyrate", "acetonide",
    "pivalate", "benzoate", "hyclate", "monohydrate", "dihydrate", "trihydrate", "hemihydrate", "hydrate",
    "mofetil", "axetil", "disoproxil", "alafenamide", "medoxomil", "etexilate", "tosylate", "xinafoate", "furoate",
    "carbonate", "meglumine", "trometamol", "tromethamine"
})

# Forms also used for a cytokine or gene (IFN-β, interferon gamma: ``context=therapy`` in the drug
# lexicon) are a drug only where the text speaks of giving one: a treatment word among the four
# words before the mention (same clause: "treated with", "switched from", "recombinant"), or after
# it a therapy noun, "was given/started/stopped..." or a dose.
_THERAPY_BEFORE = re.compile(
    r"\b(?:treat(?:ed|ment|ing)|therap(?:y|ies)|receiv(?:ed|ing)|given|administ(?:ered|ration)|start(?:ed|ing)|"
    r"initiat(?:ed|ion|ing)|switch(?:ed|ing)|chang(?:ed|ing)|discontinu(?:ed|ation|ing)|stopp(?:ed|ing)|"
    r"withdr(?:awn|awal|ew)|recombinant|subcutaneous|intramuscular|intravenous|intrathecal|high-dose|low-dose|"
    r"injections?|exposure|exposed|prescribed|regimen|course of)\b", re.IGNORECASE)
_THERAPY_AFTER = re.compile(
    r"^(?:\s*-\s*(?:therapy|treatment|based\s+therapy)\b|"
    r"\s*-\s*treated\s+(?:patients?|subjects?|individuals?|persons?|people|MS|multiple sclerosis|cohorts?|groups?|"
    r"women|men|children|adults)\b|\s+(?:therapy|treatment|monotherapy|injections?|regimen)\b|"
    r"\s+(?:was|were|had been|has been|is|are)\s+(?:then\s+|also\s+|later\s+|subsequently\s+)?"
    r"(?:given|started|administered|stopped|discontinued|withdrawn|initiated|continued|used|switched|replaced|"
    r"tolerated|prescribed|added|resumed|begun|injected)\b|"
    r"\s+for\s+(?:(?:his|her|the|their)\s+)?(?:relapsing\s+|remitting\s+)?(?:multiple sclerosis|MS|hepatitis|PML|"
    r"melanoma|chronic|CGD|progressive multifocal)|\s*,?\s*\d+(?:[.,]\d+)?\s*(?:µg|μg|mcg|mg|MIU|MU|IU|million)\b)",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;!?]\s|\n")
_THERAPY_WINDOW = 40
_THERAPY_WORDS = 4

# An MR-spectroscopy passage (``context=mr-spectroscopy`` non-entities: NAA, choline, lactate...):
# the sentence of the mention or the one before it names spectroscopy or a metabolite ratio, or a
# peak / doublet follows the metabolite within a few words.
_MRS_PASSAGE = re.compile(r"[Ss]pectroscop|SPECTROSCOP|[Ss]pectr(?:a|um)\b|\b(?:1H-?|H-)?MRSI?\b|"
                          r"\b(?:NAA|Cho|t?Cr|Cre|mI|Lac|Glx)\s*/\s*(?:t?Cr|Cre|NAA|Cho|mI|H2O)\b")
_MRS_PEAK_AFTER = re.compile(r"^[\s\w/-]{0,30}?\b(?:peaks?|doublets?|resonances?)\b", re.IGNORECASE)


class _Passages:
    """Per-doc, lazily: which sentences are in an MR-spectroscopy passage."""

    def __init__(self, doc: Doc, text: str):
        self.doc = doc
        self.text = text  # doc.text, read once by the caller (Doc.text joins every token)
        self.any_mrs = bool(_MRS_PASSAGE.search(self.text))
        self._starts: list[int] | None = None
        self._mrs: list[bool] = []

    def is_mrs(self, start_char: int, end_char: int) -> bool:
        if _MRS_PEAK_AFTER.match(self.text[end_char: end_char + 60]):
            return True
        if not self.any_mrs:
            return False
        if self._starts is None:
            sents = list(self.doc.sents)
            self._starts = [s.start_char for s in sents]
            self._mrs = [bool(_MRS_PASSAGE.search(s.text)) for s in sents]
        k = max(0, bisect_right(self._starts, start_char) - 1)
        return self._mrs[k] or (k > 0 and self._mrs[k - 1])


def therapy_context(text: str, start_char: int, end_char: int) -> bool:
    """Does the text around ``text[start_char:end_char]`` speak of giving it as a drug?"""
    before = text[max(0, start_char - _THERAPY_WINDOW): start_char]
    cut = list(_CLAUSE_END.finditer(before))
    if cut:
        before = before[cut[-1].end():]
    before = " ".join(before.split()[-_THERAPY_WORDS:])
    return bool(_THERAPY_BEFORE.search(before) or _THERAPY_AFTER.match(text[end_char: end_char + 60]))


def _words(text: str) -> set[str]:
    return {w.removesuffix("s") for w in re.findall(r"[^\W_]+", text.casefold()) if len(w) > 1}


@Language.factory("pmlkg_lexicon_ner", default_config={"max_tokens": 12, "spans_key": None})
def make_lexicon_ner(nlp: Language, name: str, max_tokens: int, spans_key: str | None) -> LexiconNER:
    return LexiconNER(name, max_tokens=max_tokens, spans_key=spans_key)


_TRAILING_WORD = re.compile(r"[\s-][^\s-]+$")


class LexiconNER:
    """Dictionary NER: exact-case terms (symbols, abbreviations) win over case-folded names.

    Besides the terms: therapy-only forms (matched where :func:`therapy_context` holds, and then
    curated: the text says a drug is given, so no gene model overrules it), non-entity forms
    (:meth:`vetoed`; never kept, by this matcher or by ``pmlkg_merge_entities``), and salt words
    kept with the drug before them (``SALT_WORDS``).
    """

    def __init__(self, name: str = "pmlkg_lexicon_ner", *, max_tokens: int = 12, spans_key: str | None = None):
        self.name = name
        self.max_tokens = max_tokens
        self.spans_key = spans_key  # None: set doc.ents; else a candidate group for pmlkg_merge_entities
        self.exact: dict[str, tuple[str, str]] = {}
        self.folded: dict[str, tuple[str, str]] = {}
        self.therapy_exact: dict[str, tuple[str, str]] = {}  # matched only in a therapy context
        self.therapy_folded: dict[str, tuple[str, str]] = {}
        self.ids_only: dict[str, tuple[str, str]] = {}  # exact-case forms that give an id, never a match
        self.curated: set[tuple[str, str]] = set()  # (label, id) whose matches also go to <spans_key>_curated
        # non-entity forms -> (labels they are never, context); genera also veto "<genus> <epithet>"
        self.non_exact: dict[str, tuple[frozenset[str], str]] = {}
        self.non_folded: dict[str, tuple[frozenset[str], str]] = {}
        self.non_genera: dict[str, tuple[frozenset[str], str]] = {}
        self._form_words: dict[tuple[str, str], set[str]] | None = None
        self._therapy_heads: frozenset[str] | None = None  # first words of therapy-only forms

    def add_terms(self, terms: Iterable[Term], *, match: bool = True) -> None:
        """``match=False``: forms only :meth:`normalise` knows (every HGNC symbol and alias: too many
        short, ambiguous strings to match in free text, but safe once a model says "gene").
        ``Lexicons.terms()`` also carries the non-entity forms (``non_entities``): added here too."""
        self._form_words = self._therapy_heads = None
        for t in terms:
            text = term_key(t.text)
            if not text:
                continue
            if t.curated:
                self.curated.add((t.label, t.id))
            if not match:
                self.ids_only.setdefault(text, (t.label, t.id))
            elif t.context == "therapy":
                table = self.therapy_exact if t.case_sensitive else self.therapy_folded
                table.setdefault(text if t.case_sensitive else text.lower(), (t.label, t.id))
            elif t.context:
                raise ValueError(f"unknown term context {t.context!r} ({t.text!r})")
            elif t.case_sensitive:
                self.exact.setdefault(text, (t.label, t.id))
            else:
                self.folded.setdefault(text.lower(), (t.label, t.id))
        if match:
            self.add_non_entities(getattr(terms, "non_entities", ()))

    def add_non_entities(self, forms: Iterable[NonEntity]) -> None:
        for f in forms:
            text = term_key(f.text)
            value = (frozenset(f.labels), f.context)
            if f.case_sensitive:
                self.non_exact.setdefault(text, value)
            else:
                self.non_folded.setdefault(text.lower(), value)
                if is_genus(text) and not f.context:
                    self.non_genera.setdefault(text.lower(), value)

    def __len__(self) -> int:
        return len(self.exact) + len(self.folded)

    def lookup(self, text: str) -> tuple[str, str] | None:
        return self.exact.get(text) or self.folded.get(text.lower())

    def therapy_lookup(self, text: str) -> tuple[str, str] | None:
        return self.therapy_exact.get(text) or self.therapy_folded.get(text.lower())

    def therapy_heads(self) -> frozenset[str]:
        """Lower-cased first words of the therapy-only forms ("ifn", "interferon"): a cheap test
        that spares the second lookup for candidates starting anywhere else."""
        if self._therapy_heads is None:
            self._therapy_heads = frozenset(m.group() for t in (*self.therapy_exact, *self.therapy_folded)
                                            if (m := re.match(r"[^\W_]+", t.lower())))
        return self._therapy_heads

    def normalise(self, text: str) -> tuple[str, str] | None:
        """(label, id) of a mention another component found: a matcher term, a therapy-only form
        (the caller checks the label: a model's GENE "IFN-γ" stays a gene), else an id-only form,
        also written without hyphens ("IL-10" -> IL10)."""
        return (self.lookup(text) or self.therapy_lookup(text) or self.ids_only.get(text)
                or self.ids_only.get(text.replace("-", "")))

    def vetoed(self, text: str, label: str, start_char: int, end_char: int, passages: _Passages) -> bool:
        """Is this mention a form that is never a ``label`` here (a curated non-entity)?

        The form itself ("JC virus", "JCV", "choline"), or a genus and a lower-case epithet ("Candida
        glabrata"); an ``mr-spectroscopy`` form only inside an MR-spectroscopy passage.
        """
        if not (self.non_exact or self.non_folded):
            return False
        text = term_key(text)
        hit = self.non_exact.get(text) or self.non_folded.get(text.lower())
        if hit is None and self.non_genera and is_species_of(text, self.non_genera):
            hit = self.non_genera[text.partition(" ")[0].lower()]
        if hit is None:  # the form and a word a model took along ("JC virus-infected", "JC virus disease")
            head = _TRAILING_WORD.sub("", text)
            while hit is None and head and head != text:
                hit = self.non_exact.get(head) or self.non_folded.get(head.lower())
                text, head = head, _TRAILING_WORD.sub("", head)
            if hit is not None and hit[1]:
                hit = None  # a context-bound form ("choline") does not extend to longer mentions
        if hit is None:
            return False
        labels, context = hit
        if ("DRUG" if label == "DRUG_CLASS" else label) not in labels:
            return False
        return not context or passages.is_mrs(start_char, end_char)

    def form_words(self, label: str, kb_id: str) -> set[str]:
        """The words of every form of a record and of its id (for abbreviation checks)."""
        if self._form_words is None:
            index: dict[tuple[str, str], set[str]] = {}
            for table in (self.exact, self.folded, self.therapy_exact, self.therapy_folded):
                for text, key in table.items():
                    index.setdefault(key, set()).update(_words(text))
            self._form_words = index
        return self._form_words.get((label, kb_id), set()) | _words(kb_id)

    def _glued_to_number(self, doc: Doc, i: int) -> bool:
        """"5-AZA": a short drug abbreviation hyphenated to a number names another compound."""
        return (i >= 2 and doc[i - 1].text == "-" and not doc[i - 1].whitespace_ and not doc[i - 2].whitespace_
                and doc[i - 2].text[-1:].isdigit())

    def salt_end(self, doc: Doc, j: int) -> int:
        """The last token of a drug mention ending at ``j`` once its salt/ester words are added."""
        while j + 1 < len(doc) and doc[j].whitespace_ == " " and doc[j + 1].lower_ in SALT_WORDS:
            j += 1
        return j

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        passages = _Passages(doc, text)
        bounds, opens = doc_tokens(doc)
        heads = self.therapy_heads()
        therapy_starts = {t.i for t in doc if t.lower_ in heads} if heads else set()

        def find(candidate: str, i: int, j: int) -> tuple[tuple[str, str], bool] | None:
            found, therapy = self.lookup(candidate), False
            if found is None and i in therapy_starts:
                found = self.therapy_lookup(candidate)
                therapy = found is not None
                if therapy and not therapy_context(text, bounds[i][0], bounds[j][1]):
                    found = None
            if found and found[0] in ("DRUG", "DRUG_CLASS") and len(candidate) <= 5 \
                    and candidate in self.exact and self._glued_to_number(doc, i):
                found = None
            return (found, therapy) if found else None

        def resolve(i: int, j: int, hit: tuple[tuple[str, str], bool]) -> tuple[int, tuple[tuple[str, str], bool]] | None:
            (label, kb_id), therapy = hit
            if self.vetoed(doc[i: j + 1].text, label, bounds[i][0], bounds[j][1], passages):
                return None
            if label == "DRUG":
                end = self.salt_end(doc, j)
                if end > j:
                    whole = self.lookup(doc[i: end + 1].text)
                    if whole and whole[0] == "DRUG":
                        kb_id = whole[1]
                    j = end
            return j, ((label, kb_id), therapy)

        spans: list[Span] = []
        given: set[int] = set()  # starts of therapy-context matches: curated
        for i, j, ((label, kb_id), therapy) in greedy_scan(text, bounds, find, self.max_tokens, starts=opens,
                                                           resolve=resolve, squeeze_spaces=True):
            spans.append(Span(doc, i, j + 1, label=label, kb_id=kb_id))
            if therapy:
                given.add(i)
        if self.spans_key:
            doc.spans[self.spans_key] = spans
            doc.spans[f"{self.spans_key}_curated"] = [s for s in spans
                                                      if (s.label_, s.kb_id_) in self.curated or s.start in given]
        else:
            doc.set_ents(spans, default="unmodified")
            for ent in doc.ents:
                ent._.source = "dictionary"
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / "terms.tsv").open("w", encoding="utf-8") as f:
            for cs, table in ((1, self.exact), (0, self.folded)):
                for text, (label, kb_id) in sorted(table.items()):
                    f.write(f"{text}\t{label}\t{kb_id}\t{cs}\n")
        with (path / "ids_only.tsv").open("w", encoding="utf-8") as f:
            for text, (label, kb_id) in sorted(self.ids_only.items()):
                f.write(f"{text}\t{label}\t{kb_id}\n")
        with (path / "therapy_terms.tsv").open("w", encoding="utf-8") as f:
            for cs, table in ((1, self.therapy_exact), (0, self.therapy_folded)):
                for text, (label, kb_id) in sorted(table.items()):
                    f.write(f"{text}\t{label}\t{kb_id}\t{cs}\n")
        with (path / "non_entities.tsv").open("w", encoding="utf-8") as f:
            for cs, table in ((1, self.non_exact), (0, self.non_folded)):
                for text, (labels, context) in sorted(table.items()):
                    genus = int(cs == 0 and text in self.non_genera)
                    f.write(f"{text}\t{cs}\t{'|'.join(sorted(labels))}\t{context}\t{genus}\n")
        with (path / "curated.tsv").open("w", encoding="utf-8") as f:
            for label, kb_id in sorted(self.curated):
                f.write(f"{label}\t{kb_id}\n")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> LexiconNER:
        path = ensure_path(path)
        self.exact.clear()
        self.folded.clear()
        self.ids_only.clear()
        self.curated.clear()
        for table in (self.therapy_exact, self.therapy_folded, self.non_exact, self.non_folded, self.non_genera):
            table.clear()
        self._form_words = self._therapy_heads = None
        with (path / "terms.tsv").open(encoding="utf-8") as f:
            for line in f:
                text, label, kb_id, cs = line.rstrip("\n").split("\t")
                (self.exact if cs == "1" else self.folded)[text] = (label, kb_id)
        if (path / "ids_only.tsv").is_file():
            with (path / "ids_only.tsv").open(encoding="utf-8") as f:
                for line in f:
                    text, label, kb_id = line.rstrip("\n").split("\t")
                    self.ids_only[text] = (label, kb_id)
        if (path / "therapy_terms.tsv").is_file():
            with (path / "therapy_terms.tsv").open(encoding="utf-8") as f:
                for line in f:
                    text, label, kb_id, cs = line.rstrip("\n").split("\t")
                    (self.therapy_exact if cs == "1" else self.therapy_folded)[text] = (label, kb_id)
        if (path / "non_entities.tsv").is_file():
            with (path / "non_entities.tsv").open(encoding="utf-8") as f:
                for line in f:
                    text, cs, labels, context, genus = line.rstrip("\n").split("\t")
                    value = (frozenset(labels.split("|")), context)
                    (self.non_exact if cs == "1" else self.non_folded)[text] = value
                    if genus == "1":
                        self.non_genera[text] = value
        if (path / "curated.tsv").is_file():
            with (path / "curated.tsv").open(encoding="utf-8") as f:
                self.curated = {tuple(line.rstrip("\n").split("\t")) for line in f}  # type: ignore[misc]
        return self


@Language.factory("pmlkg_ents_to_spans", default_config={"spans_key": "ner"})
def make_ents_to_spans(nlp: Language, name: str, spans_key: str) -> EntsToSpans:
    return EntsToSpans(spans_key)


class EntsToSpans:
    """Move ``doc.ents`` into ``doc.spans[spans_key]`` and clear them.

    spaCy's NER keeps entities already set and only fills the gaps, so a model placed after
    another one never sees the tokens the first one took: the gene model could not claim
    "insulin" once a drug source had. Each source parks its spans here instead, and
    ``pmlkg_merge_entities`` decides between them with every candidate in view.
    """

    def __init__(self, spans_key: str):
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[self.spans_key] = list(doc.ents)
        doc.set_ents([], default="outside")
        return doc


@Language.factory("pmlkg_merge_entities", default_config={
    "priority": [["lexicon", None]], "lexicon_component": "pmlkg_lexicon_ner"})
def make_merger(nlp: Language, name: str, priority: list[list], lexicon_component: str) -> EntityMerger:
    return EntityMerger(nlp, [(key, frozenset(labels) if labels else None) for key, labels in priority],
                        lexicon_component)


class EntityMerger:
    """The entities of the doc: candidate spans of every source, by priority, then normalised.

    ``priority`` lists ``(spans key, labels or None)`` in the order sources win a conflict;
    ``"ents"`` names the spans still in ``doc.ents``. A candidate is kept when it overlaps no
    span kept before it. The order is chosen on the development splits (nlp_models/README.md).
    Three rules come first: a gene inside a longer disease mention ("G6PD deficiency") gives way
    to the disease, a CD marker in a cell count ("CD4+ T cells") is no gene mention, and a
    curated non-entity (an organism, JC virus, an MRS metabolite in an MRS passage:
    ``LexiconNER.vetoed``) is no drug or gene whichever source says so. A kept drug takes the
    salt or ester words after it ("glatiramer" + "acetate").

    Normalisation: a model span without an id whose text is a lexicon term takes the term's label
    and id (a DISEASE that is an immune defect becomes DEFECT; "corticosteroids" DRUG_CLASS; a
    GENE outside the IUIS list its HGNC symbol; a DRUG "glatiramer acetate" the id of "glatiramer").
    Anything else keeps the model's label with no id: an unnormalised but well-formed gene, drug
    or disease.
    """

    def __init__(self, nlp: Language, priority: list[tuple[str, frozenset[str] | None]], lexicon_component: str):
        self.nlp = nlp
        self.priority = priority
        self.lexicon_component = lexicon_component

    def __call__(self, doc: Doc) -> Doc:
        lexicon: LexiconNER = self.nlp.get_pipe(self.lexicon_component)  # type: ignore[assignment]
        taken = bytearray(len(doc))
        kept: list[tuple[Span, str]] = []
        text = doc.text
        passages = _Passages(doc, text)
        sources = [(key, labels, list(doc.ents if key == "ents" else doc.spans.get(key, ())))
                   for key, labels in self.priority]
        named_diseases = [(s.start, s.end) for _, _, spans in sources for s in spans if s.label_ == "DISEASE"]
        for key, labels, spans in sources:
            for span in spans:
                if span.label_ == "GENE" and (_is_cell_marker(span, text) or any(
                        start <= span.start and span.end <= end and end - start > len(span)
                        for start, end in named_diseases)):
                    continue  # "G6PD deficiency", "HPRT-deficient": the disease named by its gene wins
                if span.label_ in ("DRUG", "DRUG_CLASS", "GENE") and lexicon.vetoed(
                        span.text, span.label_, span.start_char, span.end_char, passages):
                    continue  # "Cryptococcus", "JCV", choline in MR spectroscopy: never a drug or gene
                if (labels is None or span.label_ in labels) and not any(taken[span.start:span.end]):
                    if span.label_ == "DRUG":
                        end = lexicon.salt_end(doc, span.end - 1) + 1
                        if end > span.end and not any(taken[span.end:end]):
                            span = Span(doc, span.start, end, label=span.label_, kb_id=span.kb_id_)
                    taken[span.start:span.end] = b"\x01" * len(span)
                    kept.append((self._normalised(doc, span, lexicon), "dictionary" if key.startswith("lexicon")
                                 else "model"))
        doc.set_ents(sorted((s for s, _ in kept), key=lambda s: s.start), default="outside")
        source = {s.start: how for s, how in kept}
        for ent in doc.ents:
            ent._.source = source[ent.start]
        return doc

    @staticmethod
    def _normalised(doc: Doc, span: Span, lexicon: LexiconNER) -> Span:
        if not span.kb_id_:
            hit = lexicon.normalise(span.text)
            if hit is None and span.label_ == "DRUG":  # "glatiramer acetate": the drug of the salt
                words = span.text.split()
                while len(words) > 1 and words[-1].lower() in SALT_WORDS:
                    words.pop()
                hit = lexicon.normalise(" ".join(words)) if len(words) < len(span.text.split()) else None
            if hit and (hit[0] == span.label_ or {hit[0], span.label_} in _COMPATIBLE):
                return Span(doc, span.start, span.end, label=hit[0], kb_id=hit[1])
        return Span(doc, span.start, span.end, label=span.label_, kb_id=span.kb_id_)


_COMPATIBLE = [{"DEFECT", "DISEASE"}, {"DRUG_CLASS", "DRUG"}]
_CD_MARKER = re.compile(r"^CD\d{1,3}[a-z]?$")
_MARKER_CONTEXT = re.compile(r"^(?:\+|\s*-?\s*(?:positive|negative)\b|[\s-]*(?:T[\s-]*)?(?:cells?|counts?|ratios?|lymphocytes?|"
                             r"lymphopenia|T\b|B\b|NK\b|[/,]\s*CD\d))", re.IGNORECASE)


def _is_cell_marker(span: Span, text: str) -> bool:
    """"CD4+ T cells", "CD4 count", "CD4/CD8": a lymphocyte marker in a cell count, not a gene
    mention (the patient's CD4 count is a fact of its own, ``pmlkg_facts``)."""
    return bool(_CD_MARKER.match(span.text) and _MARKER_CONTEXT.match(text[span.end_char: span.end_char + 20]))


@Language.component("pmlkg_facts")
def facts(doc: Doc) -> Doc:
    group = SpanGroup(doc, name="facts")
    for fact in find_facts(doc.text):
        span = doc.char_span(fact.start, fact.end, label=fact.label, alignment_mode="expand")
        if span is not None:
            group.append(span)
    doc.spans["facts"] = group
    return doc


# NegEx-style triggers: pre-triggers scope forward, post-triggers scope backward, both stop at a
# terminator (a contrastive word or clause punctuation) and at the sentence end.
_NEG_PRE = re.compile(
    r"\b(?:no|not|never|none|without|denied|denies|free of|negative for|absence of|lack of|"
    r"no (?:prior|previous|history of|evidence of)|had not|has not|was not|were not|nor|"
    r"neither|ruled out|rule out|excluded)\b", re.IGNORECASE)
# After the mention: "was not given", "was considered but not given", "was not available", "had never
# been indicated" (a drug named only to say the patient did not receive it).
_NEG_POST = re.compile(
    r"^\W*(?:was|were)?\s*(?:not (?:given|received|used|administered|detected|found|available|started|tolerated)|"
    r"(?:was|were)?\s*(?:ruled out|excluded|negative|absent|withheld|avoided|unavailable|declined|refused|"
    r"contraindicated|deferred)|(?:was|were) (?:considered|discussed|proposed|planned|offered|recommended|suggested),?"
    r" (?:but )?(?:not|never)\b|(?:had|has|have) never been (?:given|indicated|used|prescribed|started|needed))\b",
    re.IGNORECASE)
_HEDGE_PRE = re.compile(
    r"\b(?:possible|possibly|probable|probably|suspected|suspicion of|likely|presumed|"
    r"presumptive|could not be excluded|consistent with|suggestive of|may have|might)\b", re.IGNORECASE)
_TERMINATOR = re.compile(r"\b(?:but|however|although|though|yet|except|whereas|which|who)\b|[;:]", re.IGNORECASE)
_WINDOW = 60  # characters searched before a mention


def sentence_table(doc: Doc) -> tuple[list[Span], list[int]]:
    """The sentences and, per token, its sentence index: ``span.sent`` rescans the doc on every
    call, which turns a long one-sentence input quadratic. Computed once per doc (kept in
    ``doc.user_data`` until the extractor is done with the doc: the sentences never change after
    the sentencizers)."""
    table = doc.user_data.get("pmlkg_sentences")
    if table is None:
        table = doc.user_data["pmlkg_sentences"] = _sentence_table(doc)
    return table


def _sentence_table(doc: Doc) -> tuple[list[Span], list[int]]:
    sents = list(doc.sents)
    of_token = [0] * len(doc)
    for k, sent in enumerate(sents):
        for i in range(sent.start, sent.end):
            of_token[i] = k
    return sents, of_token


@Language.component("pmlkg_context")
def context(doc: Doc) -> Doc:
    targets = list(doc.ents) + [s for s in doc.spans.get("facts", []) if s.label_ == "PML"]
    sents, of_token = sentence_table(doc)
    text = doc.text  # Doc.text joins every token on each access: read it once
    for ent in targets:
        sent = sents[of_token[ent.start]]
        before = text[max(sent.start_char, ent.start_char - _WINDOW): ent.start_char]
        cut = list(_TERMINATOR.finditer(before))
        if cut:
            before = before[cut[-1].end():]
        after = text[ent.end_char: min(sent.end_char, ent.end_char + _WINDOW)]
        ent._.negated = bool(_NEG_PRE.search(before) or _NEG_POST.search(after))
        ent._.hedged = bool(_HEDGE_PRE.search(before))
    return doc
