"""What the two frameworks that run on JAX share: the JAX framework
(:mod:`mlpcompare.frameworks.jax`) and Keras on JAX (:mod:`mlpcompare.frameworks.keras_jax`).

:mod:`.runtime` holds where either runs: CPU threads and the device. It imports JAX and the
standard library only (no optax, no Keras), so it changes nothing of how either framework starts:
Keras on JAX still chooses its backend before anything imports Keras.
"""
