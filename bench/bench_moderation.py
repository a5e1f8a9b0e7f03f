"""Benchmark moderation.screen / screen_many against a plain sklearn pipeline.

Run: .venv/bin/python bench/bench_moderation.py [--runs 5]
Writes bench/results/moderation-<date>.md.  Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import moderation  # noqa: E402
from bench.common import machine, result_path  # noqa: E402
from moderation import classifier  # noqa: E402

RSS_PROBE = """
import json, sys
sys.path.insert(0, {root!r})
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
import moderation
from moderation import engine
before = rss()
engine.get_model()
moderation.screen('warm up the word cache please')
print(json.dumps({{'before_mb': before, 'after_mb': rss()}}))
"""


def chat_messages(n: int) -> list[str]:
    """Short chat-sized messages drawn from the holdout (no member content)."""
    rows = classifier.read_csv(classifier.DATA_DIR / "screening_holdout.csv")
    rows += classifier.read_csv(classifier.DATA_DIR / "areas_holdout.csv")
    texts = [r["text"][:80] for r in rows]
    return [texts[i % len(texts)] for i in range(n)]


def latency_us(fn: object, msgs: list[str]) -> tuple[float, float]:
    call = fn  # type: ignore[assignment]
    samples = []
    for m in msgs:
        t0 = time.perf_counter_ns()
        call(m)  # type: ignore[operator]
        samples.append((time.perf_counter_ns() - t0) / 1000)
    arr = np.array(samples)
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def throughput(fn: object, msgs: list[str]) -> tuple[float, float]:
    """Messages per second of wall-clock time and of this process's CPU time.

    On a shared machine the wall-clock figure also counts time spent waiting for a core; the CPU-time
    figure does not, so the two together show how much of a shortfall is the machine's load.
    """
    w0, c0 = time.perf_counter(), time.process_time()
    fn(msgs)  # type: ignore[operator]
    return len(msgs) / (time.perf_counter() - w0), len(msgs) / (time.process_time() - c0)


def rss_delta() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE.format(root=str(ROOT))], capture_output=True, text=True, check=True
    )
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    data["delta_mb"] = data["after_mb"] - data["before_mb"]
    return data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--single", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=10000)
    args = ap.parse_args()

    moderation.reset()
    t0 = time.perf_counter()
    moderation.model_status()
    load_s = time.perf_counter() - t0
    trained = classifier.train(with_threshold=False)
    vec, lr = trained.sk["vectorizer"], trained.sk["screen_lr"]

    def sk_single(m: str) -> None:
        lr.predict_proba(vec.transform([classifier.model_text(m)]))

    def sk_batch(ms: list[str]) -> None:
        lr.predict_proba(vec.transform([classifier.model_text(m) for m in ms]))

    singles = chat_messages(args.single)
    batch = chat_messages(args.batch)
    moderation.screen_many(batch[:500])  # warm caches
    res: dict[str, list[float]] = {
        k: [] for k in ("p50", "p99", "many", "many_cpu", "sk_p50", "sk_p99", "sk_many", "sk_many_cpu")
    }
    for _ in range(args.runs):
        p50, p99 = latency_us(moderation.screen, singles)
        res["p50"].append(p50)
        res["p99"].append(p99)
        wall, cpu = throughput(moderation.screen_many, batch)
        res["many"].append(wall)
        res["many_cpu"].append(cpu)
        sp50, sp99 = latency_us(sk_single, singles[:500])
        res["sk_p50"].append(sp50)
        res["sk_p99"].append(sp99)
        wall, cpu = throughput(sk_batch, batch)
        res["sk_many"].append(wall)
        res["sk_many_cpu"].append(cpu)
    med = {k: statistics.median(v) for k, v in res.items()}
    rss = rss_delta()
    write_report(med, res, rss, load_s, args)


def write_report(
    med: dict[str, float], res: dict[str, list[float]], rss: dict[str, float], load_s: float, args: argparse.Namespace
) -> None:
    info = machine()
    status = moderation.model_status()
    lines = [
        f"# moderation benchmark {dt.date.today().isoformat()}",
        "",
        f"- machine: cores={info['cores']}, cpu={info['cpu']}, python={info['python']}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"load average at report={info['load average at start']}, commit={info['commit']}",
        f"- model: {status['version']} ({status['path']})",
        f"- runs: {args.runs} (medians reported); single-call sample {args.single} msgs; batch {args.batch} msgs",
        "- messages: first 80 chars of holdout rows (chat-sized)",
        "",
        "| metric | hearth fast path | sklearn pipeline baseline | ratio (baseline / fast) | target |",
        "|---|---|---|---|---|",
        f"| screen() p50 | {med['p50']:.1f} us | {med['sk_p50']:.1f} us | "
        f"{med['sk_p50'] / med['p50']:.1f}x | <= 300 us |",
        f"| screen() p99 | {med['p99']:.1f} us | {med['sk_p99']:.1f} us | "
        f"{med['sk_p99'] / med['p99']:.1f}x | <= 1000 us |",
        f"| screen_many throughput | {med['many']:,.0f} msg/s | {med['sk_many']:,.0f} msg/s | "
        f"{med['many'] / med['sk_many']:.2f}x | >= 20,000 msg/s |",
        f"| screen_many per CPU-second | {med['many_cpu']:,.0f} msg/s | {med['sk_many_cpu']:,.0f} msg/s | "
        f"{med['many_cpu'] / med['sk_many_cpu']:.2f}x | |",
        f"| model load RSS delta | {rss['delta_mb']:.1f} MB | | | <= 100 MB |",
        f"| first load in this process | {load_s * 1000:.0f} ms | | | < 1 s |",
        "",
        "Notes: the hearth figures include normalisation, the lexicon, the model, area routing and building the",
        "Screening (the whole screen() call). The baseline is only the sklearn TF-IDF + LR predict_proba on the",
        "same normalised text, so it does strictly less work.",
        "",
        "Raw per-run values:",
        "",
        "```",
        json.dumps({k: [round(x, 1) for x in v] for k, v in res.items()}, indent=1),
        "```",
    ]
    out = result_path("moderation")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
