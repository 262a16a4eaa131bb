"""Constructs, one per capability; stacks compose them and pass resources between them explicitly."""
