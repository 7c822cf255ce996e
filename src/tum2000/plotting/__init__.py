"""Figures: the panels of Fig. 1 and the figures of sweeps. Data in, Matplotlib figures out."""
