"""`assistant eval ...` subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..settings import Settings


def add_eval_parser(sub: Any, func: Callable[[argparse.Namespace, Settings], int]) -> None:
    p = sub.add_parser("eval", help="batch evaluation runs")
    esub = p.add_subparsers(dest="eval_command", required=True)
    r = esub.add_parser("retrieval", help="score retrieval on a BEIR folder")
    r.add_argument("--beir", required=True)
    r.set_defaults(func=func)


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    raise NotImplementedError
