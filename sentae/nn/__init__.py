"""Building blocks shared by model variants."""
from .latent import GaussianLatent, gaussian_kl
from .rnn import RNNDecoder, RNNEncoder
from .vocab_output import AdaptiveSoftmax, FullSoftmax, SoftmaxConfig

__all__ = ["AdaptiveSoftmax", "FullSoftmax", "GaussianLatent", "RNNDecoder", "RNNEncoder", "SoftmaxConfig", "gaussian_kl"]
