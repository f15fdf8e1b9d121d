"""ctt_keras.models."""
