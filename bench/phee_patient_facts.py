"""Benchmark: patient age and sex read off real case-report sentences (PHEE's Subject.Age/Gender).

PHEE (../shared/corpora/phee, Sun et al. 2022) annotates, in real MEDLINE case-report sentences, the
subject's age ("54-year-old") and gender ("man", "She"). That is real annotated data for the fact
patterns of ``extraction.facts`` (and the pronoun rule of case assembly), where the development
texts of bench/dev_texts are written by us. Scored per sentence whose gold states a numeric age, or
a gender: the first age fact must parse to the gold age; the sex must be the gold one (a sex noun,
else the sentence's pronouns when they all agree, as ``extraction.cases`` reads them).

    .venv/bin/python bench/phee_patient_facts.py [--split dev] [--facts OLD_FACTS.py]

``--facts`` loads another version of ``extraction/facts.py`` (e.g. ``git show REV:extraction/facts.py``),
to print the before and after of a change with the same scorer. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmlkg.extraction.cases import _HE, _SHE  # noqa: E402  (the pronouns case assembly reads)

_MALE = {"man", "male", "boy", "he", "his", "him", "gentleman", "son", "brother", "father", "husband", "men", "boys",
         "males"}
_FEMALE = {"woman", "female", "girl", "she", "her", "lady", "daughter", "sister", "mother", "wife", "women", "girls",
           "females"}


def load_facts(path: Path | None) -> ModuleType:
    if path is None:
        import pmlkg.extraction.facts as facts
        return facts
    spec = importlib.util.spec_from_file_location("facts_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def gold_age(text: str) -> float | None:
    """Years from a PHEE age mention ("54-year-old", "15-month-old"); None for "children", "adolescent"."""
    m = re.search(r"(\d+(?:\.\d+)?)[\s-]*(year|month|week|day)", text, re.IGNORECASE)
    if not m:
        return None
    per = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25}[m.group(2).lower()]
    return round(float(m.group(1)) * per, 2)


def gold_sex(text: str) -> str | None:
    word = text.strip().lower()
    return "male" if word in _MALE else "female" if word in _FEMALE else None


def predicted_sex(facts: ModuleType, sentence: str, pronouns: bool) -> str | None:
    m = facts.PATTERNS["SEX"].search(sentence)
    if m:
        return facts.parse_value("SEX", m.group(0))
    if not pronouns:
        return None
    she, he = len(_SHE.findall(sentence)), len(_HE.findall(sentence))
    return "female" if she and not he else "male" if he and not she else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--split", default="dev", choices=("train", "dev"))
    parser.add_argument("--facts", type=Path, help="another extraction/facts.py to score (before/after)")
    parser.add_argument("--no-pronouns", action="store_true", help="sex from nouns only (the last release's rule)")
    args = parser.parse_args()
    facts = load_facts(args.facts)
    ages = sexes = age_ok = sex_ok = 0
    for line in (args.shared / "corpora" / "phee" / f"{args.split}.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        sentence = record["context"]
        subjects = [e.get("Subject") or {} for e in record["annotations"][0]["events"]]
        age = next((a for s in subjects if "Age" in s if (a := gold_age(s["Age"]["text"][0][0])) is not None), None)
        sex = next((g for s in subjects if "Gender" in s if (g := gold_sex(s["Gender"]["text"][0][0]))), None)
        if age is not None:
            ages += 1
            m = facts.PATTERNS["AGE"].search(sentence)
            got = facts.parse_value("AGE", m.group(0)) if m else None
            age_ok += got is not None and abs(got - age) < 0.1
        if sex is not None:
            sexes += 1
            sex_ok += predicted_sex(facts, sentence, not args.no_pronouns) == sex
    print(f"PHEE {args.split}: facts {args.facts or 'extraction/facts.py'}, pronouns {not args.no_pronouns}")
    print(f"  age (numeric gold)  {age_ok:4d} / {ages:4d} = {age_ok / max(ages, 1):.3f}")
    print(f"  sex                 {sex_ok:4d} / {sexes:4d} = {sex_ok / max(sexes, 1):.3f}")


if __name__ == "__main__":
    main()
