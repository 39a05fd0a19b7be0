"""A small, complete sentae plugin: copy this folder to start your own."""
__version__ = "0.1.0"
