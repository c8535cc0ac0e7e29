"""Interchange standards: the hub's data in the shapes other systems already speak."""
