"""``alabel score``: predictions for the pool, or for a new catalogue in chunks or on Dask."""
from __future__ import annotations

from .common import at_least, config_error, current_model, info, open_session, progress_bar


def cmd_score(args) -> int:
    from alabel.core.predictions import check_output_path, score_table, write_table

    from alabel.core.config import SessionConfig

    config = SessionConfig.load(args.config)
    if config.data.backend == "dask":
        return _score_on_dask(args, config)
    if args.data is not None:
        return _score_catalogue(args)
    if args.model is not None:
        raise config_error("--model: only with --data (the pool is scored with the current model)")
    check_output_path(args.out)  # fail before any work
    with open_session(args) as session:
        model = current_model(session, args.quiet)
        table = score_table(session, model)
        path = write_table(table, args.out)
        print(f"scored {len(table)} objects with model version {model.version}: {path}")
    return 0


def _score_catalogue(args) -> int:
    """``alabel score --data NEW``: a saved model applied to files outside the pool, chunk by chunk."""
    from alabel.core.data.catalogue import catalogue_files
    from alabel.core.data.encoding import FeatureEncoding
    from alabel.core.predictions import CATALOGUE_CHUNK_ROWS, saved_head, score_catalogue

    version = _model_version(args.model)
    chunk_rows = args.chunk_rows if args.chunk_rows is not None else CATALOGUE_CHUNK_ROWS
    at_least(chunk_rows, 1, "--chunk-rows")
    if args.out.exists() and not args.out.is_dir():
        raise config_error(f"{args.out}: --out: with --data, --out is a folder (one Parquet file per input file)")
    files = catalogue_files(args.data)
    with open_session(args) as session:
        head, version = saved_head(session, version)
        encoding = FeatureEncoding.from_pool(session.pool)
    total = _total_rows(files)
    with progress_bar(total, args.quiet, "rows") as bar:
        result = score_catalogue(head, encoding, files, args.out, model_version=version, chunk_rows=chunk_rows,
                                 progress=bar.update)
    if result.unseen_categories:
        info(f"{result.unseen_categories} categorical value(s) were not in the pool: encoded as missing "
              "(a row of zeros), as the pool encodes a missing category", args.quiet)
    print(f"scored {result.rows} objects of {len(files)} file(s) with model version {version}: {args.out}/")
    return 0


def _score_on_dask(args, config) -> int:
    """``alabel score`` of a pool on Dask (data.backend: dask): the pool's partitions, or --data's files.

    One task per file on the config's scheduler (or a LocalCluster): one
    output file per input partition, each worker holding one chunk at a time.
    """
    from alabel.core.data.catalogue import catalogue_files
    from alabel.core.data.dask_pool import DaskPool, dask_client
    from alabel.core.predictions import CATALOGUE_CHUNK_ROWS, saved_head_in, score_catalogue_on_dask

    version = _model_version(args.model)
    chunk_rows = args.chunk_rows if args.chunk_rows is not None else CATALOGUE_CHUNK_ROWS
    at_least(chunk_rows, 1, "--chunk-rows")
    if args.out.exists() and not args.out.is_dir():
        raise config_error(f"{args.out}: --out: with data.backend dask, --out is a folder "
                            "(one Parquet file per partition)")
    head, version = saved_head_in(config, version)
    t = config.training
    with dask_client(t.scheduler, n_workers=t.dask_workers, memory_limit=t.dask_memory_limit) as client:
        pool = DaskPool(config.data, client)
        files = catalogue_files(args.data) if args.data is not None else pool.files
        total = _total_rows(files)
        with progress_bar(total, args.quiet, "rows") as bar:
            result = score_catalogue_on_dask(client, head, pool.encoding, files, args.out, model_version=version,
                                             chunk_rows=chunk_rows, progress=bar.update)
    if result.unseen_categories:
        info(f"{result.unseen_categories} categorical value(s) were not in the pool: encoded as missing "
              "(a row of zeros), as the pool encodes a missing category", args.quiet)
    print(f"scored {result.rows} objects of {len(files)} partition(s) on Dask with model version {version}: "
          f"{args.out}/")
    return 0


def _model_version(text: str | None) -> int | None:
    if text is None:
        return None
    digits = text[1:] if text[:1] in ("v", "V") else text
    if not digits.isdigit():
        raise config_error(f"--model: {text!r} is not a model version (e.g. v3 or 3)")
    return int(digits)


def _total_rows(files) -> int | None:
    """Rows of all files when their formats say so cheaply (Parquet), else None (the bar counts up)."""
    from alabel.core.data.catalogue import reader_for

    counts = [reader_for(f).n_rows(f) for f in files]
    return None if any(c is None for c in counts) else sum(counts)
