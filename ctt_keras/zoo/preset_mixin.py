"""`from_preset` and `save_to_preset` for the model classes, as keras-hub's models have them."""


class PresetMixin:
    """Adds keras-hub's preset methods to a model class.

    Example:

    >>> from ctt_keras.models import VideoPredictor
    >>> model = VideoPredictor.from_preset("mmnist_convttlstm_small")     # a built-in name
    >>> model = VideoPredictor.from_preset("path/to/preset_folder")       # a folder
    >>> model = VideoPredictor.from_preset("hf://owner/repo")             # a hub handle
    >>> model.save_to_preset("my_preset")                                 # config, weights, metadata, card
    """

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds a model of this class from a preset.

        Args:
            preset: A preset name (`ctt_keras.zoo.list()`), a preset folder, or a
                handle `hf://owner/repo` / `kaggle://owner/model/keras/variation`.
            load_weights: `True` (the preset's weights), `False` (random
                initialisation) or the path of a weights file (see `ctt_keras.zoo.load`).
            **kwargs: `compile`, `frame_shape`, as for `ctt_keras.zoo.load`.

        Returns:
            A built model of this class (or of a subclass the preset names).

        Raises:
            ValueError: the preset holds another class of model.
        """
        from ctt_keras.zoo import registry

        return registry.load(preset, weights=load_weights, expected_class=cls, **kwargs)

    def save_to_preset(self, preset_dir, metadata=None, overwrite=False):
        """Writes this model as a preset folder: config, weights, metadata and model card (keras-hub's names).

        The save is atomic (see `ctt_keras.zoo.save_preset`): a crash or a full disk leaves the
        folder's earlier preset (or none) or the new one, never a mixture.

        Args:
            preset_dir: Folder to write.
            metadata: Optional dict for `metadata.json` (dataset, frame shape, licence, metrics, ...).
            overwrite: Replace the preset files already in `preset_dir`.

        Returns:
            The metadata written.
        """
        from ctt_keras.zoo import preset_format

        return preset_format.save_preset(self, preset_dir, metadata=metadata, overwrite=overwrite)
