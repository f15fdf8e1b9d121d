"""ctt_keras.metrics."""
