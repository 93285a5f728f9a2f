"""Models of the foundation layer (see the package docstring)."""
