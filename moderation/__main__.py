"""CLI: python -m moderation {train,evaluate,status,screen}."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import classifier, engine
from .evaluate import evaluate_file


def _train(_: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    trained = classifier.train()
    path = engine._model_path()
    classifier.save(trained, path)
    engine.reset()
    print(
        json.dumps(
            {
                "version": trained.meta["version"],
                "path": str(path),
                "crisis_threshold": trained.meta["crisis_threshold"],
                "features": trained.meta["n_features"],
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    report = evaluate_file(Path(args.file), Path(args.plot) if args.plot else None)
    print(json.dumps(report, indent=2))
    return 0


def _status(_: argparse.Namespace) -> int:
    print(json.dumps(engine.model_status(), indent=2))
    return 0


def _screen(args: argparse.Namespace) -> int:
    text = args.text if args.text is not None else sys.stdin.read()
    print(json.dumps(engine.screen(text).to_dict(), indent=2, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("train", help="train the model and write it to the cache").set_defaults(func=_train)
    ev = sub.add_parser("evaluate", help="evaluate on a CSV with text,label or text,area")
    ev.add_argument("file")
    ev.add_argument("--plot", help="write a precision-recall + confusion PNG here")
    ev.set_defaults(func=_evaluate)
    sub.add_parser("status", help="show model status").set_defaults(func=_status)
    sc = sub.add_parser("screen", help="screen one text (argument or stdin)")
    sc.add_argument("text", nargs="?")
    sc.set_defaults(func=_screen)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
