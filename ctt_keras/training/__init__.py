"""ctt_keras.training."""
