"""One migration per schema change, named NNNN_what_changed.py."""
