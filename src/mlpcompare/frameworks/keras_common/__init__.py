"""What the two Keras frameworks share: Keras code that is the same on every backend.

The TensorFlow-backed framework (:mod:`mlpcompare.frameworks.keras`) and Keras on JAX
(:mod:`mlpcompare.frameworks.keras_jax`) build the same network and train it with the same
optimizer maths; only how a step runs differs. Here: :mod:`.model` (the ``keras.Sequential`` and
its canonical parameters), :mod:`.optim` (the textbook optimizers in ``keras.ops``, and the weight
decay they carry), :mod:`.serving` (a model's ``.keras`` file, written and read back) and
:mod:`.idiomatic` (``model.compile`` + ``model.fit``, what a Keras user writes on any backend).

These modules import Keras (and NumPy and this package's own modules), never TensorFlow, JAX or
torch, and never choose the backend: Keras fixes it at its first import, so each framework's package
sets ``KERAS_BACKEND`` before it imports them. Import them through one of the two packages.
"""
