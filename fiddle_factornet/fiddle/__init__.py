"""FIDDLE (Eser & Churchman): track manifest, regions around gene starts, model."""
