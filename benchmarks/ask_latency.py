"""`ask` latency on the shipped corpus, warm, in one process (not a test: run on demand).

    .venv/bin/python benchmarks/ask_latency.py [--repeat 20]

Loads the default index once, checks the follow-up suggestions it can offer (as the server does once it is
ready), warms up with one question, then asks distinct clinical questions (no query cache
hits) and prints the median and p95 of the total time per `ask` (follow-up resolution, retrieval, composition).
"""

from __future__ import annotations

import argparse
import statistics
import time

QUESTIONS = [
    "Do ALS patients typically present with combined upper and lower motor neuron signs?",
    "What is the first-line treatment for hypertension in adults under 55?",
    "How is atrial fibrillation stroke risk assessed?",
    "When should a statin be offered for primary prevention?",
    "What are the diagnostic criteria for diabetic ketoacidosis?",
    "How is community-acquired pneumonia severity assessed?",
    "What is the first-line treatment for acute uncomplicated cystitis in women?",
    "How long is treatment for drug-susceptible pulmonary tuberculosis?",
    "What HbA1c target is recommended for adults with type 2 diabetes?",
    "How is hypothyroidism diagnosed?",
    "Who should be screened for osteoporosis?",
    "How is chronic kidney disease staged?",
    "What defines acute kidney injury?",
    "What is the treatment of anaphylaxis?",
    "Should antibiotics be given for bronchiolitis?",
    "When should antibiotics be used for acute otitis media in children?",
    "At what age should breast cancer screening start?",
    "Who should be screened for lung cancer with low-dose CT?",
    "What are the options for colorectal cancer screening?",
    "How is an acute migraine attack treated?",
    "What is the first-line drug for focal epilepsy?",
    "How is Parkinson's disease diagnosed?",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=20, help="how many questions to time (at most 21)")
    args = parser.parse_args()

    from assistant.service import Assistant
    from assistant.settings import get_settings

    t0 = time.perf_counter()
    assistant = Assistant.open(get_settings(), with_conversations=False)
    if hasattr(assistant, "warm"):  # as the server does once it is ready
        assistant.warm()
    print(f"open: {time.perf_counter() - t0:.1f} s (model load and index verification)")
    assistant.ask(QUESTIONS[-1], remember=False)
    totals = []
    for question in QUESTIONS[: args.repeat]:
        t = time.perf_counter()
        assistant.ask(question, remember=False)
        totals.append((time.perf_counter() - t) * 1000)
    totals.sort()
    p95 = totals[min(len(totals) - 1, round(0.95 * (len(totals) - 1)))]
    print(
        f"ask, warm, {len(totals)} distinct questions: median {statistics.median(totals):.1f} ms, p95 {p95:.1f} ms"
    )


if __name__ == "__main__":
    main()
