"""ctt_keras.checkpoints."""
