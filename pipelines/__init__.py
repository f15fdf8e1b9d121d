"""tf.data builders for the datasets of the Conv-TT-LSTM paper (one module per dataset)."""
