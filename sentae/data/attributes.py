"""The attribute values sentae knows by name, defined once: every corpus, labeller and judge uses these lists, so
that label index ``i`` means the same value everywhere (sentiment 1 is positive, tense 2 is future)."""
from __future__ import annotations

__all__ = ["SENTIMENTS", "TENSES"]

SENTIMENTS = ["negative", "positive"]  # index 0 negative, 1 positive (Yelp's 0/1 labels)
TENSES = ["past", "present", "future"]  # what sentae.data.tense.label_tense answers, besides "none"
