"""Image autoencoders for sentae."""
