"""Generation: the Sampler that a run folder loads into."""
