"""Tresor: a personal LLM gateway (standard library only). Holds the version and nothing else."""

__version__ = "0.1.0"
