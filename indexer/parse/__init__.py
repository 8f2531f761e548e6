"""Parsers for text the sources read: PyTorch Hub pages and hubconf.py files. Pure functions;
nothing here runs or imports what it reads."""
