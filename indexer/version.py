"""modelcat's version: a leaf module (nothing to import), read by the package, the CLI and the sources."""

__version__ = "0.1.0"
