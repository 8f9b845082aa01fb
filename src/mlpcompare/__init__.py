"""mlpcompare: the same MLP trained in NumPy, PyTorch, Keras and JAX, compared honestly.

The frameworks are listed in :mod:`mlpcompare.frameworks` (the registry) and nowhere else.
"""
