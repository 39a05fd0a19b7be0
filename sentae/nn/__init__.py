"""Building blocks shared by model variants."""
from .latent import GaussianLatent, gaussian_kl
from .rnn import RNNDecoder, RNNEncoder

__all__ = ["GaussianLatent", "RNNDecoder", "RNNEncoder", "gaussian_kl"]
