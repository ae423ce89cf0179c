"""Case assembly: from an annotated abstract to the patients it reports.

An abstract reports one patient (a case report), several that it describes one by one ("two
brothers"), or a series whose patients it does not separate (one cohort record carrying its
counts). Sentences before the first patient is introduced (title, background) are shared by
every patient; after that, each sentence belongs to the patient last introduced.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span

from pmlkg.extraction.components import sentence_table
from pmlkg.extraction.facts import JC_VIRUS, NUMBER, months_in, number, parse_value
from pmlkg.extraction.lexicons import Lexicons
from pmlkg.extraction.records import DrugUse, Entity, Evidence, Patient, Role
from pmlkg.extraction.roles import RoleContext, classify_role, resolve_role
from pmlkg.extraction.series import DrugMention, Sentence, series_facts
from pmlkg.ingest.records import Article

_CASE_CUE = re.compile(
    r"\b(?:we (?:report|describe|present|treated|saw|managed|cared for)|cases? of|here(?:in)?,? we (?:report|describe|present)|case of|"
    r"a case|case report|(?:this|our) patient|the patient)\b", re.IGNORECASE)
_SERIES_CUE = re.compile(
    r"\b(?:we (?:reviewed|identified|analy[sz]ed|retrospectively|studied|collected)|retrospective|"
    r"case series|cohort|registry|series of)\b", re.IGNORECASE)
_GENERIC = re.compile(
    r"\b(?:usually|often|generally|typically|commonly|high mortality|mortality rate|risk of|"
    r"may|might|can|should|is a|are rare|patients with|in patients)\b", re.IGNORECASE)
# Umbrella defects: dropped when a patient also has a specific defect.
_UMBRELLA = frozenset({"pmlkg:pid-unspecified", "pmlkg:combined-immunodeficiency"})
_DIAGNOSIS_CUE = re.compile(
    r"\b(?:diagnos\w*|confirm\w*|detected|developed|presented|revealed|biopsy|was found|showed|"
    r"demonstrated|compatible with|consistent with)\b", re.IGNORECASE)
_PATIENT_START = re.compile(
    r"\b(?:the (?:first|second|third|elder|older|younger|index|other)|patient\s*(?:[1-9]|one|two|three)|"
    r"case\s*(?:[1-9]|one|two|three)|his (?:younger|older|elder) (?:brother|sister)|"
    r"her (?:younger|older|elder) (?:brother|sister))\b", re.IGNORECASE)
_GROUP_WORDS = {"patients", "pts", "cases", "children", "adults", "men", "women", "boys", "girls"}
_MAX_DESCRIBED = 10  # more "patient introductions" than this is not a case report's layout
_SIBLING_WORDS = {"brothers", "sisters", "siblings", "members"}


@dataclass(slots=True)
class CaseLayout:
    about_pml: bool
    is_case: bool
    cohort_size: int = 1
    n_patients: int = 0
    series_counts: dict[str, int] = field(default_factory=dict)


_EVIDENCE_CHARS = 1000  # a longer "sentence" (no full stops) is cut to a window around the mention


def _doc_text(doc: Doc) -> str:
    """``Doc.text`` rebuilds the string from every token on each access; keep one copy per doc."""
    text = doc.user_data.get("pmlkg_text")
    if text is None:
        text = doc.user_data["pmlkg_text"] = doc.text
    return text


def sentence_table_of(doc: Doc) -> list[Span]:
    return sentence_table(doc)[0]


def sentence_of(span: Span) -> Span:
    sents, of_token = sentence_table(span.doc)
    return sents[of_token[span.start]]


def evidence_for(span: Span) -> Evidence:
    sent = sentence_of(span)
    doc_text = _doc_text(span.doc)
    lo, hi = sent.start_char, sent.end_char
    if hi - lo > _EVIDENCE_CHARS:
        lo = max(sent.start_char, span.start_char - _EVIDENCE_CHARS // 2)
        hi = min(sent.end_char, lo + _EVIDENCE_CHARS)
    text = doc_text[lo:hi]
    stripped = text.lstrip()
    return Evidence(sentence=stripped.rstrip(), sentence_start=lo + len(text) - len(stripped),
                    start=span.start_char, end=span.end_char)


def entity_from_span(span: Span) -> Entity:
    return Entity(text=span.text, label=span.label_, start=span.start_char, end=span.end_char,  # type: ignore[arg-type]
                  id=span.kb_id_ or None, negated=bool(span._.negated), hedged=bool(span._.hedged),
                  evidence=evidence_for(span), source=span._.source)


def assemble_patients(doc: Doc, article: Article, lex: Lexicons) -> tuple[CaseLayout, list[Patient]]:
    sents = sentence_table_of(doc)
    facts = list(doc.spans.get("facts", []))
    sent_index = {s.start: i for i, s in enumerate(sents)}

    def sent_of(span: Span) -> int:
        return sent_index[sentence_of(span).start]

    by_sent: dict[int, list[Span]] = {}
    for span in facts + list(doc.ents):
        by_sent.setdefault(sent_of(span), []).append(span)

    pml = [f for f in facts if f.label_ == "PML" and not f._.negated]
    has_defect = any(e.label_ == "DEFECT" for e in doc.ents)
    layout = CaseLayout(about_pml=_about_pml(pml, _doc_text(doc), article, has_defect), is_case=False)
    if not layout.about_pml:
        return layout, []
    pubtypes = set(article.publication_types)
    ages = [f for f in facts if f.label_ == "AGE"]
    counts = [f for f in facts if f.label_ == "PATIENT_COUNT" and not _from_literature(f)]
    is_review = bool(pubtypes & {"Review", "Systematic Review", "Meta-Analysis"})
    case_cue = bool(_CASE_CUE.search(_doc_text(doc)))
    series_cue = bool(_SERIES_CUE.search(_doc_text(doc)))
    layout.is_case = bool(ages) or "Case Reports" in pubtypes or (case_cue and not is_review)
    if is_review and not ages and not ("Case Reports" in pubtypes):
        layout.is_case = False
    if not layout.is_case and not (series_cue and counts):
        return layout, []

    group_sizes = [int(parse_value("PATIENT_COUNT", c.text) or 0) for c in counts]
    who = [c.text.split()[-1].lower() for c in counts]
    n_described = len({sent_of(a) for a in ages})
    cohort = _cohort_size(counts, group_sizes, who, pml)
    if cohort and n_described < cohort and (series_cue or not ages):
        layout.is_case = True
        layout.cohort_size = cohort
        return layout, [_cohort_patient(doc, sents, by_sent, lex, cohort)]

    multi = next((n for n, w in zip(group_sizes, who, strict=True) if 2 <= n <= 4 and (w in _SIBLING_WORDS or w in _GROUP_WORDS)), 0)
    intros = sorted({sent_of(f) for f in facts if f.label_ == "INTRO"})
    starts = _patient_starts(sents, by_sent) if multi else intros
    if multi and len(starts) < 2 and len(intros) < 2:
        # "two cases", "two brothers" that the abstract never separates: one record for both
        layout.is_case = True
        layout.cohort_size = multi
        return layout, [_cohort_patient(doc, sents, by_sent, lex, multi)]
    if 2 <= len(starts) <= _MAX_DESCRIBED:
        starts = starts[:multi] if multi else starts
    else:
        starts = [_first_case_sentence(sents, by_sent)]
    diagnosis_at = _diagnosis_sentence(sents, by_sent)
    patients = []
    shared = range(0, starts[0])
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(sents)
        own = range(start, end)
        patients.append(_patient(k, doc, sents, by_sent, lex, shared, own, diagnosis_at, single=len(starts) == 1))
    layout.n_patients = len(patients)
    if len(patients) == 1:
        patients[0].mesh_support = mesh_support(patients[0], article)
    return layout, patients


_PML_CONTEXT = re.compile(
    r"\b(?:demyelinat\w*|white[- ]matter|leu[ck]oencephalopath\w*|brain|MRI|neurolog\w*|cerebr\w*|"
    r"polyomavirus|JC\b|JCV)", re.IGNORECASE)
_PML_PROTEIN = re.compile(r"promyelocytic|leuka?emi|\bRARA?\b|nuclear bod", re.IGNORECASE)
_PML_MESH = {"leukoencephalopathy, progressive multifocal", "jc virus"}


def _about_pml(pml: list[Span], text: str, article: Article, has_defect: bool) -> bool:
    """Whether the text reports PML. A long form or JC virus says so; bare "PML" is also the
    promyelocytic leukaemia protein and gene, so alone it counts only when the context is PML's
    (the brain, demyelination, MeSH indexing, an immune defect) and never beside the leukaemia's
    words ("promyelocytic", "RARA", "nuclear bodies")."""
    if any(f.text.upper() != "PML" for f in pml):
        return True
    if not pml or _PML_PROTEIN.search(text):
        return False
    mesh = {m.lower() for m in article.mesh_descriptors}
    return bool(mesh & _PML_MESH) or has_defect or bool(_PML_CONTEXT.search(text))


def mesh_support(patient: Patient, article: Article) -> list[str]:
    """Which text-derived facts the MeSH indexing confirms: a second signal, never the only one."""
    mesh = {m.lower() for m in article.mesh_descriptors} | {c.name.lower() for c in article.chemicals}
    support = []
    if patient.sex and patient.sex in mesh and ({"male", "female"} - {patient.sex}).isdisjoint(mesh):
        support.append("sex")
    if patient.outcome == "died" and "fatal outcome" in mesh:
        support.append("outcome")
    support += [f"drug:{u.drug}" for u in patient.drugs if u.drug in mesh and not u.entity.negated]
    return support


_DENOMINATOR = re.compile(r"\b(?:registry|registered|database|cent(?:re|er)s?|screened|followed(?: up)?|enrolled|transplanted|"
                          r"cohort of|population|among|out of|of whom|in our (?:clinic|institution|hospital))\b",
                          re.IGNORECASE)


def _cohort_size(counts: list[Span], sizes: list[int], who: list[str], pml: list[Span]) -> int:
    """The size of the series: the patients with PML, not the population they came from. The
    first count of patients in the text, except one said of a registry, a centre or a
    denominator when a smaller count exists; "of 412 patients in the registry, 7 developed PML"
    is 7 (a count whose verb is developing PML)."""
    cands = [(n, c.start_char, sentence_of(c)) for n, w, c in zip(sizes, who, counts, strict=True) if n >= 3 and w in _GROUP_WORDS]
    developing: set[tuple[int, int]] = set()
    for sent in {sentence_of(f).start: sentence_of(f) for f in pml}.values():
        for m in _DEVELOPED_PML.finditer(sent.text):
            n = int(number(m.group("k") or m.group("k2") or m.group("k3")) or 0)
            if n >= 2:
                cands.append((n, sent.start_char + m.start(), sent))
                developing.add((n, sent.start_char + m.start()))
    if not cands:
        return 0
    cands.sort(key=lambda c: c[1])

    developed = [(n, at, sent) for n, at, sent in cands if (n, at) in developing]

    def denominator(n: int, at: int, sent: Span) -> bool:
        """Said of a registry or centre, or followed in its sentence by a smaller count of
        patients who developed PML ("of 412 children transplanted, 7 developed PML")."""
        if (n, at) in developing:
            return False
        lo = at - sent.start_char
        return bool(_DENOMINATOR.search(sent.text[max(0, lo - 30): lo + 60])) or any(
            d_sent.start == sent.start and d_at > at and d_n < n for d_n, d_at, d_sent in developed)

    smallest = min(n for n, _, _ in cands)
    kept = [c for c in cands if not (denominator(*c) and c[0] > smallest)] or cands
    return kept[0][0]


_PCT = r"(?:\(\s*\d+(?:\.\d+)?\s*%\s*\)\s+)?"
_DEVELOPED_PML = re.compile(
    rf"\b(?P<k>{NUMBER})\s+(?:of\s+(?:the\s+|them\s+|these\s+)?(?:{NUMBER})\s+)?(?:\w+\s+)?{_PCT}(?:of them\s+)?"
    r"(?:developed|had|were diagnosed with|presented with)\s+(?:\w+\s+){0,2}?(?:PML|progressive multifocal)"
    rf"|\b(?:identified|found|diagnosed|describe|report)\s+(?P<k2>{NUMBER})\s+(?:\w+\s+)?(?:with|who developed)\s+"
    r"(?:\w+\s+){0,2}?(?:PML|progressive multifocal)"
    rf"|\b(?:PML|progressive multifocal leu[ck]oencephalopathy)\s+(?:was|had been|were)\s+(?:diagnosed|identified|found|"
    rf"confirmed)\s+in\s+(?P<k3>{NUMBER})\b", re.IGNORECASE)


_LITERATURE = re.compile(r"\b(?:previous(?:ly)?|published|literature|review of|reported (?:cases|patients)|"
                         r"meta-analys\w*)\b", re.IGNORECASE)


def _from_literature(count: Span) -> bool:
    """A count of patients from earlier publications ("23 previously published patients", "a review
    of 40 cases from the literature") is not the size of the abstract's own series."""
    sent = sentence_of(count)
    lo, hi = count.start_char - sent.start_char, count.end_char - sent.start_char
    if _LITERATURE.search(sent.text[max(0, lo - 25): hi + 40]):
        return True
    # "we reviewed 18 cases ... in the literature": reviewed, with the literature further on
    return bool(re.search(r"\breviewed\b", sent.text[max(0, lo - 25): lo])) and bool(_LITERATURE.search(sent.text))


def _first_case_sentence(sents: list[Span], by_sent: dict[int, list[Span]]) -> int:
    for i, _ in enumerate(sents):
        if any(s.label_ == "AGE" for s in by_sent.get(i, [])):
            return i
    return 1 if len(sents) > 1 else 0


def _patient_starts(sents: list[Span], by_sent: dict[int, list[Span]]) -> list[int]:
    """Sentences that introduce a patient: an age ("a 9-year-old boy") or an ordinal cue.

    A heading and the sentence right after it ("Case 1." then "M, 12 y, XLA") introduce one
    patient, not two.
    """
    starts: list[int] = []
    for i, sent in enumerate(sents):
        has_age = any(s.label_ == "AGE" for s in by_sent.get(i, []))
        if has_age or (i > 0 and _PATIENT_START.search(sent.text)):
            if not starts or (starts[-1] != i and not (starts[-1] == i - 1 and _HEADING.fullmatch(sents[i - 1].text))):
                starts.append(i)
    return starts


_HEADING = re.compile(r"\s*(?:case|patient)\s*(?:\d+|one|two|three|four|[IVX]+)\s*[.:]?\s*", re.IGNORECASE)


_SUMMARY = re.compile(r"\b(?:we (?:report|describe|present)|here(?:in)?,? we|this (?:case|report)|case of|"
                      r"a case|(?:is|was) reported)\b", re.IGNORECASE)


def _diagnosis_sentence(sents: list[Span], by_sent: dict[int, list[Span]], within: range | None = None) -> int:
    """Index of the narrative sentence that reports the PML diagnosis; drugs before it are exposures.

    An abstract often opens with its summary ("We report PML in a woman with CVID treated with
    rituximab") and only then tells the story: a summary sentence is the diagnosis only when the
    story never reports it. ``within``: a patient's own sentences, when the abstract tells
    several stories one after the other (each has its own diagnosis).
    """
    first_pml = summary = None
    for i, sent in enumerate(sents[1:], start=1):
        if within is not None and i not in within:
            continue
        if any(s.label_ == "PML" and not s._.negated for s in by_sent.get(i, [])):
            if first_pml is None:
                first_pml = i
            if _DIAGNOSIS_CUE.search(sent.text) and not _GENERIC.search(sent.text):
                if not _SUMMARY.search(sent.text):
                    return i
                summary = i if summary is None else summary
    found = summary if summary is not None else first_pml
    return found if found is not None else len(sents)


def _patient(index: int, doc: Doc, sents: list[Span], by_sent: dict[int, list[Span]], lex: Lexicons,
             shared: range, own: range, diagnosis_at: int, *, single: bool) -> Patient:
    patient = Patient(index=index)
    scope = list(shared) + list(own)
    spans = [s for i in scope for s in by_sent.get(i, [])]
    own_spans = [s for i in own for s in by_sent.get(i, [])]
    # a patient's own sentences name its defect; shared ones (title, background) are the fallback
    _add_defects_and_genes(patient, own_spans, lex)
    if not patient.defects:
        _add_defects_and_genes(patient, spans, lex)
    _link_defects_and_genes(patient, lex)
    if any(d.id not in _UMBRELLA for d in patient.defects):
        patient.defects = [d for d in patient.defects if d.id not in _UMBRELLA]
    drug_scope = scope if single else list(own) + [i for i in shared if i > 0]
    if not single:
        own_diagnosis = _diagnosis_sentence(sents, by_sent, own)
        diagnosis_at = own_diagnosis if own_diagnosis < len(sents) else own.stop
    patient.drugs = _drug_uses(sents, by_sent, drug_scope, lex, diagnosis_at)
    _patient_facts(patient, own_spans or spans)
    patient.jcv_detection = _jcv_detection(sents, [i for i in own if i > 0] or [i for i in scope if i > 0])
    _outcome(patient, sents, by_sent, [i for i in scope if i >= max(1, own.start if not single else 1)])
    return patient


def _drug_uses(sents: list[Span], by_sent: dict[int, list[Span]], scope: list[int], lex: Lexicons,
               diagnosis_at: int) -> list[DrugUse]:
    """One use per drug (and negation), with the role its mentions agree on."""
    mentions: dict[tuple[str, bool], list[tuple[DrugUse, bool]]] = {}
    for i in scope:
        if i > 0 and _GENERIC.search(sents[i].text):
            continue  # "rituximab may predispose to PML" says nothing about this patient
        previous: tuple[int, Role] | None = None
        names_pml = any(sp.label_ == "PML" and not sp._.negated for sp in by_sent.get(i, []))
        for span in sorted(by_sent.get(i, []), key=lambda sp: sp.start_char):
            # only normalised drugs join a patient: an unknown model span stays an article mention
            if span.label_ in ("DRUG", "DRUG_CLASS") and span.kb_id_:
                use = _drug_use(span, sents[i], lex, before=i < diagnosis_at, previous=previous, names_pml=names_pml)
                previous = (span.end_char, use.role)
                mentions.setdefault((use.drug, use.entity.negated), []).append((use, i == 0))
    uses = []
    for group in mentions.values():
        role = resolve_role([(u.role, in_title) for u, in_title in group])
        first = next((u for u, in_title in group if u.role == role and not in_title), group[0][0])
        uses.append(DrugUse(drug=first.drug, is_class=first.is_class, role=role, entity=first.entity))
    uses = _expand_regimens(uses, lex)
    # a class named beside its members ("JAK inhibitor-associated PML ... ruxolitinib") is those members
    named = {c for u in uses if not u.is_class and (d := lex.drugs.get(u.drug)) for c in d.classes}
    return [u for u in uses if not (u.is_class and u.drug in named)]


def regimen_components(key: str, lex: Lexicons) -> tuple[str, ...]:
    """The drugs a regimen mention stands for ("R-CHOP": rituximab, cyclophosphamide, ...); () else."""
    entry = lex.drug_classes.get(key)
    return entry.members if entry is not None and entry.kind == "regimen" else ()


def _expand_regimens(uses: list[DrugUse], lex: Lexicons) -> list[DrugUse]:
    """A regimen is all of its drugs, each with the regimen's role and mention as its evidence; a
    drug also named on its own keeps its own use."""
    own = {u.drug for u in uses if not regimen_components(u.drug, lex)}
    out = [u for u in uses if not regimen_components(u.drug, lex)]
    for u in uses:
        for drug in regimen_components(u.drug, lex):
            if drug not in own:
                own.add(drug)
                out.append(DrugUse(drug=drug, is_class=False, role=u.role,
                                   entity=dataclasses.replace(u.entity, label="DRUG", id=drug, source="regimen")))
    return out


def _add_defects_and_genes(patient: Patient, spans: list[Span], lex: Lexicons) -> None:
    """Non-negated defect and inborn-error gene mentions, one per id (the first mention is the evidence).

    Only IUIS genes are a patient's gene: any HGNC gene normalises ("TP53", "IL10", "JCV VP1"), and those stay article mentions rather than the cause of the patient's defect.
    """
    seen = {(e.label, e.id) for e in patient.defects + patient.genes}
    for span in spans:
        if span.label_ == "GENE" and span.kb_id_ not in lex.genes:
            continue
        if span.label_ in ("DEFECT", "GENE") and span.kb_id_ and not span._.negated \
                and (span.label_, span.kb_id_) not in seen:
            seen.add((span.label_, span.kb_id_))
            (patient.defects if span.label_ == "DEFECT" else patient.genes).append(entity_from_span(span))


_ROLE_WINDOW = 300  # characters of context on each side of a drug mention


def _drug_use(span: Span, sent: Span, lex: Lexicons, *, before: bool,
              previous: tuple[int, Role] | None = None, names_pml: bool = False) -> DrugUse:
    """``previous``: document end offset and role of the drug mentioned just before in the sentence."""
    is_class = span.label_ == "DRUG_CLASS"
    key = span.kb_id_ or span.text.lower()
    if is_class:
        classes = frozenset({key})
    else:
        drug = lex.drugs.get(key)
        classes = frozenset(drug.classes) if drug else frozenset()
    lo = max(sent.start_char, span.start_char - _ROLE_WINDOW)
    hi = min(sent.end_char, span.end_char + _ROLE_WINDOW)
    doc_text = _doc_text(span.doc)
    model = span._.pml_role if Span.has_extension("pml_role") else None
    ctx = RoleContext(sentence=doc_text[lo:hi], mention_start=span.start_char - lo, mention_end=span.end_char - lo,
                      before_diagnosis=before, classes=classes,
                      previous=(previous[0] - lo, previous[1]) if previous and previous[0] >= lo else None,
                      names_pml=names_pml, model=model)
    return DrugUse(drug=key, is_class=is_class, role=classify_role(ctx), entity=entity_from_span(span))


def _link_defects_and_genes(patient: Patient, lex: Lexicons) -> None:
    """A gene implies its defect and a single-gene defect implies its gene (lexicon links)."""
    defect_ids = {d.id for d in patient.defects}
    gene_ids = {g.id for g in patient.genes}
    for gene in list(patient.genes):
        defect = lex.defect_for_gene(gene.id) if gene.id else None
        if defect and not (defect_ids & {defect.id}) and not patient.defects:
            patient.defects.append(Entity(text=gene.text, label="DEFECT", start=gene.start, end=gene.end,
                                          id=defect.id, evidence=gene.evidence))
            defect_ids.add(defect.id)
    for d in list(patient.defects):
        entry = lex.defects.get(d.id) if d.id else None
        if entry and len(entry.genes) == 1 and entry.genes[0] not in gene_ids:
            patient.genes.append(Entity(text=d.text, label="GENE", start=d.start, end=d.end,
                                        id=entry.genes[0], evidence=d.evidence))
            gene_ids.add(entry.genes[0])


def _patient_facts(patient: Patient, spans: list[Span]) -> None:
    for span in spans:
        label = span.label_
        if label == "AGE" and patient.age_years is None:
            patient.age_years = parse_value("AGE", span.text)  # type: ignore[assignment]
            patient.facts_evidence["age"] = evidence_for(span)
        elif label == "SEX" and patient.sex is None:
            patient.sex = parse_value("SEX", span.text)  # type: ignore[assignment]
            if patient.sex:
                patient.facts_evidence["sex"] = evidence_for(span)
    cd4 = _cd4_at_diagnosis([s for s in spans if s.label_ == "CD4"])
    if cd4 is not None:
        patient.cd4_per_ul = parse_value("CD4", cd4.text)  # type: ignore[assignment]
        patient.facts_evidence["cd4"] = evidence_for(cd4)
    if patient.sex is None:
        _sex_from_pronouns(patient, spans)


_AT_DIAGNOSIS = re.compile(r"\b(?:at (?:the time of )?(?:PML )?(?:diagnosis|presentation|admission|onset)|"
                           r"at that time|initial(?:ly)?|baseline|on admission)\b", re.IGNORECASE)
_AFTER_TREATMENT = re.compile(r"\b(?:increased|rose|risen|recovered|improved|normali[sz]ed|restored|after|following|"
                              r"later|subsequently|reconstitut\w*|under|on (?:HAART|cART|ART|treatment|therapy))\b",
                              re.IGNORECASE)


def _cd4_at_diagnosis(cd4s: list[Span]) -> Span | None:
    """The CD4 count at PML diagnosis: one said to be at diagnosis, else the first that is not a
    count after treatment ("increased to 350/µL after IL-7"), else the first."""
    def said(span: Span, pattern: re.Pattern[str]) -> bool:
        """Whether the clause around the count says so (its own clause: "increased to 400/µL,
        from 75/µL at diagnosis" puts "at diagnosis" on the second count only)."""
        sent = sentence_of(span)
        lo, hi = span.start_char - sent.start_char, span.end_char - sent.start_char
        before = re.split(r"[,;:]", sent.text[max(0, lo - 60): lo])[-1]
        after = re.split(r"[,;:]", sent.text[hi: hi + 40])[0]
        return bool(pattern.search(before + span.text + after))

    for span in cd4s:
        if said(span, _AT_DIAGNOSIS):
            return span
    return next((s for s in cd4s if not said(s, _AFTER_TREATMENT)), cd4s[0] if cd4s else None)


_SHE = re.compile(r"\b(?:she|her|hers|herself)\b", re.IGNORECASE)
_HE = re.compile(r"\b(?:he|his|him|himself)\b", re.IGNORECASE)


def _sex_from_pronouns(patient: Patient, spans: list[Span]) -> None:
    """Sex from the pronouns of the patient's sentences, when no noun says it: only when every
    pronoun agrees (a text about a mother and her son says nothing by pronouns alone)."""
    seen: dict[int, Span] = {}
    for span in spans:
        sent = sentence_of(span)
        seen.setdefault(sent.start, sent)
    she = he = 0
    first: dict[str, Span] = {}
    for sent in seen.values():
        n_she, n_he = len(_SHE.findall(sent.text)), len(_HE.findall(sent.text))
        she, he = she + n_she, he + n_he
        if n_she:
            first.setdefault("female", sent)
        if n_he:
            first.setdefault("male", sent)
    sex = "female" if she and not he else "male" if he and not she else None
    if sex:
        patient.sex = sex  # type: ignore[assignment]
        sent = first[sex]
        patient.facts_evidence["sex"] = evidence_for(sent)


_CSF = re.compile(r"\b(?:cerebrospinal fluid|CSF)\b", re.IGNORECASE)
_JCV = re.compile(JC_VIRUS, re.IGNORECASE)
_SHOWN = re.compile(r"\b(?:confirm\w*|show\w*|reveal\w*|demonstrat\w*|detected|consistent with|diagnostic)\b",
                    re.IGNORECASE)
_NEGATIVE = re.compile(r"\b(?:negative|not detected|undetectable|declined|not performed)\b", re.IGNORECASE)


_CLAUSE = re.compile(r";|,\s*(?:and|but)\b|\bbut\b|\bwhereas\b", re.IGNORECASE)
_PCR = re.compile(r"\b(?:PCR|polymerase chain reaction)\b")
_BIOPSY = re.compile(r"\bbiops(?:y|ies)\b|\bautopsy\b|\bnecropsy\b", re.IGNORECASE)


def _jcv_detection(sents: list[Span], scope: list[int]) -> list[str]:
    """How the diagnosis was made: JC virus DNA by CSF PCR and/or brain biopsy; negative tests do not count."""
    found: set[str] = set()
    for i in scope:
        text = sents[i].text
        jc = bool(_JCV.search(text)) or "DNA" in text
        for clause in _CLAUSE.split(text):
            if _NEGATIVE.search(clause):
                continue
            if _PCR.search(clause) and _CSF.search(clause) and jc:
                found.add("csf_pcr")
            if _BIOPSY.search(clause) and (_SHOWN.search(clause) or _JCV.search(clause)):
                found.add("biopsy")
    return sorted(found)


# Who a status word is said of: the patient or the PML ("she improved", "the lesions remained stable",
# "JC virus cleared"), searched in the clause before the word.
_PATIENT_SUBJECT = re.compile(
    r"\b(?:he|she|patient|PML|lesions?|neurolog\w*|clinical(?:ly)?|condition|symptoms?|deficits?|MRI|JCV?|"
    r"JC virus|viral load|disability|EDSS|Rankin|general status|status|aphasia|hemiparesis|weakness|ataxia|"
    r"leukoencephalopathy|they|both|all)\b", re.IGNORECASE)
_SURVIVAL_TIME = re.compile(r"\b(?:surviv\w*|died|death)\b", re.IGNORECASE)


def _status_of_patient(sent: Span, word: Span) -> bool:
    """True when a weak status word ("stable", "improved") is said of the patient or the PML.

    The clause before the word must name the patient or the disease, and no other disease entity
    may stand between that subject and the word ("HLH improved", "the lymphoma remained stable").
    """
    text = sent.text[: word.start_char - sent.start_char]
    clause = re.split(r"[;:]|,\s*(?:and|but|while|whereas)\b|\bbut\b|\bwhereas\b", text)[-1][-120:]
    subject = None
    for m in _PATIENT_SUBJECT.finditer(clause):
        subject = m
    if subject is None:
        return False
    offset = word.start_char - len(clause)
    between = (offset + subject.end(), word.start_char)
    return not any(e.label_ in ("DISEASE", "DEFECT") and between[0] <= e.start_char < between[1]
                   for e in sent.ents)


def _outcome(patient: Patient, sents: list[Span], by_sent: dict[int, list[Span]], scope: list[int]) -> None:
    """Death wins over any sign of survival; survival is the last status the abstract gives.

    A palliative transfer or a loss to follow-up without a death leaves the outcome unknown: the
    patient was last seen alive, but the abstract does not say how they fared. Weak words
    ("stable") count only when said of the patient or the PML (:func:`_status_of_patient`).
    """
    died: Span | None = None
    survived: list[Span] = []
    no_outcome = False
    for i in scope:
        sent = sents[i]
        if _GENERIC.search(sent.text):
            continue
        for span in by_sent.get(i, []):
            if span._.negated:
                continue
            if span.label_ == "IRIS":
                patient.iris = True
            elif span.label_ == "DIED" and died is None:
                died = span
            elif span.label_ == "SURVIVED" or (span.label_ == "STABLE" and _status_of_patient(sent, span)):
                survived.append(span)
            elif span.label_ == "NO_OUTCOME":
                no_outcome = True
    if died is not None:
        patient.outcome = "died"
        patient.outcome_evidence = evidence_for(died)
        patient.months_to_outcome = _months_to(died, sents, scope)
    elif survived and not no_outcome:
        timed = [s for s in survived if months_in(sentence_of(s).text) is not None]
        chosen = timed[-1] if timed else survived[-1]
        patient.outcome = "survived"
        patient.outcome_evidence = evidence_for(chosen)
        patient.months_to_outcome = months_in(sentence_of(chosen).text)


def _months_to(event: Span, sents: list[Span], scope: list[int]) -> float | None:
    """Months from PML to the outcome: the outcome's sentence, else a sentence that states the
    survival time ("survival from PML onset was 10 months", then "autopsy showed")."""
    months = months_in(sentence_of(event).text)
    if months is not None:
        return months
    for i in scope:
        if _SURVIVAL_TIME.search(sents[i].text):
            months = months_in(sents[i].text)
            if months is not None:
                return months
    return None


def _cohort_patient(doc: Doc, sents: list[Span], by_sent: dict[int, list[Span]], lex: Lexicons, size: int) -> Patient:
    """One record for a series: shared defect, the drugs with their roles, the group facts."""
    patient = Patient(index=0, cohort_size=size)
    for i in range(len(sents)):
        _add_defects_and_genes(patient, by_sent.get(i, []), lex)
    # a series tells no one story: its sentences are not in the order of any patient's course, so
    # no drug is a treatment by its position; cues, purposes and drug classes decide
    patient.drugs = _drug_uses(sents, by_sent, list(range(len(sents))), lex, len(sents))
    table = [Sentence(text=sent.text, start=sent.start_char, drugs=tuple(
        DrugMention(drug, span.start_char, span.end_char) for span in by_sent.get(i, [])
        if span.label_ in ("DRUG", "DRUG_CLASS") and span.kb_id_ and not span._.negated
        for drug in (regimen_components(span.kb_id_, lex) or (span.kb_id_,)))) for i, sent in enumerate(sents)]
    patient.series = series_facts(table, size)
    if patient.series.died:
        patient.outcome = "died"
        patient.outcome_evidence = patient.series.evidence["died"]
    elif patient.series.survived == size:
        patient.outcome = "survived"
        patient.outcome_evidence = patient.series.evidence["survived"]
    if patient.series.months_to_outcome is not None:
        patient.months_to_outcome = patient.series.months_to_outcome.median
    _link_defects_and_genes(patient, lex)
    return patient
