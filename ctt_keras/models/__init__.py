"""The paper's networks: video prediction and early activity recognition."""

from ctt_keras.models.early_activity_recognizer import EarlyActivityRecognizer
from ctt_keras.models.video_predictor import VideoPredictor

__all__ = ["EarlyActivityRecognizer", "VideoPredictor"]
