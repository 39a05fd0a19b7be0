"""sentae-transformers: ``transformer_vae``, a sentence VAE from a Hugging Face encoder and causal LM."""
