"""Measure the whole screening system (lexicon + model + scope) on a CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from .areas import AREAS
from .engine import LEVELS, Screening, model_status, screen_many


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _confusion(truth: list[str], pred: list[str], labels: list[str]) -> dict[str, dict[str, int]]:
    table = {t: {p: 0 for p in labels} for t in labels}
    for t, p in zip(truth, pred):
        if t in table and p in table[t]:
            table[t][p] += 1
    return table


def screening_metrics(rows: list[dict[str, str]], results: list[Screening]) -> dict[str, Any]:
    truth = [r["label"].strip().lower() for r in rows]
    pred = [s.level for s in results]
    is_c = [t == "crisis" for t in truth]
    said_c = [p == "crisis" for p in pred]
    tp = sum(a and b for a, b in zip(is_c, said_c))
    non_crisis = [i for i, c in enumerate(is_c) if not c]
    out: dict[str, Any] = {
        "rows": len(rows),
        "crisis_recall": _rate(tp, sum(is_c)),
        "crisis_precision": _rate(tp, sum(said_c)),
        "non_crisis_called_crisis": _rate(sum(said_c[i] for i in non_crisis), len(non_crisis)),
        "confusion": _confusion(truth, pred, list(LEVELS)),
        "confusion_note": "rows = true label, columns = predicted level",
    }
    if "concern" in truth:
        at_least = [p != "none" for p in pred]
        risky = [t != "none" for t in truth]
        tp2 = sum(a and b for a, b in zip(risky, at_least))
        out["concern_or_crisis_recall"] = _rate(tp2, sum(risky))
        out["concern_or_crisis_precision"] = _rate(tp2, sum(at_least))
        c_true = [t == "concern" for t in truth]
        c_pred = [p == "concern" for p in pred]
        tp3 = sum(a and b for a, b in zip(c_true, c_pred))
        out["concern_recall"] = _rate(tp3, sum(c_true))
        out["concern_precision"] = _rate(tp3, sum(c_pred))
    if rows and "kind" in rows[0]:
        out.update(_hard_negative_metrics(rows, said_c))
    return out


def _hard_negative_metrics(rows: list[dict[str, str]], said_c: list[bool]) -> dict[str, Any]:
    hard_kinds = {"hard_negative", "idiom", "negation", "third_person", "recovery", "support_question", "research"}
    by_kind: dict[str, list[bool]] = {}
    for r, c in zip(rows, said_c):
        kind = (r.get("kind") or "").strip()
        if kind in hard_kinds:
            by_kind.setdefault(kind, []).append(c)
    flat = [c for v in by_kind.values() for c in v]
    return {
        "hard_negatives": len(flat),
        "hard_negative_crisis_rate": _rate(sum(flat), len(flat)),
        "hard_negative_crisis_rate_by_kind": {k: _rate(sum(v), len(v)) for k, v in sorted(by_kind.items())},
    }


def area_metrics(rows: list[dict[str, str]], results: list[Screening]) -> dict[str, Any]:
    truth = [r["area"].strip() for r in rows]
    pred = [s.area or "unassigned" for s in results]
    labels = [*AREAS, "unassigned"]
    correct = sum(t == p for t, p in zip(truth, pred))
    return {
        "rows": len(rows),
        "area_accuracy": _rate(correct, len(rows)),
        "area_unassigned": _rate(sum(p == "unassigned" for p in pred), len(rows)),
        "area_confusion": _confusion(truth, pred, labels),
        "note": "an unassigned area counts as wrong",
    }


def evaluate_file(path: Path, plot: Path | None = None) -> dict[str, Any]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path} has no rows")
    results = screen_many([r["text"] for r in rows])
    report: dict[str, Any] = {"file": str(path), "model": model_status()}
    if "label" in rows[0]:
        report["screening"] = screening_metrics(rows, results)
    if "area" in rows[0]:
        report["areas"] = area_metrics(rows, results)
    if plot is not None:
        _plot(rows, results, plot)
        report["plot"] = str(plot)
    return report


def _plot(rows: list[dict[str, str]], results: list[Screening], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    if "label" in rows[0]:
        _pr_curve(ax1, [r["label"].strip().lower() == "crisis" for r in rows], [s.score for s in results])
        truth, pred, labels = [r["label"].strip().lower() for r in rows], [s.level for s in results], list(LEVELS)
    else:
        ax1.set_axis_off()
        truth, pred = [r["area"] for r in rows], [s.area or "unassigned" for s in results]
        labels = [*AREAS, "unassigned"]
    _confusion_plot(ax2, _confusion(truth, pred, labels), labels)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pr_curve(ax: Any, positive: list[bool], scores: list[float]) -> None:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    total = sum(positive)
    tp = fp = 0
    prec, rec = [], []
    for i in order:
        tp += positive[i]
        fp += not positive[i]
        prec.append(tp / (tp + fp))
        rec.append(tp / total if total else 0.0)
    ax.plot(rec, prec)
    ax.set_xlabel("crisis recall")
    ax.set_ylabel("crisis precision")
    ax.set_title("precision-recall (score)")
    ax.set_ylim(0, 1.02)


def _confusion_plot(ax: Any, table: dict[str, dict[str, int]], labels: list[str]) -> None:
    grid = [[table[t][p] for p in labels] for t in labels]
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion")
