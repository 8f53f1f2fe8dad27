"""Write results: the JSON, a Markdown report beside it (tables, PNG plots), and the comparison with a baseline."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import EvalDataError
from .metrics import RETRIEVAL_KEYS

# Noisy on a shared machine, or counts: reported, never a regression.
NOT_COMPARED = ("latency_p50_ms", "latency_p95_ms", "fact_turns")
LOWER_IS_BETTER = ("wrongful_abstention",)


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


FACT_KEYS = (
    "lead_correct",
    "answer_complete",
    "key_fact_recall",
    "wrongful_abstention",
    "unanswerable_abstention",
)


def _groups(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """("all", flat metrics) then each nested group (first_turn, follow_up, ...), not the per-tag groups."""
    groups = [(k, v) for k, v in metrics.items() if isinstance(v, dict) and k != "by_tag"]
    return [("all", metrics), *groups]


def _fact_table(metrics: Mapping[str, Any]) -> str:
    """Key-fact metrics per group and per tag (the groups of `eval answers` on a set with key facts)."""
    groups = [*_groups(metrics), *((f"tag: {t}", v) for t, v in metrics.get("by_tag", {}).items())]
    rows = [[g, v.get("fact_turns"), *(v.get(k) for k in FACT_KEYS)] for g, v in groups]
    return table(["group", "turns with facts", *FACT_KEYS], rows)


def metric_tables(result: Mapping[str, Any]) -> str:
    parts = []
    by_mode: Mapping[str, Any] = result.get("by_mode") or {result.get("mode", "run"): result["metrics"]}
    timing = result.get("timing", {})
    rows = []
    for mode, metrics in by_mode.items():
        for group, values in _groups(metrics):
            row: list[object] = [mode, group, *(values.get(k) for k in RETRIEVAL_KEYS)]
            if group == "all" and mode in timing:
                row += [f"{timing[mode]['seconds']:.2f}", f"{timing[mode]['queries_per_second']:.1f}"]
            rows.append(row)
    if result["kind"] != "answers":
        parts.append(table(["mode", "group", *RETRIEVAL_KEYS, "seconds", "queries/s"], rows))
    else:
        flat = {k: v for k, v in result["metrics"].items() if not isinstance(v, dict)}
        parts.append(table(["metric", "value"], [[k, v] for k, v in flat.items()]))
        keys = [*RETRIEVAL_KEYS, "rouge_l_f1", "lead_rouge_l_f1", "gold_source_hit_rate"]
        parts.append(
            table(
                ["group", *keys], [[g, *(v.get(k) for k in keys)] for g, v in _groups(result["metrics"])[1:]]
            )
        )
        if "lead_correct" in result["metrics"]:
            parts.append(_fact_table(result["metrics"]))
        parts.append(table(["count", "value"], [[k, v] for k, v in result.get("counts", {}).items()]))
    return "\n\n".join(parts)


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4))


def _save(fig: Any, path: Path) -> bool:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_curves(result: Mapping[str, Any], path: Path) -> bool:
    curves = result.get("recall_curve")
    if not curves:
        return False
    fig, ax = _figure()
    for mode, curve in curves.items():
        ax.plot([int(k) for k in curve], list(curve.values()), marker="o", label=mode)
    ax.set(xscale="log", xlabel="k (documents)", ylabel="mean recall@k", ylim=(0, 1.02), title="Recall@k")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _plot_latency(result: Mapping[str, Any], path: Path) -> bool:
    latencies = result.get("latencies_ms")
    if not latencies:
        return False
    fig, ax = _figure()
    ax.hist(latencies, bins=min(40, max(5, len(latencies) // 5)))
    ax.set(xlabel="latency per question (ms)", ylabel="questions", title="Latency")
    return _save(fig, path)


def markdown(result: Mapping[str, Any], out: Path) -> str:
    cfg = result.get("config", {})
    lines = [f"# Evaluation: {result['kind']}", ""]
    lines += [f"- {k}: `{cfg.get(k)}`" for k in ("model", "git_commit") if k in cfg]
    for k in ("dataset", "set", "split", "modes", "k", "ask_as", "search_depth"):
        if k in cfg:
            lines.append(f"- {k}: `{cfg[k]}`")
    if "index" in cfg:
        lines.append(
            f"- index: {cfg['index'].get('documents')} documents, {cfg['index'].get('passages')} passages"
        )
    lines += ["", "## Metrics", "", metric_tables(result), ""]
    if _plot_curves(result, out.with_suffix(".recall.png")):
        lines += ["## Recall@k", "", f"![recall@k]({out.with_suffix('.recall.png').name})", ""]
    if _plot_latency(result, out.with_suffix(".latency.png")):
        lines += ["## Latency", "", f"![latency]({out.with_suffix('.latency.png').name})", ""]
    scored = [r for r in result.get("per_query", []) if "ndcg@10" in r]
    worst = sorted(scored, key=lambda r: r["ndcg@10"])[:10]
    if worst:
        lines += ["## Lowest nDCG@10", ""]
        lines.append(
            table(
                ["id", "ndcg@10", "recall@100", "top"],
                [[r["id"], r["ndcg@10"], r["recall@100"], ", ".join(r["top"][:3])] for r in worst],
            )
        )
        lines.append("")
    return "\n".join(lines)


def write(result: Mapping[str, Any], out: Path) -> Path:
    """Write `out` (JSON) and the Markdown report beside it; returns the report's path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report = out.with_suffix(".md")
    report.write_text(markdown(result, out), encoding="utf-8")
    return report


def write_run(rankings: Mapping[str, list[tuple[str, float]]], path: Path, tag: str) -> None:
    """TREC run format: `qid Q0 docid rank score tag`, ranks from 1."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for qid, ranking in rankings.items():
            for rank, (doc, score) in enumerate(ranking, 1):
                f.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def _flat(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    for key, value in metrics.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}/")
        elif isinstance(value, int | float) and not isinstance(value, bool) and key not in NOT_COMPARED:
            yield f"{prefix}{key}", float(value)


def compare(result: Mapping[str, Any], baseline_path: Path, tolerance: float) -> tuple[list[str], bool]:
    """(lines of deltas, regressed): a metric regresses when it is lower than the baseline's by > tolerance."""
    try:
        baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
        base = dict(_flat(baseline["metrics"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EvalDataError(
            f"{baseline_path}: not a readable eval result with 'metrics' ({exc.__class__.__name__})"
        ) from exc
    lines, regressed = [], False
    for key, value in _flat(result["metrics"]):
        if key not in base:
            continue
        delta = value - base[key]
        worse = -delta if key.rsplit("/", 1)[-1] in LOWER_IS_BETTER else delta
        bad = worse < -tolerance
        regressed |= bad
        lines.append(f"{key:<32} {base[key]:.4f} -> {value:.4f}  {delta:+.4f}{'  REGRESSION' if bad else ''}")
    return lines, regressed
