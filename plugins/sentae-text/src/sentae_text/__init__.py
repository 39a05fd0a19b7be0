"""Text autoencoders for sentae (variants arrive with the text-core work)."""
