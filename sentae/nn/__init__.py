"""Building blocks shared by model variants."""
from .latent import GaussianLatent, gaussian_kl

__all__ = ["GaussianLatent", "gaussian_kl"]
