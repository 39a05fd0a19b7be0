"""Evaluation: the same metric code for every model and every recipe."""
