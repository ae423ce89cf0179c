"""The drug-role pair task (extraction/drug_roles.py) and the shipped role model.

The PHEE lines are written here, offsets computed from the text (``str.index``), so each
expected pair and label can be checked by reading the sentence; the scores are counted by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pmlkg.extraction.drug_roles import ROLES, RoleModel, RolePair, encode_pair, phee_pairs, read_phee, score_roles
from pmlkg.extraction.pipeline import roles_model_path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
PHEE_DEV = SHARED / "corpora" / "phee" / "dev.jsonl"
MODEL = roles_model_path()  # the role model as the shipped pipeline carries it (pmlkg_extract/pmlkg_pml_roles/model)


def arg(text: str, *surfaces: str) -> dict:
    """A PHEE argument: one mention per surface (its first occurrence), PHEE's list-of-lists shape."""
    return {"text": [[s] for s in surfaces], "start": [[text.index(s)] for s in surfaces], "entity_id": ["T0"]}


def event(kind: str, text: str, drugs: tuple[str, ...], effect: tuple[str, ...] = (),
          disorder: tuple[str, ...] = ()) -> dict:
    treatment: dict = {"text": [[drugs[0]]], "start": [[text.index(drugs[0])]], "Drug": arg(text, *drugs)}
    if disorder:
        treatment["Disorder"] = arg(text, *disorder)
    ev = {"event_id": "E1", "event_type": kind, "Trigger": arg(text, text.split()[1]), "Treatment": treatment}
    if effect:
        ev["Effect"] = arg(text, *effect)
    return ev


S1 = "Patients with asthma given theophylline or aminophylline developed seizures that responded to diazepam."
S2 = "Valproate-induced hepatotoxicity in a child treated for epilepsy."
S3 = "Steroids caused and then relieved the myopathy."
LINES = [
    {"id": "1_1", "context": S1, "annotations": [{"events": [
        event("Adverse_event", S1, ("theophylline", "aminophylline"), effect=("seizures",), disorder=("asthma",)),
        event("Potential_therapeutic_event", S1, ("diazepam",), effect=("seizures",)),
    ]}]},
    # the Effect span contains the drug: (Valproate, Valproate-induced hepatotoxicity) is no candidate
    {"id": "2_1", "context": S2, "annotations": [{"events": [
        event("Adverse_event", S2, ("Valproate",), effect=("Valproate-induced hepatotoxicity",),
              disorder=("epilepsy",)),
    ]}]},
    # both rules match (steroids, myopathy): exposure wins, and the conflict is counted
    {"id": "3_1", "context": S3, "annotations": [{"events": [
        event("Adverse_event", S3, ("Steroids",), effect=("myopathy",)),
        event("Potential_therapeutic_event", S3, ("Steroids",), effect=("myopathy",)),
    ]}]},
]


def span(text: str, surface: str) -> tuple[int, int]:
    start = text.index(surface)
    return start, start + len(surface)


@pytest.fixture
def phee_file(tmp_path: Path) -> Path:
    path = tmp_path / "phee.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    return path


def test_pairs_and_gold_roles(phee_file: Path) -> None:
    stats: Counter[str] = Counter()
    got = [(p.text[slice(*p.drug)], p.text[slice(*p.condition)], label) for p, label in phee_pairs(phee_file, stats)]
    assert got == [
        # S1: drugs by offset (theophylline, aminophylline, diazepam) x conditions (asthma, seizures)
        ("theophylline", "asthma", "treatment"),  # Treatment.Disorder of the adverse event
        ("theophylline", "seizures", "exposure"),
        ("aminophylline", "asthma", "treatment"),
        ("aminophylline", "seizures", "exposure"),
        ("diazepam", "asthma", "none"),  # drug and condition of different events
        ("diazepam", "seizures", "treatment"),  # Effect of the therapeutic event
        # S2: the overlapping effect is skipped, the indication stays
        ("Valproate", "epilepsy", "treatment"),
        # S3
        ("Steroids", "myopathy", "exposure"),
    ]
    assert stats == Counter({"sentences": 3, "exposure": 3, "treatment": 4, "none": 1, "overlap_skipped": 1,
                             "exposure_and_treatment": 1})


def test_pair_offsets_point_into_the_sentence(phee_file: Path) -> None:
    pairs = phee_pairs(phee_file)
    assert pairs[0][0] == RolePair(S1, span(S1, "theophylline"), span(S1, "asthma"))
    assert [s.id for s in read_phee(phee_file)] == ["1_1", "2_1", "3_1"]


def test_encoding_masks_both_mentions_as_single_tokens() -> None:
    text = "Fatal PML following natalizumab-induced lymphopenia (natalizumab)."
    pair = RolePair(text, (text.rindex("natalizumab"), text.rindex("natalizumab") + 11), span(text, "PML"))
    assert encode_pair(pair) == "Fatal @COND$ following natalizumab-induced lymphopenia ( @DRUG$ )."
    pair = RolePair(text, span(text, "natalizumab"), span(text, "PML"))
    assert encode_pair(pair) == "Fatal @COND$ following @DRUG$ -induced lymphopenia (natalizumab)."
    with pytest.raises(ValueError, match="overlap"):
        encode_pair(RolePair(text, (6, 9), (6, 19)))


def test_scores_count_a_wrong_role_once_each_side() -> None:
    gold = ["exposure", "exposure", "exposure", "treatment", "treatment", "none"]
    pred = ["exposure", "exposure", "treatment", "treatment", "none", "exposure"]
    s = score_roles(gold, pred)
    assert [(c.tp, c.fp, c.fn) for c in s.roles.values()] == [(2, 1, 1), (1, 1, 1), (0, 1, 1)]
    # exposure P 2/3 R 2/3 F1 2/3; treatment 1/2 1/2 1/2; none 0
    assert round(s.macro_f1, 4) == 0.5833 and round(s.macro_f1_3, 4) == 0.3889
    assert s.to_dict()["roles"]["treatment"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1,
                                                 "fn": 1, "support": 2}


# ---------------------------------------------------------------- the shipped model

@pytest.fixture(scope="module")
def model() -> RoleModel:
    return RoleModel.load()


CLEAR = [  # (sentence, drug, condition, role): freshly written, not from any corpus
    ("She developed PML after 3 years of natalizumab.", "natalizumab", "PML", "exposure"),
    ("PML was treated with mefloquine.", "mefloquine", "PML", "treatment"),
    ("Rituximab-associated PML was diagnosed in a man with lymphoma.", "Rituximab", "PML", "exposure"),
    ("He was given cidofovir for PML.", "cidofovir", "PML", "treatment"),
]


def test_shipped_model_reads_clear_sentences(model: RoleModel) -> None:
    pairs = [RolePair(t, span(t, d), span(t, c)) for t, d, c, _ in CLEAR]
    probs = model.predict(pairs)
    assert [max(p, key=p.__getitem__) for p in probs] == [role for *_, role in CLEAR]
    assert all(tuple(p) == ROLES and abs(sum(p.values()) - 1.0) < 1e-5 for p in probs)


@pytest.mark.skipif(not PHEE_DEV.is_file(), reason=f"shared corpora not present ({PHEE_DEV})")
def test_cli_reproduces_the_dev_scores_in_meta() -> None:
    proc = subprocess.run([sys.executable, "-m", "pmlkg", "eval", "roles", "--phee", str(PHEE_DEV), "--json"],
                          check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    meta = json.loads((MODEL / "meta.json").read_text())["pmlkg"]["dev_scores"]
    assert out["n_pairs"] == meta["n_pairs"] == 1617
    assert round(out["macro_f1"], 3) == round(meta["macro_f1"], 3)
    assert round(out["macro_f1_3class"], 3) == round(meta["macro_f1_3class"], 3)
    assert out["roles"] == meta["roles"]


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pmlkg", "eval", "roles", "--phee", str(tmp_path / "absent.jsonl")],
                          check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "absent.jsonl" in proc.stderr
