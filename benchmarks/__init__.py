"""Side-by-side performance benchmarks: jaxloss vs optax, Keras and naive jnp.

Run ``python -m benchmarks.run`` (or ``make bench``); see docs/performance.md.
"""
