"""Train the meta-models shipped in metasel/resources/meta/<metric>/ from the default KB.

Run: python benchmarks/train_default_meta.py [--metric roc_auc --metric accuracy ...]
Takes well under a minute on one core; rerun whenever the shipped KB changes (the KB
fingerprint is stored in each meta_model.json).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from metasel.exceptions import KnowledgeBaseError
from metasel.kb import KnowledgeBase
from metasel.meta import MetaModel

OUT = Path(__file__).resolve().parents[1] / "metasel" / "resources" / "meta"
MIN_COVERAGE = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", action="append", default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    kb = KnowledgeBase.default()
    print(f"KB: {kb}")
    for metric in args.metric or ["roc_auc", "accuracy", "balanced_accuracy", "log_loss"]:
        start = time.perf_counter()
        try:
            model = MetaModel.fit(kb, metric, min_coverage=MIN_COVERAGE)
        except KnowledgeBaseError as exc:
            print(f"{metric}: not shipped ({exc})")
            continue
        path = model.save(args.out / metric)
        print(f"{metric}: {len(model.train_info)} datasets, {len(model.learners)} learners, "
              f"fingerprint {model.fingerprint}, {time.perf_counter() - start:.1f}s -> {path}")


if __name__ == "__main__":
    main()
