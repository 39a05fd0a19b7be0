"""What users do with a trained autoencoder beyond sampling: score inputs as anomalies, denoise or colourize
images, and write codes as features. Each takes a run folder and inputs in the formats sentae's data reads
(images: an idx, .npy or image file or a folder of images; sentences: one per line) and is what ``sentae score``,
``sentae denoise`` (``--keep-luminance`` for colourization) and ``sentae encode`` call."""
from __future__ import annotations

from .colourize import colourize
from .denoise import denoise
from .encode import encode
from .generate import interpolate_images
from .score import SCORES, score

__all__ = ["SCORES", "colourize", "denoise", "encode", "interpolate_images", "score"]
