"""Issue-type triage: a fine-tuned BERT-family classifier labels issues (see issue #3)."""
