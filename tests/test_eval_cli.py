"""`assistant eval ...` on tiny fixture data with the fake embedder: outputs, contract keys, exit codes."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from .conftest import FIXTURES, FakeEmbedder

BEIR = FIXTURES / "beir"
KEYS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


@pytest.fixture
def run(cli_run):  # type: ignore[no-untyped-def]
    def _run(*argv: str) -> tuple[int, str, str]:
        return cli_run("eval", *argv, *([] if argv[0] == "make-medquad" else ["--no-progress"]))

    return _run


def _ndcg10_from_run_file(path: Path, qrels: Path) -> float:
    """nDCG@10 recomputed from a TREC run file, independently of the harness (as the contract check does)."""
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for line in qrels.read_text().splitlines()[1:]:
        q, d, g = line.split("\t")
        if int(g) > 0:
            judged[q][d] = int(g)
    ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        q, q0, d, rank, _score, _tag = line.split()
        assert q0 == "Q0"
        ranked[q].append((int(rank), d))
    total = 0.0
    for q, rel in judged.items():
        docs = [d for _, d in sorted(ranked[q])][:10]
        dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(docs))
        ideal = sum(
            (2**g - 1) / math.log2(i + 2) for i, g in enumerate(sorted(rel.values(), reverse=True)[:10])
        )
        total += dcg / ideal
    return total / len(judged)


def test_retrieval_writes_metrics_report_and_run(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, run_file = tmp_path / "r.json", tmp_path / "r.run"
    code, stdout, err = run(
        "retrieval", "--beir", str(BEIR), "--split", "test", "--modes", "dense,bm25,hybrid",
        "--out", str(out), "--run-out", str(run_file),
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["mode"] == "hybrid"  # the configured mode is primary, whatever the order asked
    assert set(result["by_mode"]) == {"dense", "bm25", "hybrid"}
    assert result["metrics"] == result["by_mode"]["hybrid"]
    assert all(isinstance(result["metrics"][k], float) for k in KEYS)
    assert result["by_mode"]["dense"]["recall@100"] == 1.0  # dense ranks all 8 documents
    assert [r["id"] for r in result["per_query"]] == ["q1", "q2", "q3", "q4", "q5"]
    assert result["config"]["model"] == FakeEmbedder.name and "git_commit" in result["config"]
    assert set(result["timing"]) == {"dense", "bm25", "hybrid"}
    recomputed = _ndcg10_from_run_file(run_file, BEIR / "qrels" / "test.tsv")
    assert recomputed == pytest.approx(result["metrics"]["ndcg@10"], abs=1e-4)
    report = out.with_suffix(".md").read_text()
    assert "| hybrid | all |" in report and "r.recall.png" in report
    assert out.with_suffix(".recall.png").stat().st_size > 1000
    assert "retrieval (hybrid): ndcg@10=" in stdout


def test_compare_exits_1_on_regression(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    assert run("retrieval", "--beir", str(BEIR), "--out", str(out))[0] == 0
    baseline = json.loads(out.read_text())
    code, stdout, _ = run("retrieval", "--beir", str(BEIR), "--compare", str(out))
    assert code == 0 and "+0.0000" in stdout
    baseline["metrics"]["mrr@10"] += 0.05
    better = tmp_path / "better.json"
    better.write_text(json.dumps(baseline))
    code, stdout, err = run("retrieval", "--beir", str(BEIR), "--compare", str(better))
    assert code == 1 and "REGRESSION" in stdout and "regression beyond 0.01" in err
    assert run("retrieval", "--beir", str(BEIR), "--compare", str(better), "--tolerance", "0.1")[0] == 0


def test_conversations_report_groups(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "c.json"
    conv = str(BEIR / "conversations.jsonl")
    code, _, err = run(
        "conversations", "--corpus", str(BEIR / "corpus.jsonl"), "--conversations", conv, "--out", str(out)
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    metrics = result["metrics"]
    for group in (metrics, metrics["first_turn"], metrics["follow_up"], metrics["topic_switch"]):
        assert all(isinstance(group[k], float) for k in KEYS)
    rows = {r["id"]: r for r in result["per_query"]}
    assert list(rows) == ["c1#1", "c1#2", "c2#1", "c2#2", "c2#3"]
    assert "migraine" in rows["c1#2"]["searched"].lower()  # the follow-up carried the conversation's topic
    assert rows["c2#3"]["topic_switch"] and "iron" not in rows["c2#3"]["searched"].lower()


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("no-history", {"c1#2": "How is it prevented?"}),
        ("standalone", {"c1#2": "How is migraine prevented?", "c1#1": "What is migraine?"}),
    ],
)
def test_conversations_asked_alone(run, tmp_path: Path, how: str, expected: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "c.json"
    args = ["--corpus", str(BEIR / "corpus.jsonl"), "--conversations", str(BEIR / "conversations.jsonl")]
    assert run("conversations", *args, "--as", how, "--out", str(out))[0] == 0
    rows = {r["id"]: r for r in json.loads(out.read_text())["per_query"]}
    assert {k: rows[k]["searched"] for k in expected} == expected


def test_strategy_none_keeps_follow_ups_as_asked(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "c.json"
    args = ["--corpus", str(BEIR / "corpus.jsonl"), "--conversations", str(BEIR / "conversations.jsonl")]
    assert run("conversations", *args, "--strategy", "none", "--modes", "bm25", "--out", str(out))[0] == 0
    result = json.loads(out.read_text())
    assert result["mode"] == "bm25" and result["config"]["conversation_strategy"] == "none"
    rows = {r["id"]: r for r in result["per_query"]}
    assert rows["c2#2"]["searched"] == "How is it treated?"


def test_answers_scores_the_set(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a.json"
    code, _, err = run("answers", "--set", str(FIXTURES / "evalset-small.jsonl"), "--out", str(out))
    assert code == 0, err
    result = json.loads(out.read_text())
    m = result["metrics"]
    assert result["counts"] == {
        **result["counts"],
        "turns": 4,
        "single": 1,
        "conversation": 2,
        "unanswerable": 1,
    }
    rows = {r["id"]: r for r in result["per_query"]}
    assert rows["u1"]["abstained"] and not rows["u1"]["answerable"]
    assert (
        rows["s1"]["cites_gold"] and rows["s1"]["citation_precision"] == 1.0
    )  # the composer quotes verbatim
    abstained = [r for r in rows.values() if r["abstained"]]
    # one unanswerable item, and it is among the abstentions: recall 1, precision 1 / (number of abstentions)
    assert m["abstention_recall"] == 1.0 and m["abstention_precision"] == pytest.approx(
        1 / len(abstained), abs=1e-4
    )
    for key in ("rouge_l_f1", "token_f1", "latency_p50_ms", "latency_p95_ms", "gold_source_hit_rate"):
        assert isinstance(m[key], float)
    assert "a.latency.png" in out.with_suffix(".md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["retrieval", "--beir", "/no/such/folder"], "no corpus.jsonl"),
        (["retrieval", "--beir", str(BEIR), "--split", "dev"], "no such qrels file"),
        (["retrieval", "--beir", str(BEIR), "--k", "5"], "--k must be at least 10"),
        (
            [
                "conversations",
                "--corpus",
                "/no/corpus.jsonl",
                "--conversations",
                str(BEIR / "conversations.jsonl"),
            ],
            "no such corpus;",
        ),
        (["answers", "--set", "/no/set.jsonl"], "cannot open the file"),
    ],
)
def test_bad_input_gets_one_line(run, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(*argv)
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and message in last


def test_standalone_without_standalone_questions_is_refused(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conv = tmp_path / "c.jsonl"
    turns = [
        {"question": "What is migraine?", "relevant": {"d5": 1}},
        {"question": "And its cause?", "relevant": {"d5": 1}},
    ]
    conv.write_text(json.dumps({"id": "x", "turns": turns}) + "\n")
    code, _, err = run(
        "conversations",
        "--corpus",
        str(BEIR / "corpus.jsonl"),
        "--conversations",
        str(conv),
        "--as",
        "standalone",
    )
    assert code == 2 and "turn 2 has no 'standalone' question" in err


def test_unknown_mode_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        run("retrieval", "--beir", str(BEIR), "--modes", "dense,splade")
    assert exc.value.code == 2


def test_calibrate_stores_thresholds_for_the_model_and_the_next_open_uses_them(  # type: ignore[no-untyped-def]
    cli_run, built_settings, fake_embedder, tmp_path: Path
) -> None:
    from assistant.calibration import load_calibration
    from assistant.service import Assistant
    from assistant.settings import ComposerSettings

    dev = tmp_path / "dev.jsonl"
    rows = [json.loads(line) for line in (FIXTURES / "evalset-small.jsonl").read_text().splitlines()]
    dev.write_text("".join(json.dumps(r | {"split": "dev"}) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli_run("eval", "calibrate", "--set", str(dev), "--no-progress")
    assert code == 0, err
    stored = load_calibration(built_settings.index_dir, fake_embedder.name)
    assert stored is not None and set(stored) == {"abstain_below", "abstain_below_unknown"}
    assert f"abstain_below={stored['abstain_below']}" in out
    unpinned = built_settings.model_copy(
        update={"composer": ComposerSettings()}
    )  # no threshold set explicitly
    opened = Assistant.open(unpinned, embedder=fake_embedder, with_conversations=False)
    assert opened.settings.composer.abstain_below == stored["abstain_below"]
    pinned = Assistant.open(built_settings, embedder=fake_embedder, with_conversations=False)
    assert pinned.settings.composer.abstain_below == built_settings.composer.abstain_below  # explicit wins
    # a set without a dev split cannot calibrate: one clear line, exit 2
    code, _, err = cli_run(
        "eval", "calibrate", "--set", str(FIXTURES / "evalset-small.jsonl"), "--no-progress"
    )
    assert code == 2 and "no item has 'split': 'dev'" in err


def test_retrieval_on_milvus_scores_as_faiss(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = {}
    for backend in ("faiss", "milvus"):
        out = tmp_path / f"{backend}.json"
        argv = ("retrieval", "--beir", str(BEIR), "--modes", "dense,hybrid", "--out", str(out))
        code, _stdout, err = run(*argv, "--backend", backend)
        assert code == 0, err
        results[backend] = json.loads(out.read_text())
    faiss_run, milvus_run = results["faiss"], results["milvus"]
    assert milvus_run["config"]["index"]["vector_backend"] == "milvus"
    assert faiss_run["config"]["index"]["vector_backend"] == "faiss"
    assert milvus_run["by_mode"] == faiss_run["by_mode"]  # exact search on both: the same rankings
