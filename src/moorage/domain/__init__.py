"""Pure registry concepts: digests, names, media types, manifests. No I/O, no project imports."""
