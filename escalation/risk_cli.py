"""`checkins risk train`: fit the learned layer and print what grouped cross-validation found.

Needs the `train` extra (`pip install -e ".[train]"`: scikit-learn). The service itself only
reads the exported model file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from escalation.detect.learned import MODEL_FILE, read_model_file, write_model_file
from escalation.detect.ruleset import CATEGORIES

SHORT = {"crisis": "crisis", "housing": "housing", "domestic_abuse": "DA"}


class TrainingUnavailable(Exception):
    """scikit-learn is not installed (the `train` extra)."""


def _pair(value: Any) -> str:
    recall, precision = value
    return f"{recall:.2f}/{precision:.2f}"


def print_figures(report: Any, out: TextIO) -> None:
    """The per-source table (rules, model, rules + model; recall/precision) and the totals."""
    head = f"{'source':<22}{'n':>5}  " + "  ".join(
        f"{SHORT[c] + ' rules':>13}{'model':>11}{'combined':>11}" for c in CATEGORIES)
    out.write(head + "\n")
    totals = [{"source": "ALL (out of source)", **report.overall}]
    if report.untuned:
        totals.append({"source": "untuned sources", **report.untuned})
    if report.judged:
        totals.append({"source": "three words or more", **report.judged})
    for row in [*report.per_source, *totals]:
        cells = []
        for c in CATEGORIES:
            f = row[c]
            cells.append(f"{_pair(f['rules']):>13}{_pair(f['model']):>11}{_pair(f['combined']):>11}")
        out.write(f"{row['source']:<22}{row['messages']:>5}  " + "  ".join(cells) + "\n")
    nested = "  ".join(f"{SHORT[c]} {_pair(report.nested[c])}" for c in CATEGORIES)
    out.write(f"thresholds chosen without the judged source (nested): {nested}\n")


SEARCH = (3.0, 10.0, 30.0)  # each category takes its best (see train.Settings.c_values)


def run_train(data: Path, out_path: Path, stdout: TextIO = sys.stdout, *, search: bool = False,
              check: bool = False, workers: int | None = None) -> int:
    """Train, print the figures, write the model (or with `check`, say whether it is current)."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise TrainingUnavailable(
            "training needs scikit-learn: pip install -e \".[train]\"") from None
    from escalation.detect.train import Settings, load_sources, next_version, strength_label, to_dict, train

    examples = load_sources(data)
    settings = Settings(c_values=SEARCH) if search else Settings()
    if workers is not None:
        settings = Settings(c_values=settings.c_values, workers=workers)
    fitted, report = train(examples, settings, progress=lambda line: print(line, file=sys.stderr))
    print_figures(report, stdout)
    thresholds = ", ".join(f"{SHORT.get(c, c)} {t:.3f}" for c, t in report.thresholds.items())
    second = ", ".join(f"{SHORT.get(c, c)} {t:.3f}" for c, t in report.with_other.items())
    stdout.write(f"C = {strength_label(report.chosen_c)}; thresholds: {thresholds}; with another category found: {second}\n")
    sev = report.severity
    stdout.write(f"crisis severity (messages whose authors marked it): {sev['urgent_found_urgent']:.2f} of "
                 f"{sev['urgent_marked']} urgent ones found urgent; {sev['concern_made_urgent']:.2f} of "
                 f"{sev['concern_marked']} concerns made urgent\n")
    data_out = to_dict(fitted, report, examples, version=0)
    data_out = json.loads(json.dumps(data_out))  # the types the file will hold
    version = next_version(out_path, data_out)
    data_out["version"] = version
    if check:
        try:
            current = read_model_file(out_path)
        except Exception:  # noqa: BLE001
            current = {}
        same = current == data_out
        stdout.write(f"{out_path} is {'up to date' if same else 'out of date'} (version {version})\n")
        return 0 if same else 1
    write_model_file(out_path, data_out)
    stdout.write(f"wrote {out_path} (version {version}, {len(examples)} messages from "
                 f"{len({e.source for e in examples})} sources)\n")
    return 0


def default_paths() -> tuple[Path, Path]:
    from escalation.detect.train import TRAINING_DIR

    return TRAINING_DIR, MODEL_FILE
