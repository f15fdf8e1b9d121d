"""ctt_keras.layers."""
