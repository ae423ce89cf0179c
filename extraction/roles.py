"""Drug role: given before PML (exposure), given for PML (treatment), or neither (other).

One mention is decided by the first signal that speaks, most specific first:

1. the purpose stated after it in its clause ("for PML" -> treatment), then routine care (immunoglobulin
   replacement, anti-infectives, anticonvulsants, enzyme replacement -> other); "for arthritis", "as
   prophylaxis", "in the year before PML onset" -> given before PML: exposure, or ``other`` when
   the sentence comes after the diagnosis: a drug for another condition after PML);
2. what happens to it, right after it ("was discontinued" -> exposure; "was started" ->
   treatment once PML is known);
3. a list shares its role ("rituximab and azathioprine");
4. a treatment cue before it ("salvage", "despite", "trial of") or a class given almost only for
   PML (mefloquine, cidofovir, IL-7, checkpoint inhibitors): wording and drugs the pair model,
   trained on PHEE's adverse events, misreads with near-certainty;
5. the trained pair model (:mod:`extraction.drug_roles`), when the sentence names PML and the
   model is confident about the (drug, PML) pair: "PML in a patient treated with rituximab";
6. the nearest exposure cue before it in its clause ("had received", "history of", "after",
   "following treatment with");
7. where the sentence stands in the story: before the sentence that reports the PML diagnosis
   -> exposure, after it -> treatment.

Therapy-history verbs ("was treated with", "received", "therapy with", "was given") say nothing
of the timing on their own: case reports use them for the drugs that preceded PML as much as for
its treatment, so they leave the decision to the story's order (7).

A patient's drug then takes the majority role of its narrative mentions (the title only
counts when nothing else mentions the drug), see :func:`resolve_role`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pmlkg.extraction.records import Role

_PML = r"(?:(?:the |his |her |this |their )?(?:PML|JCV?\b|JC virus|progressive multifocal|leukoencephalopathy))"
_DURATION = r"(?:(?:\w+[\s-]){0,3}(?:days?|weeks?|months?|years?|doses?|cycles?|courses?|infusions?)\b)"
_STOP = r"(?!\b(?:and|then|but)\s+\w+ed\b)"  # the clause moves on to another verb ("and referred for")
_PURPOSE = re.compile(
    rf"^(?:{_STOP}.){{0,60}}?\b(?:(?P<treat>for|against|to treat|to control) {_PML}|"
    rf"(?P<before>(?:in the (?:\w+ )?(?:years?|months?|weeks?) )?(?:before|prior to|preceding) (?:the )?"
    rf"(?:(?:onset|diagnosis|development|presentation|appearance) of )?{_PML})|"
    rf"(?P<expose>(?:for|against) (?!{_PML}|{_DURATION}|(?:the )?(?:IRIS|immune reconstitution))\w)|"
    r"(?P<regimen>as (?:prophylaxis|maintenance|conditioning|immunosuppression|premedication|part of (?:the )?"
    r"conditioning)|during conditioning)|"
    r"(?P<iris_prevent>to prevent (?:the )?(?:IRIS|immune reconstitution))|"
    r"(?P<iris>(?:for|against|to (?:treat|control)) (?:the )?(?:IRIS|immune reconstitution)))",
    re.IGNORECASE | re.DOTALL)
_POST_EXPOSURE = re.compile(
    r"^[\w\s,()-]{0,40}?\b(?:was|were|had been) (?:then |subsequently |rapidly |gradually |promptly |also )?"
    r"(?:discontinued|stopped|withdrawn|tapered|held|reduced|ceased|suspended|interrupted|withheld|switched)\b"
    r"|^[\w\s,()-]{0,40}?\bhad been (?:given|received|used|administered|taken)\b",
    re.IGNORECASE)
_POST_TREATMENT = re.compile(
    r"^[\w\s,()-]{0,40}?\b(?:(?:was|were) (?:then |subsequently |also |empirically |promptly )?(?:started|initiated|given|"
    r"administered|commenced|added|begun|tried|attempted|used)|without (?:response|benefit|improvement|effect|success)|"
    r"with(?:out)? (?:clinical |radiological )?(?:response|stabili[sz]ation|improvement))\b",
    re.IGNORECASE)
_MODIFIERS = (r"(?:(?:high|low)[- ]dose|recombinant|human|oral|intravenous|intermittent|subcutaneous|pulsed?|"
              r"weekly|monthly|daily|a tapering course of|a course of|the|an?|\d+ mg(?:/kg)?)")
# Cues right before the mention (modifiers aside): "after rituximab", "following alemtuzumab",
# "after 24 months of natalizumab", "following treatment with fludarabine", "after six cycles of".
_ADJACENT_EXPOSURE = re.compile(
    rf"\b(?:after|following|post|since)\s+(?:(?:{_MODIFIERS}|\w+[\s-](?:days?|weeks?|months?|years?|doses?|cycles?|"
    r"courses?|infusions?)(?: of)?|(?:treatment|therapy|exposure|use|induction|courses?|cycles?) (?:with|of))\s+)*$",
    re.IGNORECASE)
_PRE_EXPOSURE = re.compile(
    r"\b(?:prior|previous(?:ly)?|history of|formerly|earlier|(?:years?|months?) (?:earlier|before|previously)|"
    r"long[- ]standing|long[- ]term|had (?:previously )?(?:been )?(?:received|treated with|given|receiving|"
    r"started on|on)|had undergone|maintained on|maintenance|long[- ]term|chronic(?:ally)?|"
    r"exposure to|exposed to|while (?:on|receiving|taking|still taking)|still taking|refractory to|resistant to|"
    r"conditioning|on (?:long-term )?(?:therapy|treatment) with|receiving|taking)\b",
    re.IGNORECASE)
_PRE_TREATMENT = re.compile(
    rf"\b(?:(?:{_PML}) (?:was|were) (?:treated|managed) with|treatment (?:of|for) {_PML}\b[^,;]*|trial of|salvage|"
    r"add(?:ed|ition of)|despite|attempted|empiric(?:al)?(?:ly)?|off-label)\b",
    re.IGNORECASE)
# Verbs of therapy that say nothing of the timing: the story's order decides (see the module doc).
_PRE_AMBIGUOUS = re.compile(
    r"\b(?:treated (?:\w+ )?with|treatment (?:with|included|consisted of)|therapy with|"
    r"(?:was |were )?(?:started|initiated|commenced|began) on|(?<!had )(?<!been )received|underwent|was given|"
    r"were given)\b", re.IGNORECASE)
_CONNECTOR = re.compile(
    rf"^[\s,]*(?:(?:and|or|plus|together with|along with|as well as|combined with|with|then)\b[\s,]*)+"
    rf"(?:{_MODIFIERS}\s+)*$|^\s*(?:,|/)\s*(?:{_MODIFIERS}\s+)*$",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;:.]|,\s*(?:and|but|whereas|while|which)\b|\bbut\b|\bwhereas\b", re.IGNORECASE)
_CLAUSE_START = re.compile(r"[;:]|,\s*(?:and|but|whereas|while)\b|\bbut\b|\bwhereas\b|\band (?=\w+ (?:was|were)\b)",
                           re.IGNORECASE)

# Drug classes whose members are, in PML case reports, almost always given for PML.
TREATMENT_CLASSES = frozenset({"anti-jcv-candidate", "checkpoint-inhibitor", "cytokine"})
# Classes that are routine care (replacement, prophylaxis, another infection, seizures): neither a PML
# risk exposure nor a PML treatment, whenever given, unless the text says they were given for PML.
OTHER_CLASSES = frozenset({"immunoglobulin-replacement", "anti-infective", "anticonvulsant", "enzyme-replacement"})
# Classes given for IRIS once PML is known: in a sentence about IRIS they treat the IRIS.
IRIS_CLASSES = frozenset({"corticosteroid"})
_IRIS = re.compile(r"\bIRIS\b|immune reconstitution", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RoleContext:
    sentence: str  # the sentence text
    mention_start: int  # offsets of the mention within the sentence
    mention_end: int
    before_diagnosis: bool  # the sentence precedes the sentence reporting the PML diagnosis
    classes: frozenset[str]
    previous: tuple[int, Role] | None = None  # end offset and role of the drug mentioned just before
    names_pml: bool = False  # the sentence names PML (a PML sentence's "was started" is a treatment)
    # the pair model's probabilities for (this drug, the PML mention of the sentence), if it names PML
    model: Mapping[str, float] | None = None


MODEL_CONFIDENCE = 0.8  # the pair model decides when its top role is at least this probable


def classify_role(ctx: RoleContext) -> Role:
    s = ctx.sentence
    after = s[ctx.mention_end:]
    end = _CLAUSE_END.search(after)
    clause_after = after[: end.start()] if end else after
    before = s[: ctx.mention_start]
    starts = [m.end() for m in _CLAUSE_START.finditer(before)]
    clause_before = before[starts[-1]:] if starts else before
    cue = _last_cue(clause_before)
    lead = _list_lead(before)
    if cue is None and lead is not None:
        cue = lead
    purpose = _PURPOSE.search(clause_after)
    if purpose and purpose.group("treat"):
        return "treatment"
    if ctx.classes & OTHER_CLASSES:
        return "other"
    if purpose:
        if purpose.group("before") or purpose.group("regimen"):
            return "exposure"  # immunosuppression named as such is what precedes PML
        if purpose.group("iris_prevent"):
            return "treatment"  # maraviroc "to prevent IRIS" is part of the PML's management
        if purpose.group("iris"):
            return "other"  # the steroids for IRIS treat the inflammation, not the infection
        # for another condition: before PML, or told as history ("had received X for lupus")
        history = ctx.before_diagnosis or cue == "exposure" or _ADJACENT_EXPOSURE.search(before)
        return "exposure" if history else "other"
    if _POST_EXPOSURE.search(clause_after):
        return "exposure"
    if _POST_TREATMENT.search(clause_after) and (not ctx.before_diagnosis or ctx.names_pml):
        return "treatment"
    if ctx.previous is not None and _CONNECTOR.search(before[ctx.previous[0]:]):
        return ctx.previous[1]  # "rituximab and azathioprine": a list shares its role
    if cue == "treatment":
        return "treatment"  # "despite", "salvage", "trial of": wording PHEE hardly has, the model misreads
    if ctx.classes & TREATMENT_CLASSES and cue is None:
        return "treatment"
    if ctx.model is not None:
        role, p = max(ctx.model.items(), key=lambda kv: kv[1])
        if p >= MODEL_CONFIDENCE and role in ("exposure", "treatment"):
            return role  # type: ignore[return-value]
    if _ADJACENT_EXPOSURE.search(before):
        return "exposure"
    if cue is not None:
        return cue
    if ctx.classes & IRIS_CLASSES and _IRIS.search(s):
        return "other"  # "IRIS developed and was treated with methylprednisolone"
    return "exposure" if ctx.before_diagnosis else "treatment"


_LIST_LEAD = re.compile(r"([^.;:]*):[^.;:]*$")


def _list_lead(before: str) -> Role | None:
    """The role a list's lead-in gives its items: "had received immunosuppression before PML:
    cyclophosphamide in 5, rituximab in 3" (exposure); "treatment for PML: mefloquine" (treatment)."""
    m = _LIST_LEAD.search(before)
    if not m:
        return None
    lead = m.group(1)
    if re.search(rf"\b(?:before|prior to|preceding) (?:the )?(?:(?:onset|diagnosis|development) of )?{_PML}", lead,
                 re.IGNORECASE):
        return "exposure"
    if re.search(rf"\b(?:for|of) {_PML}", lead, re.IGNORECASE):
        return "treatment"
    return _last_cue(lead)


def _last_cue(clause_before: str) -> Role | None:
    """The role of the cue nearest the mention within its clause, if any."""
    best: tuple[int, Role] | None = None
    for role, pattern in (("exposure", _PRE_EXPOSURE), ("treatment", _PRE_TREATMENT)):
        for m in pattern.finditer(clause_before):
            if best is None or m.end() > best[0]:
                best = (m.end(), role)  # type: ignore[assignment]
    return best[1] if best else None


def resolve_role(roles: Sequence[tuple[Role, bool]]) -> Role:
    """One role per drug per patient: the majority of narrative mentions (title only as fallback).

    ``roles`` holds (role, in_title) per mention, in text order; ties go to the first narrative
    mention.
    """
    narrative = [r for r, in_title in roles if not in_title] or [r for r, _ in roles]
    counts = Counter(narrative)
    best = max(counts.values())
    return next(r for r in narrative if counts[r] == best)
