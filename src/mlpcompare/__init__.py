"""mlpcompare: the same MLP trained in NumPy, PyTorch and Keras, compared honestly."""

FRAMEWORKS = ("numpy", "torch", "keras")
