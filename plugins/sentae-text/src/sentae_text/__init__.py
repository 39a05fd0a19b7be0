"""Text autoencoders for sentae: RNN language model and RNN-VAE (Bowman et al. 2016 and its collapse remedies)."""
