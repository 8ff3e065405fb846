"""``alabel query`` (what to label next, leased) and ``alabel label`` (import labels from a file)."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import at_least, current_model, info, open_session, truth_classes


def cmd_query(args) -> int:
    import pandas as pd

    at_least(args.n, 1, "-n")
    # Without --annotator (or labels.annotator) the leases are this run's own: two runs
    # must not hand out the same objects.
    with open_session(args, annotator=args.annotator or None, create_store=args.new_store) as session:
        if not (args.annotator or session.config.labels.annotator):
            session.use_process_annotator()
        model = None
        if session.labels("train")["label"].nunique() >= 2:
            model = current_model(session, args.quiet)
        elif not args.quiet:
            info("no model yet (labels of two classes needed): the strategy picks at random", False)
        items = session.query(args.n, lease=not args.no_lease)
        table = pd.DataFrame([{
            "id": i.object_id, "score": i.score, "strategy": i.strategy,
            "prediction": i.prediction, "model_version": i.model_version, "reason": i.reason,
        } for i in items])
        del model
        if args.out:
            from alabel.core.files import atomic_path

            with atomic_path(args.out) as tmp:
                table.to_csv(tmp, index=False)
            print(f"wrote {len(table)} queries to {args.out}")
        else:
            table.to_csv(sys.stdout, index=False)
    return 0


def cmd_label(args) -> int:
    from alabel.core.config import SessionConfig
    from alabel.core.data.opening import open_pool
    from alabel.core.evaluation.estimates import random_sample_event_id
    from alabel.core.checks import check_label_file

    config = SessionConfig.load(args.config)
    pool = open_pool(config, cluster=False)  # only its ids are read
    id_column = args.id_column or config.data.id_column
    # A file the store would refuse is refused before the store is created for it.
    check_label_file(args.source_file, id_column=id_column, label_column=args.label_column, known_ids=pool.ids)
    store = config.open_store(create=True)  # labelling creates the store
    classes = config.class_names or truth_classes(pool)
    # The store must be this session's (core/labels/identity.py).
    classes = store.claim(id_column=config.data.id_column, ids=pool.ids, classes=classes,
                          foreign=config.labels.foreign_store, where=config.source)
    if classes:
        store.set_classes(classes)
        _check_import_classes(args.source_file, args.label_column, classes, config.source)
    before = store.n_labels(split=None, sources=None)
    events = store.import_labels(args.source_file, source=args.source,
                                 annotator=args.annotator or config.labels.annotator or "import",
                                 id_column=id_column,
                                 label_column=args.label_column, split=args.split,
                                 known_ids=set(pool.ids),
                                 event_id=random_sample_event_id if args.chosen == "random" else None)
    after = store.n_labels(split=None, sources=None)
    print(f"imported {len(events)} labels from {args.source_file} into {config.store_name} "
          f"({after - before} newly labelled objects, {after} in total)"
          + ("; marked as a random sample: they count for the audit estimate" if args.chosen == "random" else ""))
    return 0


def _check_import_classes(path: Path, column: str, classes: list[str], where: str) -> None:
    """Every label of an import file is a class of the config (the error names both files and the key)."""
    import pandas as pd

    from alabel.core.checks import check_labels

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, usecols=[column])
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path, columns=[column])
        else:
            return  # the store's importer names the formats it reads
    except (OSError, ValueError, KeyError):
        return  # a missing file or column: the store's importer says which, in one line
    labels = frame[column].astype(object).where(frame[column].notna(), None)
    check_labels(labels, classes, where=where, context=f"{path}: column {column!r}, ")
