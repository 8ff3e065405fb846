"""``alabel init`` (propose a config from data) and ``alabel train`` (retrain, save, explain the model)."""
from __future__ import annotations

import json

from .common import info, open_session


def cmd_init(args) -> int:
    from alabel.core.scaffold import propose, write_config

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    proposal = propose(args.data, id_column=args.id_column, ground_truth=args.ground_truth, classes=classes,
                       featurizer=args.featurizer)
    out = write_config(proposal, args.out, force=args.force, name=args.name)
    for line in proposal.report():
        print(line)
    print(f"wrote {out}; check it, then: alabel serve {out}"
          + (f" (or alabel simulate {out})" if proposal.ground_truth else ""))
    return 0


def cmd_train(args) -> int:
    from alabel.core import files
    from alabel.core.errors import NotReadyError
    from alabel.core.evaluation.learning_curve import replay_learning_curve
    from alabel.core.evaluation.simulate import plot_curve

    with open_session(args) as session:
        info(f"training {session.config.head.get('type')} on the labels in {session.config.store_name}",
              args.quiet)
        model = session.retrain()
        if model is None:
            raise NotReadyError(f"{session.config.source}: no model: the store holds no train labels of "
                                "two classes yet")
        out = args.out or session.config.models_dir
        files.write_text(out / "metrics.json", json.dumps(model.summary(), indent=2))
        curve = replay_learning_curve(session, progress=not args.quiet)
        with files.atomic_path(out / "curve.csv") as tmp:
            curve.to_csv(tmp, index=False)
        if len(curve):
            plot_curve(curve, out / "curve.png", title=f"{session.config.name}: learning curve")
        metrics = model.metrics
        print(f"model version {model.version}: {model.n_labels} labels, "
              + (f"accuracy {metrics['accuracy']:.3f} ({metrics['evaluation']}, n={metrics['n_evaluated']})"
                 if metrics.get("n_evaluated") else f"not evaluated ({metrics.get('note', '')})"))
        for line in model_explanation(metrics):
            print(line)
        print(f"wrote {session.config.models_dir}/model-v{model.version:05d}.skops, {out}/metrics.json, "
              f"{out}/curve.csv" + (f", {out}/curve.png" if len(curve) else ""))
    return 0


def model_explanation(metrics: dict) -> list[str]:
    """Lines saying which head the auto head chose (and why), whether self-training is on (and
    why), and the accuracy to trust."""
    from alabel.core.evaluation import estimates

    lines = []
    choice = metrics.get("head_choice")
    if choice:
        lines.append(f"head auto: {choice.get('note') or choice.get('chosen')}")
        if choice.get("caution"):
            lines.append(f"head auto: CAUTION: {choice['caution']}")
    if metrics.get("self_training"):
        lines.append(f"self-training: {metrics['self_training']['note']}")
    estimate = metrics.get("estimate")
    if estimate is not None:
        biased = " BIASED: no random labels yet, see labels.audit_fraction" if estimate.get("biased") else ""
        lines.append(f"estimate: {estimates.describe(estimate)}{biased}")
    return lines
