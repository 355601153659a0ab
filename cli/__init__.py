"""The graphdex command line."""
