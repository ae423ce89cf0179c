"""Score the extractor on texts written in the styles of real published PML case literature.

Why this exists: the extractor's own test texts were written in the phrasing its rules expect,
so they hid how badly it reads real case reports ("was treated with R-CHOP for ...", "after 24
months of natalizumab therapy", "survival from PML onset was 10 months"). The texts scored here
(bench/dev_texts/cases.jsonl, see its README) were written fresh, without reading the rules, in
the styles of the case literature, each with gold labels. The set has two halves: ``tune`` to
look at while changing the rules, ``check`` to look at only to confirm a change generalises.

Run from the repository root::

    .venv/bin/python bench/real_style_eval.py [--split tune|check|all] [--json] [--show-misses]
    .venv/bin/python bench/real_style_eval.py --file bench/holdout_texts/holdout.jsonl --split holdout

Drug roles are scored micro over (text, patient, drug) triples, predicted patients paired with
gold ones by order; gold drug names are mapped to the pipeline's ids through its lexicon, so a
regimen's component drugs count by their canonical ids. Patient fields are scored on the
individually described patients (case and multi-patient reports), cohort facts on the series.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmlkg.extraction.evaluate import Counts
from pmlkg.extraction.extractor import Extractor, article_from_text
from pmlkg.extraction.records import ArticleExtraction, Patient, Summary
from pmlkg.ingest.records import Article, MeshHeading

DEV_TEXTS = Path(__file__).resolve().parent / "dev_texts" / "cases.jsonl"
ROLES = ("exposure", "treatment", "other")
GOLD_ROLE_KEY = {"exposure": "exposures", "treatment": "treatments", "other": "other"}
SALT_WORDS = ("acetate", "sodium", "hydrochloride", "mesylate", "sulfate", "phosphate")
KINDS = ("case", "multi", "series", "none")
FIELD_ORDER = ("about_pml", "patient count", "outcome", "months_to_outcome", "cd4_per_ul", "sex", "age_years",
               "series: cohort size", "series: drug_counts per drug", "series: died", "series: survived",
               "series: median months_to_outcome", "series: cd4_per_ul summary", "series: age_years summary",
               "series: sex counts", "series: previously_published")


class PRF(Counts):
    """One drug category's tp/fp/fn (``extraction.evaluate.Counts``), filled from gold and predicted sets."""

    def add(self, gold: set[str], predicted: set[str]) -> None:
        self += Counts(tp=len(gold & predicted), fp=len(predicted - gold), fn=len(gold - predicted))

    def rates(self) -> tuple[float | None, float | None, float | None]:
        """P, R, F1, with None where a denominator is empty (no gold or no prediction: printed as "-")."""
        p = self.precision if self.tp + self.fp else None
        r = self.recall if self.tp + self.fn else None
        return p, r, (self.f1 if p is not None and r is not None else None)


@dataclass
class Accuracy:
    """Right answers out of those scored (a field is scored only when gold states it)."""

    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def rate(self) -> float | None:
        return self.right / self.total if self.total else None


@dataclass
class Report:
    """Every figure for one split, plus the misses behind them."""

    texts: Counter[str] = field(default_factory=Counter)  # kind -> texts
    drugs: dict[str, PRF] = field(default_factory=lambda: {k: PRF() for k in ("any",) + ROLES})
    fields: dict[str, Accuracy] = field(default_factory=dict)
    extra_series_drugs: int = 0
    misses: list[str] = field(default_factory=list)

    def score(self, name: str, ok: bool, where: str, gold: Any, predicted: Any) -> None:
        self.fields.setdefault(name, Accuracy()).add(ok)
        if not ok:
            self.misses.append(f"{where} {name}: gold {gold!r}, predicted {predicted!r}")


class DrugNames:
    """Gold drug names to pipeline ids, the way tests/test_extraction.py ``_drug_id`` maps them."""

    def __init__(self, extractor: Extractor):
        self.pipe = extractor.nlp.get_pipe("pmlkg_lexicon_ner")
        self.unmapped: set[str] = set()

    def id(self, name: str) -> str:
        candidates = [name]
        head, _, last = name.rpartition(" ")
        if head and last.lower() in SALT_WORDS:  # "glatiramer acetate" -> "glatiramer"
            candidates.append(head)
        for candidate in candidates:
            hit = self.pipe.lookup(candidate)
            if hit and hit[0] in ("DRUG", "DRUG_CLASS"):
                return hit[1]
        self.unmapped.add(name)
        return name


def load_texts(path: Path, split: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def article(row: dict[str, Any]) -> Article:
    """The text as `pmlkg extract` reads plain text, with the record's publication types and MeSH."""
    base = article_from_text(row["title"] + "\n" + row["abstract"], pmid=row["id"])
    return dataclasses.replace(base, publication_types=tuple(row.get("publication_types", ())),
                               mesh=tuple(MeshHeading(d) for d in row.get("mesh", ())))


def predicted_roles(p: Patient | None) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {r: set() for r in ROLES}
    for use in p.drugs if p else ():
        if not use.entity.negated:
            roles[use.role].add(use.drug)
    return roles


def score_drugs(report: Report, tid: str, gold: list[dict[str, Any]], got: list[Patient], names: DrugNames) -> None:
    for i in range(max(len(gold), len(got))):
        g = gold[i] if i < len(gold) else None
        want = {r: {names.id(d) for d in (g[GOLD_ROLE_KEY[r]] if g else ())} for r in ROLES}
        have = predicted_roles(got[i] if i < len(got) else None)
        for role in ROLES:
            report.drugs[role].add(want[role], have[role])
            if want[role] != have[role]:
                report.misses.append(f"{tid} patient {i} {role}: missed {sorted(want[role] - have[role])}, "
                                     f"spurious {sorted(have[role] - want[role])}")
        report.drugs["any"].add(set().union(*want.values()), set().union(*have.values()))


def score_patient(report: Report, where: str, g: dict[str, Any], p: Patient | None) -> None:
    report.score("outcome", p is not None and p.outcome == g["outcome"], where, g["outcome"], p and p.outcome)
    if g["months_to_outcome"] is not None:
        got = p.months_to_outcome if p else None
        report.score("months_to_outcome", got is not None and abs(got - g["months_to_outcome"]) <= 0.5,
                     where, g["months_to_outcome"], got)
    if g["cd4_per_ul"] is not None:
        report.score("cd4_per_ul", p is not None and p.cd4_per_ul == g["cd4_per_ul"], where, g["cd4_per_ul"],
                     p and p.cd4_per_ul)
    report.score("sex", p is not None and p.sex == g["sex"], where, g["sex"], p and p.sex)
    if g["age_years"] is not None:
        got_age = p.age_years if p else None
        report.score("age_years", got_age is not None and abs(got_age - g["age_years"]) <= 0.1,
                     where, g["age_years"], got_age)


def summary_matches(gold: dict[str, float | None], got: Summary | None, tolerance: float) -> bool:
    if got is None:
        return False
    for part in ("median", "low", "high"):
        want, have = gold.get(part), getattr(got, part)
        if want is not None and (have is None or abs(have - want) > tolerance):
            return False
    return True


def score_series(report: Report, tid: str, gold: dict[str, Any], got: list[Patient], names: DrugNames) -> None:
    cohort = next((p for p in got if p.series is not None), got[0] if got else None)
    facts = cohort.series if cohort else None
    where = f"{tid} series"
    report.score("series: cohort size", cohort is not None and cohort.cohort_size == gold["size"], where,
                 gold["size"], cohort and cohort.cohort_size)
    counts = facts.drug_counts if facts else {}
    wanted = {names.id(d): n for d, n in gold["drug_counts"].items()}
    for drug, n in wanted.items():
        report.score("series: drug_counts per drug", counts.get(drug) == n, f"{where} {drug}", n, counts.get(drug))
    report.extra_series_drugs += len(set(counts) - set(wanted))
    for key in ("died", "survived", "previously_published"):
        if gold[key] is not None:
            have = getattr(facts, key) if facts else None
            report.score(f"series: {key}", have == gold[key], where, gold[key], have)
    months = gold["months_to_outcome"]
    if months and months.get("median") is not None:
        have_m = facts.months_to_outcome if facts else None
        ok = have_m is not None and have_m.median is not None and abs(have_m.median - months["median"]) <= 0.5
        report.score("series: median months_to_outcome", ok, where, months["median"], have_m and have_m.median)
    for key, tolerance in (("cd4_per_ul", 0.0), ("age_years", 0.1)):
        if gold[key]:
            have_s = getattr(facts, key) if facts else None
            report.score(f"series: {key} summary", summary_matches(gold[key], have_s, tolerance), where,
                         gold[key], have_s and dataclasses.asdict(have_s))
    if gold["sex"]:
        have_sex = {k: v for k, v in (facts.sex if facts else {}).items() if v}
        report.score("series: sex counts", have_sex == gold["sex"], where, gold["sex"], have_sex)


def evaluate(rows: list[dict[str, Any]], results: dict[str, ArticleExtraction], names: DrugNames) -> Report:
    report = Report()
    for row in rows:
        tid, gold = row["id"], row["gold"]
        ex = results[tid]
        report.texts[gold["kind"]] += 1
        report.score("about_pml", ex.about_pml == gold["about_pml"], tid, gold["about_pml"], ex.about_pml)
        report.score("patient count", len(ex.patients) == len(gold["patients"]), tid, len(gold["patients"]),
                     len(ex.patients))
        score_drugs(report, tid, gold["patients"], ex.patients, names)
        if gold["kind"] in ("case", "multi"):
            for i, g in enumerate(gold["patients"]):
                score_patient(report, f"{tid} patient {i}", g, ex.patients[i] if i < len(ex.patients) else None)
        if gold["series"] is not None:
            score_series(report, tid, gold["series"], ex.patients, names)
    return report


def figures(report: Report) -> dict[str, Any]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "texts": dict(report.texts),
        "drugs": {k: {"precision": r(v.rates()[0]), "recall": r(v.rates()[1]), "f1": r(v.rates()[2]),
                      "gold": v.tp + v.fn, "predicted": v.tp + v.fp} for k, v in report.drugs.items()},
        "fields": {k: {"right": v.right, "total": v.total, "accuracy": r(v.rate)} for k, v in report.fields.items()},
        "series_extra_predicted_drugs": report.extra_series_drugs,
    }


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def print_report(split: str, report: Report, show_misses: bool) -> None:
    kinds = ", ".join(f"{report.texts[k]} {k}" for k in KINDS if report.texts[k])
    print(f"\n== split {split}: {sum(report.texts.values())} texts ({kinds})")
    print(f"{'drugs, micro over (text, patient, drug)':<44}{'P':>6}{'R':>7}{'F1':>7}{'gold':>6}{'pred':>6}")
    for name, prf in report.drugs.items():
        label = "any role" if name == "any" else name
        p, r, f1 = prf.rates()
        print(f"  {label:<42}{fmt(p):>6}{fmt(r):>7}{fmt(f1):>7}"
              f"{prf.tp + prf.fn:>6}{prf.tp + prf.fp:>6}")
    print(f"{'fields (scored where gold states them)':<44}{'right':>7}{'of':>5}{'acc':>7}")
    for name in sorted(report.fields, key=lambda f: FIELD_ORDER.index(f) if f in FIELD_ORDER else len(FIELD_ORDER)):
        acc = report.fields[name]
        print(f"  {name:<42}{acc.right:>7}{acc.total:>5}{fmt(acc.rate):>7}")
    print(f"  series: drugs predicted that gold does not count: {report.extra_series_drugs}")
    if show_misses:
        print(f"-- misses ({len(report.misses)})")
        for line in report.misses:
            print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("tune", "check", "holdout", "all"), default="all",
                        help="which split to score; 'all' prints each split in the file separately, then all")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--show-misses", action="store_true", help="list every wrong field and drug")
    parser.add_argument("--file", "--texts", dest="texts", type=Path, default=DEV_TEXTS, metavar="PATH",
                        help="JSONL of texts with gold labels (default bench/dev_texts/cases.jsonl)")
    args = parser.parse_args()

    rows = load_texts(args.texts, args.split)
    extractor = Extractor()
    names = DrugNames(extractor)
    results = {ex.pmid: ex for ex in extractor.extract_many(article(r) for r in rows)}
    present = [s for s in ("tune", "check", "holdout") if any(r["split"] == s for r in rows)]
    splits = present + ["all"] if args.split == "all" else [args.split]
    reports = {s: evaluate([r for r in rows if s == "all" or r["split"] == s], results, names) for s in splits}

    if args.json:
        out: dict[str, Any] = {"extractor": extractor.version,
                               "splits": {s: figures(rep) for s, rep in reports.items()},
                               "gold_drug_names_without_lexicon_id": sorted(names.unmapped)}
        if args.show_misses:
            out["misses"] = {s: rep.misses for s, rep in reports.items()}
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return
    print(f"extractor: {extractor.version}; texts: {args.texts}")
    for s, rep in reports.items():
        print_report(s, rep, args.show_misses and (s != "all" or len(splits) == 1))
    if names.unmapped:
        unmapped = ", ".join(sorted(names.unmapped))
        print(f"\nnote: gold drug names without a lexicon id (compared as written): {unmapped}")


if __name__ == "__main__":
    main()
