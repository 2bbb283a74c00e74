"""Reading trained models: kernel motifs and footprints, matches to motif databases, attributions."""
