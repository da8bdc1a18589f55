"""The shared Mixture-of-Experts model core: build, load, quantize, featurize, generate, train."""
