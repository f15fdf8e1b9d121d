"""The paper's networks."""

from ctt_keras.models.video_predictor import VideoPredictor

__all__ = ["VideoPredictor"]
