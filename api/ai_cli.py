"""`flask --app app ai ...`: evaluate the dispatch model on labelled exports, train and list city models."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from engine.accounts import SYSTEM
from engine.ai.classifier import DispatchClassifier, cross_validate, evaluation_report

csv.field_size_limit(sys.maxsize)


def read_labelled(path: str, text_columns: list[str], label_column: str) -> tuple[list[str], list[str], list[str]]:
    """(titles, contents, labels) from a CSV export: the first text column is the title, the others
    are joined as the content. Rows without a label are skipped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in [*text_columns, label_column] if c not in (reader.fieldnames or [])]
        if missing:
            raise click.UsageError(f"{path}: no column(s) {', '.join(missing)}; columns are {reader.fieldnames}")
        titles, contents, labels = [], [], []
        for row in reader:
            label = (row[label_column] or "").strip()
            if not label:
                continue
            titles.append(row[text_columns[0]] or "")
            contents.append("\n".join(row[c] or "" for c in text_columns[1:]))
            labels.append(label)
    return titles, contents, labels


def _lexicon(path: str | None) -> dict | None:
    if not path:
        return None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cats = data.get("categories", data) if isinstance(data, dict) else data
    if isinstance(cats, dict):
        return cats
    return {c.get("name_zh") or c["code"]: c.get("keywords") or [] for c in cats}


def print_report(report: dict) -> None:
    click.echo(f"accuracy: {report['accuracy']:.3f}")
    click.echo(f"macro_f1: {report['macro_f1']:.3f}")
    if report.get("coverage") is not None:
        above = report.get("accuracy_above_threshold")
        click.echo(f"confident (>= {report['threshold']}): {report['coverage']:.1%} of tickets, "
                   f"accuracy {above:.3f}" if above is not None else "confident: none")
    click.echo(f"{'class':<24}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, m in sorted(report["per_class"].items(), key=lambda kv: -kv[1]["support"]):
        click.echo(f"{label:<24}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")


def register(app, clock_for) -> None:
    ai = click.Group("ai", help="Smart dispatch models: evaluate on exports, train and list city models.")

    @ai.command("evaluate")
    @click.option("--train", "train_file", required=True, type=click.Path(exists=True, dir_okay=False))
    @click.option("--test", "test_file", type=click.Path(exists=True, dir_okay=False),
                  help="Held-out export; without it, stratified 5-fold cross-validation on --train.")
    @click.option("--text-columns", required=True, help="Comma-separated; the first is the title.")
    @click.option("--label-column", required=True)
    @click.option("--lexicon", type=click.Path(exists=True, dir_okay=False),
                  help="Optional category keywords (rules/categories.json format, or {label: [words]}).")
    @click.option("--threshold", type=float, default=0.6, show_default=True)
    def evaluate(train_file, test_file, text_columns, label_column, lexicon, threshold):
        """Train the dispatch model on one labelled export and report on another."""
        columns = [c.strip() for c in text_columns.split(",") if c.strip()]
        titles, contents, labels = read_labelled(train_file, columns, label_column)
        words = _lexicon(lexicon)
        if len(set(labels)) < 2:
            raise click.UsageError("the training file needs at least two different labels")
        if test_file:
            model = DispatchClassifier(words).fit(titles, contents, labels)
            t_titles, t_contents, t_labels = read_labelled(test_file, columns, label_column)
            preds = model.predict(t_titles, t_contents)
            report = evaluation_report(t_labels, [p.label for p in preds], [p.confidence for p in preds], threshold)
            click.echo(f"trained on {len(labels)} rows, tested on {len(t_labels)} rows")
        else:
            report = cross_validate(titles, contents, labels, lexicon=words, threshold=threshold)
            click.echo(f"5-fold cross-validation on {len(labels)} rows")
        print_report(report)

    @ai.command("train")
    @click.option("--city", required=True)
    def train(city):
        """Retrain a city's category and unit models on its closed tickets."""
        from engine.facade import Hotline
        db = app.extensions["hotline_db"]
        with db.unit_of_work() as session:
            models = Hotline(session, clock_for(session)).train_dispatch_models(SYSTEM, city)
            for m in models:
                click.echo(f"{m.city} {m.target} v{m.version}: {m.trained_on} tickets, accuracy {m.accuracy}")

    @ai.command("models")
    @click.option("--city", required=True)
    def models(city):
        """List a city's dispatch models."""
        from engine.facade import Hotline
        db = app.extensions["hotline_db"]
        with db.unit_of_work() as session:
            for m in Hotline(session, clock_for(session)).dispatch_models(SYSTEM, city):
                flag = "*" if m.active else " "
                click.echo(f"{flag} {m.target:<9} v{m.version:<3} {m.source:<15} {m.trained_on:>7} "
                           f"accuracy={m.accuracy if m.accuracy is not None else '-'}  {m.created_at:%Y-%m-%d %H:%M}")

    app.cli.add_command(ai)
