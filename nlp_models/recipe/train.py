"""The whole recipe of the two trained NER pipelines, one command (from the repository root):

    .venv/bin/python nlp_models/recipe/train.py all [--shared ../shared]

Steps (each also runnable alone):
  prepare                 gold corpora -> nlp_models/corpus/*.spacy (prepare_corpora.py)
  train RUN [RUN...]      spacy train, one process per run, in parallel, 1 thread each, CPU,
                          each stopped after --minutes of wall time (model-best = best dev checkpoint)
  evaluate RUN [RUN...]   strict (start, end, label) P/R/F1 per dev corpus and label, against
                          extraction.pubtator.gold_spans (the raw gold, before any alignment)
  install                 copy the chosen runs' model-best to nlp_models/build/pmlkg_ner_{chemdis,gene}
                          (git-ignored), add the `pmlkg` block (data, command, wall time, per-corpus dev
                          scores) to meta.json; build_pipelines.py then sources them into pmlkg_extract,
                          the one place they are shipped (its meta.json keeps each model's meta)

Runs (RUNS below): chemdis_ncbi (BC5CDR + BioRED + NCBI-disease with DRUG missing) and gene are
the shipped ones (`all` trains and installs them); chemdis (without NCBI-disease), *_fv (static
vectors, recipe/vectors.py first) and *_w128 (wider CNN) are runnable variants (nlp_models/README.md
says which were measured, and with what).
The configs read nlp_models/lexicons/ner_features.tsv (dictionary features): models that are
installed together must be trained on the same file (build_extract_pipeline checks the digest), and
the saved models keep only a reference to it (pmlkg_dict_features/table.json: its sha256), so the file
they were trained on is the one to commit (feature_terms.py keeps it pinned).
Run outputs go to nlp_models/corpus/runs/<run>/ (build folder, not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pmlkg.nlp_models import build_dir
from runs import install_run, run_records

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "nlp_models" / "corpus"
RUNS_DIR = CORPUS / "runs"
PY = sys.executable

NCBI_TRAIN = ["--paths.train", "nlp_models/corpus/chemdis_ncbi_train.spacy"]
VECTORS = ["--paths.vectors", "nlp_models/corpus/vectors/spacy",
           "--components.tok2vec.model.embed.include_static_vectors", "true"]
WIDE = ["--components.tok2vec.model.encode.width", "128", "--components.tok2vec.model.encode.depth", "4"]
RUNS = {  # the configs are the shipped recipe; variants are overrides measured against them
    "chemdis": {"config": "nlp_models/configs/chemdis.cfg", "overrides": []},
    "chemdis_ncbi": {"config": "nlp_models/configs/chemdis.cfg", "overrides": NCBI_TRAIN},
    "gene": {"config": "nlp_models/configs/gene.cfg", "overrides": []},
    # + static floret vectors trained here (recipe/vectors.py; run it before these)
    "chemdis_ncbi_fv": {"config": "nlp_models/configs/chemdis.cfg", "overrides": NCBI_TRAIN + VECTORS},
    "gene_fv": {"config": "nlp_models/configs/gene.cfg", "overrides": VECTORS},
    # a wider, deeper CNN (width 128, depth 4)
    "chemdis_ncbi_w128": {"config": "nlp_models/configs/chemdis.cfg", "overrides": NCBI_TRAIN + WIDE},
    "gene_w128": {"config": "nlp_models/configs/gene.cfg", "overrides": WIDE},
}
EVAL_SETS = {  # dev corpus -> (pubtator file, labels scored)
    "bc5cdr_dev": ("bc5cdr/CDR_DevelopmentSet.PubTator.txt", ("DRUG", "DISEASE")),
    "biored_dev": ("biored/Dev.PubTator", ("DRUG", "DISEASE", "GENE")),
    "ncbi_dev": ("ncbi-disease/NCBIdevelopset_corpus.txt", ("DISEASE",)),
    "nlmgene_dev": ("nlm-gene/NLMgene_Train.PubTator", ("GENE",)),
    "gnormplus_dev": ("gnormplus/GNormPlus_Train.PubTator", ("GENE",)),
}
DATA = {
    "chemdis": "train: BC5CDR train + BioRED train (ChemicalEntity->DRUG, DiseaseOrPhenotypicFeature->DISEASE); "
               "dev: BC5CDR dev + BioRED dev",
    "chemdis_ncbi": "train: BC5CDR train + BioRED train + NCBI-disease train (DISEASE only, non-disease tokens "
                    "missing); dev: BC5CDR dev + BioRED dev",
    "gene": "train: NLM-Gene train (90%) + GNormPlus train (90%) + BioRED train (Gene/GeneOrGeneProduct->GENE); "
            "dev: NLM-Gene + GNormPlus 10% carved by sha1(pmid) % 10 == 0, + BioRED dev",
}
for _run in RUNS:
    DATA.setdefault(_run, DATA["chemdis_ncbi" if _run.startswith("chemdis_ncbi") else _run.split("_")[0]])
TARGET = {"chemdis": "pmlkg_ner_chemdis", "gene": "pmlkg_ner_gene"}  # folders under nlp_models/build/


def train_cmd(run: str) -> list[str]:
    spec = RUNS[run]
    return [PY, "-m", "spacy", "train", spec["config"], "--output", str(RUNS_DIR / run), "--code",
            "nlp_models/recipe/registry.py", "--gpu-id", "-1", *spec["overrides"]]


def train(runs: list[str], minutes: float) -> None:
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = {}
    for run in runs:
        (RUNS_DIR / run).mkdir(parents=True, exist_ok=True)
        log = (RUNS_DIR / f"{run}.log").open("w")
        procs[run] = (subprocess.Popen(train_cmd(run), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
                      time.time(), log)
    deadline = time.time() + minutes * 60
    while procs:
        for run, (p, t0, log) in list(procs.items()):
            if p.poll() is None and time.time() < deadline:
                continue
            stopped = p.poll() is None
            if stopped:  # wall-time cap: model-best already holds the best dev checkpoint
                p.send_signal(signal.SIGTERM)
                p.wait()
            log.close()
            info = {"run": run, "command": " ".join(train_cmd(run)), "wall_seconds": round(time.time() - t0),
                    "stopped_by_wall_cap_minutes": minutes if stopped else None, "returncode": p.returncode,
                    "threads": 1, "parallel_runs": len(runs)}
            (RUNS_DIR / f"{run}.train.json").write_text(json.dumps(info, indent=1) + "\n")
            print(info, flush=True)
            del procs[run]
        time.sleep(5)


def prf(tp: int, npred: int, ngold: int) -> dict:
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return {"p": round(100 * p, 1), "r": round(100 * r, 1), "f": round(200 * p * r / (p + r), 1) if p + r else 0.0,
            "gold": ngold, "pred": npred}


def evaluate(run: str, shared: Path, model_dir: Path | None = None) -> dict:
    import spacy

    import pmlkg.extraction.ner_features  # noqa: F401  (registers pmlkg_dict_features)
    import pmlkg.extraction.tokenizer  # noqa: F401  (registers the tokenizer callback)
    from pmlkg.extraction.pubtator import gold_spans, read_pubtator

    nlp = spacy.load(model_dir or RUNS_DIR / run / "model-best")
    labels = set(nlp.get_pipe("ner").labels)
    scores = {}
    for name, (rel, scored) in EVAL_SETS.items():
        pmids = set((CORPUS / "dev" / f"{name}.pmids").read_text().split())
        docs = [d for d in read_pubtator(shared / "corpora" / rel) if d.pmid in pmids]
        seen, uniq = set(), []
        for d in docs:
            if d.pmid not in seen:
                seen.add(d.pmid)
                uniq.append(d)
        wanted = [lab for lab in scored if lab in labels]
        if not wanted:
            continue
        counts = {lab: [0, 0, 0] for lab in wanted}
        for d, doc in zip(uniq, nlp.pipe((d.text for d in uniq), batch_size=32), strict=True):
            gold = {g for g in gold_spans(d) if g[2] in wanted}
            pred = {(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in wanted}
            for lab in wanted:
                g = {x for x in gold if x[2] == lab}
                p = {x for x in pred if x[2] == lab}
                counts[lab][0] += len(g & p)
                counts[lab][1] += len(p)
                counts[lab][2] += len(g)
        scores[name] = {"docs": len(uniq), **{lab: prf(*c) for lab, c in counts.items()}}
    return scores


def _feature_digest(pipeline_dir: Path) -> str | None:
    import spacy

    import pmlkg.extraction.ner_features  # noqa: F401
    nlp = spacy.load(pipeline_dir)
    return nlp.get_pipe("pmlkg_dict_features").digest() if "pmlkg_dict_features" in nlp.pipe_names else None


def install(choice: dict[str, str], shared: Path) -> None:
    import spacy

    stats = json.loads((CORPUS / "stats.json").read_text())
    for model, run in choice.items():
        dst = build_dir() / TARGET[model]
        train_info, evals = run_records(RUNS_DIR, run)

        def describe(meta: dict, model: str = model, run: str = run, dst: Path = dst,
                     train_info: dict = train_info, evals: dict = evals) -> None:
            meta["name"] = TARGET[model].removeprefix("pmlkg_")
            meta["description"] = (f"pmlkg {TARGET[model]}: spaCy CNN tok2vec + ner with dictionary-match features "
                                   "(pmlkg_dict_features), trained on gold PubMed corpora, no static vectors")
            meta["pmlkg"] = {
                "run": run,
                "data": DATA[run],
                "features": "pmlkg_dict_features over nlp_models/lexicons/ner_features.tsv "
                            f"(digest {_feature_digest(dst)}), read as the TAG hash-embedding attribute",
                "exclusions": "PMIDs of shared/corpora/OVERLAP_WITH_HELDOUT.tsv dropped from train and dev; "
                              "train docs whose PMID is in a dev set dropped; longest of overlapping gold spans kept",
                "corpus_stats": {k: v for k, v in stats.items() if k.startswith(("chemdis" if model == "chemdis" else "gene"))}
                | {"files": stats["files"]},
                "train_command": train_info["command"].replace(str(ROOT) + "/", ""),
                "recipe_command": ".venv/bin/python nlp_models/recipe/train.py all",
                "wall_seconds": train_info["wall_seconds"],
                "wall_cap_minutes": train_info["stopped_by_wall_cap_minutes"],
                "hardware": f"CPU, 1 thread per run, {train_info['parallel_runs']} runs in parallel on 2 cores",
                "spacy_version": spacy.__version__,
                "dev_scores_strict_char_offsets": evals,
            }

        install_run(RUNS_DIR, run, dst, describe)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["all", "prepare", "train", "evaluate", "install"])
    ap.add_argument("runs", nargs="*")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--minutes", type=float, default=26.0, help="wall-time cap per run")
    ap.add_argument("--chemdis-run", default="chemdis_ncbi")
    ap.add_argument("--gene-run", default="gene")
    args = ap.parse_args()
    runs = args.runs or ["chemdis_ncbi", "gene"]
    if args.step in ("all", "prepare"):
        subprocess.run([PY, "nlp_models/recipe/prepare_corpora.py", "--shared", str(args.shared)], cwd=ROOT, check=True)
    if args.step in ("all", "train"):
        train(runs, args.minutes)
    if args.step in ("all", "evaluate"):
        for run in runs:
            scores = evaluate(run, args.shared)
            (RUNS_DIR / f"{run}.eval.json").write_text(json.dumps(scores, indent=1) + "\n")
            print(run, json.dumps(scores), flush=True)
    if args.step in ("all", "install"):
        install({"chemdis": args.chemdis_run, "gene": args.gene_run}, args.shared)


if __name__ == "__main__":
    main()
