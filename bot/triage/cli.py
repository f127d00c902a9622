"""``maintbot triage``: placeholder until the classifier lands (issue #3)."""

from __future__ import annotations

import click


@click.group()
def triage() -> None:
    """Issue-type triage with a fine-tuned BERT classifier. NOT AVAILABLE YET.

    Training, evaluation, export and prediction (bug / feature / question, with a
    "needs-triage" decision when unsure) arrive with the classifier. This version has no
    triage commands and labels nothing.
    """
