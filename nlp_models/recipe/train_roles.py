"""The recipe of the drug-role model ``pmlkg_roles``, one command (repository root):

    .venv/bin/python nlp_models/recipe/train_roles.py all [--shared ../shared]

Steps (each also runnable alone):
  prepare               PHEE train/dev -> (drug, condition) pairs (extraction.drug_roles.phee_pairs), masked
                        (encode_pair) and tokenized by the project tokenizer -> nlp_models/corpus/roles/*.spacy;
                        also the training files of the variants (oversampled, cropped copies, + BioRED /
                        BC5CDR relation pairs); counts in nlp_models/corpus/roles/stats.json
  train RUN [RUN...]    spacy train, one process per run, 1 thread each, CPU (--gpu-id -1)
  evaluate RUN [RUN...] the scorer of `pmlkg eval roles` on PHEE dev, and pairs/s on one thread
  install [--run RUN]   copy the run's model-best to nlp_models/build/pmlkg_roles with a `pmlkg` block in
                        meta.json; nlp_models/recipe/build_pipelines.py then puts it into pmlkg_extract (its
                        pmlkg_pml_roles component), the one place it is shipped

Runs (RUNS): ``ens64_over_crop0`` is nlp_models/configs/roles.cfg as it is, the shipped one (`all` = prepare,
train, evaluate and install it); the others replace its ``[components.textcat.model]`` block, its training
file or its seed, and were measured against it (nlp_models/README.md has the table). Variant configs are
written to nlp_models/corpus/roles/configs/, runs to nlp_models/corpus/roles/runs/ (build folders, not
committed, like everything under nlp_models/corpus/).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pmlkg.nlp_models import build_dir
from runs import install_run, run_records

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "nlp_models" / "corpus" / "roles"
RUNS_DIR = CORPUS / "runs"
CONFIG = ROOT / "nlp_models" / "configs" / "roles.cfg"
TARGET = build_dir() / "pmlkg_roles"  # git-ignored; shipped only inside pmlkg_extract (build_pipelines.py)
PY = sys.executable
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # evaluate's speed is per thread
    os.environ.setdefault(_var, "1")
SHIPPED = "ens64_over_crop0"
SEED = 0


def _tok2vec(width: int, depth: int = 2, window: int = 1) -> dict[str, Any]:
    """An inline CNN tok2vec (no separate component: the textcat owns it), the efficiency preset's shape."""
    return {"@architectures": "spacy.Tok2Vec.v2",
            "embed": {"@architectures": "spacy.MultiHashEmbed.v2", "width": width,
                      "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"], "rows": [5000, 1000, 2500, 2500],
                      "include_static_vectors": False},
            "encode": {"@architectures": "spacy.MaxoutWindowEncoder.v2", "width": width, "depth": depth,
                       "window_size": window, "maxout_pieces": 3}}


def _bow(ngrams: int) -> dict[str, Any]:
    return {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": ngrams,
            "no_output_layer": False, "length": 262144, "nO": None}


def _ensemble(width: int) -> dict[str, Any]:
    return {"@architectures": "spacy.TextCatEnsemble.v2", "nO": None, "tok2vec": _tok2vec(width),
            "linear_model": _bow(3)}


# run -> the model block (None: roles.cfg's own), the training file (prepare writes them all) and
# optional command-line overrides (another seed, to see how much of a difference is noise)
RUNS: dict[str, dict[str, Any]] = {
    "bow1": {"model": _bow(1), "train": "train.spacy"},
    "bow3": {"model": _bow(3), "train": "train.spacy"},
    "bow3_over": {"model": _bow(3), "train": "train_over.spacy"},
    "cnn64": {"model": {"@architectures": "spacy.TextCatCNN.v2", "exclusive_classes": True, "nO": None,
                        "tok2vec": _tok2vec(64)}, "train": "train.spacy"},
    "ens64": {"model": _ensemble(64), "train": "train.spacy"},
    "ens64_s1": {"model": _ensemble(64), "train": "train.spacy", "overrides": ["--system.seed", "1"]},
    "ens64_over": {"model": _ensemble(64), "train": "train_over.spacy"},
    "ens64_over_s1": {"model": _ensemble(64), "train": "train_over.spacy", "overrides": ["--system.seed", "1"]},
    "ens64_over_crop": {"model": _ensemble(64), "train": "train_over_crop.spacy"},
    "ens64_over_crop_s1": {"model": _ensemble(64), "train": "train_over_crop.spacy",
                           "overrides": ["--system.seed", "1"]},
    "ens64_over_crop0": {"model": None, "train": "train_over_crop0.spacy"},  # = roles.cfg: shipped
    "ens64_over_crop0_s1": {"model": None, "train": "train_over_crop0.spacy", "overrides": ["--system.seed", "1"]},
    "ens64_biored": {"model": _ensemble(64), "train": "train_biored.spacy"},
    "ens64_biored_over": {"model": _ensemble(64), "train": "train_biored_over.spacy"},
    "ens64_biored_none": {"model": _ensemble(64), "train": "train_biored_none.spacy"},
    "ens64_bc5_biored": {"model": _ensemble(64), "train": "train_bc5_biored.spacy"},
}
TRAIN_DATA = {  # training file -> what it holds (install writes it to meta.json)
    "train.spacy": "PHEE train pairs",
    "train_over.spacy": "PHEE train pairs, oversampled per role (copies: exposure 1, treatment 2, none 6)",
    "train_over_crop.spacy": "PHEE train pairs, oversampled per role, each also as a copy cropped to 1-6 random "
                             "tokens around the two mentions",
    "train_over_crop0.spacy": "PHEE train pairs, oversampled per role, each also as a copy cropped to 0-4 random "
                              "tokens around the two mentions",
    "train_biored.spacy": "PHEE train pairs + BioRED train sentence pairs (Positive/Negative_Correlation)",
    "train_biored_over.spacy": "PHEE train + BioRED train pairs, oversampled per role",
    "train_biored_none.spacy": "PHEE train + BioRED train pairs, unrelated BioRED pairs as none",
    "train_bc5_biored.spacy": "PHEE train + BC5CDR train CID pairs + BioRED train pairs",
}
OVERSAMPLE = {"exposure": 1, "treatment": 2, "none": 6}  # train_over.spacy: copies per pair of each role


def phee_file(shared: Path, split: str) -> Path:
    return shared / "corpora" / "phee" / f"{split}.jsonl"


# ---------------------------------------------------------------- extra signal: PubTator relations

# corpus file -> document-level relation type -> role of every sentence pair the relation covers
RELATION_ROLES: dict[str, dict[str, str]] = {
    "bc5cdr/CDR_TrainingSet.PubTator.txt": {"CID": "exposure"},
    "biored/Train.PubTator": {"Positive_Correlation": "exposure", "Negative_Correlation": "treatment"},
}


def read_relations(path: Path) -> dict[str, dict[frozenset[str], str]]:
    """PubTator relation lines (``pmid<TAB>type<TAB>id1<TAB>id2[...]``) per PMID, keyed by the id pair."""
    out: dict[str, dict[frozenset[str], str]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 4 and parts[0].isdigit() and not parts[1].isdigit():
                out.setdefault(parts[0], {})[frozenset((parts[2], parts[3]))] = parts[1]
    return out


def relation_pairs(shared: Path, rel: str, exclude: set[str], with_unrelated: bool,
                   counts: Counter[str]) -> list[tuple[Any, str]]:
    """Sentence-level (chemical, disease) pairs labelled by the abstract's relation annotation.

    The corpora relate concepts per abstract, not per sentence: a pair of co-occurring mentions
    takes the role of the relation between their ids (RELATION_ROLES), other relation types are
    skipped, and an unrelated pair is ``none`` only with ``with_unrelated`` (BC5CDR's non-CID
    pairs include treatments, so they are never ``none``). Documents whose PMID is in ``exclude``
    (PHEE dev, OVERLAP_WITH_HELDOUT.tsv) are left out.
    """
    import spacy

    from pmlkg.extraction.drug_roles import RolePair
    from pmlkg.extraction.evaluate import normalise_gold_ids
    from pmlkg.extraction.pubtator import read_pubtator
    from pmlkg.extraction.tokenizer import customize_tokenizer

    nlp = customize_tokenizer(spacy.blank("en"))
    nlp.add_pipe("sentencizer")
    path = shared / "corpora" / rel
    relations = read_relations(path)
    roles = RELATION_ROLES[rel]
    out: list[tuple[Any, str]] = []
    for doc in read_pubtator(path):
        if doc.pmid in exclude:
            counts["excluded_docs"] += 1
            continue
        text = doc.text
        mentions = [m for m in doc.mentions if m.label in ("DRUG", "DISEASE") and text[m.start:m.end] == m.text]
        for sent in nlp(text).sents:
            s0, s1 = sent.start_char, sent.end_char
            inside = [m for m in mentions if s0 <= m.start and m.end <= s1]
            for chem in (m for m in inside if m.label == "DRUG"):
                for dis in (m for m in inside if m.label == "DISEASE"):
                    if chem.start < dis.end and dis.start < chem.end:
                        continue
                    types = {relations.get(doc.pmid, {}).get(frozenset((a, b)))
                             for a in normalise_gold_ids(chem.ids) for b in normalise_gold_ids(dis.ids)} - {None}
                    found = {roles[t] for t in types if t in roles}
                    if len(found) > 1 or (types and not found):
                        counts["skipped_other_relation"] += 1
                        continue
                    label = found.pop() if found else "none"
                    if label == "none" and not with_unrelated:
                        continue
                    counts[label] += 1
                    out.append((RolePair(sent.text, (chem.start - s0, chem.end - s0), (dis.start - s0, dis.end - s0)),
                                label))
    return out


# ---------------------------------------------------------------- prepare

CROP_CONTEXT = {"_crop": (1, 6), "_crop0": (0, 4)}  # tokens kept before the first marker / after the second


def crop(doc: Any, left: int, right: int) -> str:
    """The masked sentence cut to ``left`` tokens before its first marker and ``right`` after its second.

    A copy of every training pair cut so is still real annotated text (the words between the two
    mentions, where the relation is mostly worded, are all kept), and it teaches the model short
    sentences and windows, the shape of many case-report sentences at application time
    ("PML was treated with mefloquine."), without the sentence-start cues of PHEE's titles.
    """
    from pmlkg.extraction.drug_roles import COND_MARK, DRUG_MARK

    marks = [t.i for t in doc if t.text in (DRUG_MARK, COND_MARK)]
    span = doc[max(0, marks[0] - left):min(len(doc), marks[-1] + 1 + right)]
    return span.text


def excluded_pmids(shared: Path) -> set[str]:
    """PMIDs extra corpora must not train on: PHEE dev's abstracts and OVERLAP_WITH_HELDOUT.tsv's."""
    out = {json.loads(line)["id"].split("_")[0] for line in phee_file(shared, "dev").open(encoding="utf-8")
           if line.strip()}
    for line in (shared / "corpora" / "OVERLAP_WITH_HELDOUT.tsv").open(encoding="utf-8"):
        pmid = line.split("\t", 1)[0]
        if pmid.isdigit():
            out.add(pmid)
    return out


def prepare(shared: Path) -> dict[str, Any]:
    """PHEE pairs (+ the extra corpora's) -> DocBins with one-hot ``cats``; the counts go to stats.json."""
    import spacy
    from spacy.tokens import DocBin

    from pmlkg.extraction.drug_roles import ROLES, encode_pair, phee_pairs
    from pmlkg.extraction.tokenizer import customize_tokenizer

    nlp = customize_tokenizer(spacy.blank("en"))
    CORPUS.mkdir(parents=True, exist_ok=True)
    stats: dict[str, Any] = {}
    pairs: dict[str, list] = {}
    for split in ("train", "dev"):
        counts: Counter[str] = Counter()
        pairs[split] = phee_pairs(phee_file(shared, split), counts)
        stats[f"phee_{split}"] = {"pairs": len(pairs[split]), **dict(sorted(counts.items()))}
    exclude = excluded_pmids(shared)
    for rel in RELATION_ROLES:
        for with_unrelated in (False, True):
            counts = Counter()
            key = rel.split("/")[0] + ("_none" if with_unrelated else "")
            if key == "bc5cdr_none":
                continue
            pairs[key] = relation_pairs(shared, rel, exclude, with_unrelated, counts)
            stats[key] = {"pairs": len(pairs[key]), **dict(sorted(counts.items()))}
    files = {  # file -> (pairs, copies per role)
        "train": (pairs["train"], None),
        "train_over": (pairs["train"], OVERSAMPLE),
        "train_biored": (pairs["train"] + pairs["biored"], None),
        "train_biored_over": (pairs["train"] + pairs["biored"], OVERSAMPLE),
        "train_biored_none": (pairs["train"] + pairs["biored_none"], None),
        "train_bc5_biored": (pairs["train"] + pairs["bc5cdr"] + pairs["biored"], None),
        "dev": (pairs["dev"], None),
    }
    files["train_over_crop"] = (pairs["train"], OVERSAMPLE)
    files["train_over_crop0"] = (pairs["train"], OVERSAMPLE)
    for name, (items, reps) in files.items():
        docs = []
        rng = random.Random(SEED)
        for pair, label in items:
            doc = nlp.make_doc(encode_pair(pair))
            doc.cats = {r: float(r == label) for r in ROLES}
            docs += [doc] * (reps[label] if reps else 1)
            context = CROP_CONTEXT.get(name[name.rfind("_"):])
            if context:
                cropped = nlp.make_doc(crop(doc, rng.randint(*context), rng.randint(*context)))
                if len(cropped) < len(doc):
                    cropped.cats = dict(doc.cats)
                    docs += [cropped] * (reps[label] if reps else 1)
        if name != "dev":
            random.Random(SEED).shuffle(docs)
        DocBin(store_user_data=False, docs=docs).to_disk(CORPUS / f"{name}.spacy")
        stats[f"file_{name}"] = len(docs)
    (CORPUS / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    print(json.dumps(stats), flush=True)
    return stats


# ---------------------------------------------------------------- train

def run_config(run: str) -> Path:
    """roles.cfg itself for the shipped run; else a copy with the run's model block."""
    block = RUNS[run]["model"]
    if block is None:
        return CONFIG
    from thinc.api import Config

    cfg = Config().from_disk(CONFIG, interpolate=False)
    cfg["components"]["textcat"]["model"] = block
    path = CORPUS / "configs" / f"{run}.cfg"
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.to_disk(path)
    return path


def train_cmd(run: str) -> list[str]:
    config = run_config(run)
    return [PY, "-m", "spacy", "train", str(config.relative_to(ROOT)),
            "--output", str((RUNS_DIR / run).relative_to(ROOT)),
            "--code", "nlp_models/recipe/registry.py", "--gpu-id", "-1",
            "--paths.train", f"nlp_models/corpus/roles/{RUNS[run]['train']}",
            "--paths.dev", "nlp_models/corpus/roles/dev.spacy", *RUNS[run].get("overrides", [])]


def train(runs: list[str]) -> None:
    """One ``spacy train`` per run, side by side, one thread each (OMP/OPENBLAS/MKL = 1)."""
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = {}
    for run in runs:
        cmd = train_cmd(run)
        log = (RUNS_DIR / f"{run}.log").open("w")
        procs[run] = (cmd, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
                      time.time(), log)
    for run, (cmd, proc, t0, log) in procs.items():
        proc.wait()
        log.close()
        info = {"run": run, "command": " ".join(cmd).replace(PY, "python"), "wall_seconds": round(time.time() - t0),
                "returncode": proc.returncode, "threads": 1, "parallel_runs": len(runs)}
        (RUNS_DIR / f"{run}.train.json").write_text(json.dumps(info, indent=1) + "\n")
        print(info, flush=True)
        if proc.returncode:
            raise SystemExit(f"{run}: spacy train failed, see {RUNS_DIR / (run + '.log')}")


# ---------------------------------------------------------------- evaluate

def pairs_per_second(model: Any, pairs: list, seconds: float = 3.0) -> float:
    """Throughput of ``RoleModel.predict`` on this process (run with one thread), best of repeated passes."""
    model.predict(pairs[:256])  # warm-up
    best, spent = 0.0, 0.0
    while spent < seconds:
        t0 = time.perf_counter()
        model.predict(pairs)
        dt = time.perf_counter() - t0
        spent += dt
        best = max(best, len(pairs) / dt)
    return best


def evaluate(run: str, shared: Path, model_dir: Path | None = None) -> dict[str, Any]:
    from pmlkg.extraction.drug_roles import RoleModel, evaluate_roles, phee_pairs

    model = RoleModel.load(model_dir or RUNS_DIR / run / "model-best")
    pairs = phee_pairs(phee_file(shared, "dev"))
    scores = evaluate_roles(model, pairs).to_dict()
    folder = model_dir or RUNS_DIR / run / "model-best"
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    speed = pairs_per_second(model, [p for p, _ in pairs])
    out = {"run": run, "phee_dev": scores, "pairs_per_second_1_thread": round(speed), "model_mb": round(size / 1e6, 1)}
    (RUNS_DIR / f"{run}.eval.json").write_text(json.dumps(out, indent=1) + "\n")
    print(run, json.dumps(out), flush=True)
    return out


# ---------------------------------------------------------------- install

def install(run: str) -> None:
    import spacy

    train_info, evals = run_records(RUNS_DIR, run)
    stats = json.loads((CORPUS / "stats.json").read_text())

    def describe(meta: dict) -> None:
        meta["name"] = "roles"
        meta["description"] = ("pmlkg pmlkg_roles: spaCy textcat (exclusive exposure/treatment/none) over a sentence "
                               "with the drug masked as @DRUG$ and the condition as @COND$; trained on PHEE pairs")
        meta["pmlkg"] = {
            "run": run,
            "data": f"train: {TRAIN_DATA[RUNS[run]['train']]}; dev (checkpoint selection and the scores below): "
                    f"PHEE dev ({stats['phee_dev']['sentences']} sentences, {stats['phee_dev']['pairs']} pairs); "
                    "pairs = every (Treatment.Drug, Effect | Treatment.Disorder) of a sentence with non-overlapping "
                    "spans, labelled by extraction.drug_roles.gold_role",
            "training_file": RUNS[run]["train"],
            "counts": stats,
            "train_command": train_info["command"],
            "recipe_command": ".venv/bin/python nlp_models/recipe/train_roles.py all",
            "wall_seconds": train_info["wall_seconds"],
            "hardware": f"CPU, 1 thread, {train_info['parallel_runs']} run(s) in parallel on 2 shared cores",
            "spacy_version": spacy.__version__,
            "dev_scores": evals["phee_dev"],
            "eval_command": ".venv/bin/pmlkg eval roles --phee ../shared/corpora/phee/dev.jsonl",
            "pairs_per_second_1_thread": evals["pairs_per_second_1_thread"],
        }

    install_run(RUNS_DIR, run, TARGET, describe)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["all", "prepare", "train", "evaluate", "install"])
    ap.add_argument("runs", nargs="*", help=f"of {', '.join(RUNS)} (default: {SHIPPED})")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--run", default=SHIPPED, help="the run `install` copies")
    args = ap.parse_args()
    runs = args.runs or [SHIPPED]
    unknown = [r for r in [*runs, args.run] if r not in RUNS]
    if unknown:
        ap.error(f"unknown run(s) {unknown}; runs: {', '.join(RUNS)}")
    if args.step in ("all", "prepare"):
        prepare(args.shared)
    if args.step in ("all", "train"):
        train(runs)
    if args.step in ("all", "evaluate"):
        for run in runs:
            evaluate(run, args.shared)
    if args.step in ("all", "install"):
        install(args.run)


if __name__ == "__main__":
    main()
