"""``alabel query`` (what to label next, leased) and ``alabel label`` (import labels from a file)."""
from __future__ import annotations

import sys

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
    from alabel.core.checks import check_label_file, check_labels
    from alabel.core.config import SessionConfig
    from alabel.core.data.opening import open_pool
    from alabel.core.evaluation.estimates import random_sample_event_id

    config = SessionConfig.load(args.config)
    pool = open_pool(config, cluster=False)  # only its ids are read
    id_column = args.id_column or config.data.id_column
    # A file the store would refuse is refused before the store is created for it; the checked
    # rows are what is imported (the file is read once, the pool's ids texted once).
    rows, where = check_label_file(args.source_file, id_column=id_column, label_column=args.label_column,
                                   known_ids=pool.ids)
    store = config.open_store(create=True)  # labelling creates the store
    classes = config.class_names or truth_classes(pool)
    # The store must be this session's (core/labels/identity.py).
    classes = store.claim(id_column=config.data.id_column, ids=pool.ids, classes=classes,
                          foreign=config.labels.foreign_store, where=config.source)
    if classes:
        store.set_classes(classes)
        labels = rows["label"].astype(object).where(rows["label"].notna(), None)
        check_labels(labels, classes, where=config.source,
                     context=f"{where}: column {args.label_column!r}, ")
    before = store.n_labels(split=None, sources=None)
    events = store.import_labels(rows, where=where, source=args.source,
                                 annotator=args.annotator or config.labels.annotator or "import",
                                 split=args.split,
                                 event_id=random_sample_event_id if args.chosen == "random" else None)
    after = store.n_labels(split=None, sources=None)
    print(f"imported {len(events)} labels from {args.source_file} into {config.store_name} "
          f"({after - before} newly labelled objects, {after} in total)"
          + ("; marked as a random sample: they count for the audit estimate" if args.chosen == "random" else ""))
    return 0

