"""Hostile input: what a mistaken user, a corrupt or crafted file, a failing disk or a
hostile server does to the package. Every case names the defect it guards against;
each must fail on the code before its fix."""
