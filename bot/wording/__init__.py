"""Wording: what a mentee reads, and the rules it must keep (discreet mode, one SMS)."""
