"""Trains a Conv-TT-LSTM / ConvLSTM network, then evaluates it and writes a prediction GIF.

With no flags: the offline demo (a small Conv-TT-LSTM video predictor trained from
scratch on generated Moving-MNIST, a few minutes on 2 CPU cores; it learns little in
that time). `--recipe quickstart` fine-tunes the shipped trained preset
`mmnist_<model>_small` for a minute on its own closed loop and evaluates it against
black frames and the last context frame repeated. `--recipe paper` gives the paper's
network and schedule. `--dataset ssv2` trains the early-activity-recognition
network (`EarlyActivityRecognizer`) on Something-Something V2. See
docs/training.md for every flag, the run folder and resuming, docs/activity.md for SSv2.

    ctt-train --recipe quickstart                           # a trained predictor, in minutes
    ctt-train                                               # demo: a small network from scratch
    ctt-train --recipe paper --strategy mirrored
    ctt-train --strategy mirrored --cpu-replicas 2 --steps-per-epoch 10
    ctt-train --backend jax                                 # the same run on JAX (no TensorFlow needed)
    ctt-train --backend jax --strategy data_parallel        # keras.distribution.DataParallel, all devices
    ctt-train --resume --name demo                          # continue a killed run
    ctt-train --dataset ssv2 --data-dir ~/tensorflow_datasets --manual-dir ~/ssv2 --recipe paper
"""

import argparse
import os
import sys

from ctt_keras.cli import _flags


def build_parser(prog="ctt-train"):
    """The flags (every flag's default comes from `ctt_keras.training.run_config` or the dataset modules)."""
    from ctt_keras.pipelines import datasets
    from ctt_keras.training import run_config

    p = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0], argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1],
    )
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=datasets.names(),
                   help="dataset (default moving_mnist, generated offline)")
    g.add_argument("--data-dir", help="moving_mnist: folder with train/validation/test .npz|.npy|.tfrecord "
                   "(default: generate from the bundled MNIST); kth/ssv2: the TFDS data folder")
    _number(g, "--image-size", help="frame side in pixels (moving_mnist 64, kth 128)")
    _number(g, "--context-frames", help="frames read before predicting (10)")
    _number(g, "--future-frames", help="frames predicted during training (10)")
    for name, (owner, option) in datasets.options().items():
        g.add_argument("--" + name.replace("_", "-"), type=option.type, help=f"{owner}: {option.help}")
    g = p.add_argument_group("model")
    g.add_argument("--recipe", choices=tuple(run_config.RECIPES),
                   help="defaults: demo (small, from scratch), quickstart (fine-tune the shipped preset) or paper")
    g.add_argument("--model", choices=_cell_types(), help="cell type (convttlstm)")
    g.add_argument("--preset", help="start from a zoo preset (by name)")
    g.add_argument("--weights", help="start from a preset folder (config.json + model.weights.h5)")
    g.add_argument("--layers-per-block", help="cells per block, e.g. 3,3,3,3")
    g.add_argument("--hidden-channels", help="channels per block, e.g. 32,48,48,32")
    g.add_argument("--skip-stride", help="skip distance in blocks, or none")
    g.add_argument("--kernel-size", type=int)
    g.add_argument("--patch-size", type=int,
                   help="fold p x p patches into channels before the cells (1: the paper's network; "
                   "4: PredRNN's)")
    g.add_argument("--order", type=int, help="Conv-TT-LSTM order")
    g.add_argument("--steps", type=int, help="Conv-TT-LSTM steps")
    g.add_argument("--rank", type=int, help="Conv-TT-LSTM rank")
    g.add_argument("--output-sigmoid", action="store_true", help="sigmoid on the output frames")
    g.add_argument("--encoder-channels", help="ssv2: channels of the stride-2 encoder convs (32,64)")
    g.add_argument("--classifier-channels", help="ssv2: channels of the classifier convs (64,128), or none")
    from ctt_keras.training import backends

    g = p.add_argument_group("devices")
    g.add_argument("--backend", choices=tuple(backends.STRATEGIES),
                   help="Keras backend (default: KERAS_BACKEND's, i.e. Keras' own default); a resumed run may "
                        "continue on another one")
    g.add_argument("--strategy", choices=backends.STRATEGY_CHOICES,
                   help="tensorflow: default, mirrored, multi_worker; jax: default, data_parallel; "
                        "torch: default")
    _number(g, "--cpu-replicas", help="mirrored / data_parallel over N CPU devices")
    g.add_argument("--mixed-precision", choices=("auto", "off", "mixed_float16", "mixed_bfloat16"))
    g.add_argument("--jit-compile", choices=("auto", "on", "off"))
    g = p.add_argument_group("optimisation")
    _number(g, "--batch-size", help="global batch size (8)")
    _number(g, "--epochs")
    _number(g, "--steps-per-epoch")
    _number(g, "--validation-sequences", help="validation clips per epoch (0: none)")
    _number(g, "--learning-rate", help="Adam learning rate (1e-3)")
    _number(g, "--clip-norm", help="global gradient-norm clipping (off; paper: 3.0)")
    g.add_argument("--schedule", choices=("paper", "linear", "closed", "none"),
                   help="scheduled sampling (closed: the network's own predictions throughout, for fine-tuning)")
    g.add_argument("--lr-schedule", choices=("paper", "cosine", "constant"))
    _number(g, "--patience", help="epochs without improvement that count as a stall")
    _number(g, "--sampling-end-epoch",
            help="linear schedule: epoch at which the sampling ratio reaches 0 (default: --epochs)")
    _number(g, "--sampling-decay", help="sampling-ratio decrement per epoch (4e-3)")
    _number(g, "--min-delta", help="smallest validation-loss decrease that counts as progress (0)")
    _number(g, "--lr-decay", help="learning-rate factor (0.98)")
    _number(g, "--lr-decay-every", help="epochs between learning-rate decays (5)")
    _number(g, "--prediction-weight",
            help="ssv2: lambda in lambda * (L1 + L2 of the frames) + cross-entropy (10)")
    g = p.add_argument_group("run")
    _number(g, "--seed", help="seeds weights, data and sampling (0)")
    g.add_argument("--logdir", help="parent folder of runs (runs)")
    g.add_argument("--name", help="run name (default: <dataset>-<model>-<recipe>)")
    g.add_argument("--resume", action="store_true", help="continue the run --logdir/--name where it stopped")
    _number(g, "--eval-sequences", help="test clips evaluated after training (0: skip)")
    g.add_argument("--eval-future", help="horizons evaluated after training, e.g. 10,30")
    g.add_argument("--eval-baselines", action=argparse.BooleanOptionalAction,
                   help="also evaluate black frames and the last context frame repeated on the same clips "
                        "(quickstart: on)")
    g.add_argument("--convention", choices=("standard", "nvlabs", "openstl"),
                   help="metric convention (nvlabs)")
    g.add_argument("--verbose", choices=("auto", "0", "1", "2"), help="Keras progress output")
    return p


def _number(group, flag, **kwargs):
    """A numeric flag checked against its range in `run_config.RANGES` while the flags are parsed."""
    from ctt_keras.training import run_config

    return _flags.add_number(group, flag, run_config.RANGES[flag[2:].replace("-", "_")], **kwargs)


def _cell_types():
    """The cells the networks accept (their own list), or None to let the network check the name."""
    from ctt_keras.models import video_predictor

    return getattr(video_predictor, "CELL_TYPES", None)


def main(argv=None, prog="ctt-train", command=None):
    """Parses flags and runs `ctt_keras.training.experiment.train`; returns the exit code.

    Args:
        argv: The flags (default: `sys.argv[1:]`).
        prog: The program name in messages.
        command: How the command is recorded in config.json (default: `prog`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser(prog)
    explicit = vars(parser.parse_args(argv))
    from ctt_keras import training
    from ctt_keras.training import experiment, run_config

    try:
        config = run_config.resolve(explicit)
    except run_config.ConfigError as error:
        parser.error(str(error))
    recorded = " ".join([command or prog] + list(sys.argv[1:] if argv is None else argv))
    if _needs_own_process(config):
        return _run_on_backend(config, argv, prog, command or prog)
    try:
        experiment.train(config, command=recorded, program=(command or prog).split()[-1])
    except run_config.ConfigError as error:
        parser.error(str(error))
    except experiment.SetupError as error:
        # Raised before training (bad data, shapes, presets): a message, not a traceback.
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except training.NonFiniteLossError as error:
        # The backup of the last finished epoch is kept: --resume (with other flags) continues from it.
        raise SystemExit(f"\n{prog}: error: {error}") from None
    return 0


def _needs_own_process(config):
    """Whether the run's backend differs from the one Keras was imported with (or JAX lacks CPU devices)."""
    import keras

    backend = config["backend"]
    if keras.backend.backend() != backend:
        return True
    if backend == "jax" and config["cpu_replicas"]:
        import jax

        return len(jax.devices("cpu")) < config["cpu_replicas"]  # JAX reads XLA_FLAGS when it starts
    return False


def _run_on_backend(config, argv, prog, command):
    """Runs this command again in a process whose Keras runs on the run's backend; returns its exit code.

    Keras fixes its backend when it is first imported (here: before the flags were read). A command-line
    call is replaced by the new process (same process id, signals and exit code); a call from Python waits
    for it.
    """
    from ctt_keras.training import backends

    backend = config["backend"]
    env = backends.child_environment(backend, config["cpu_replicas"])
    env["CTT_KERAS_BACKEND_CHILD"] = "1"
    # The new process runs this very copy of ctt_keras (a source checkout's, not another installed one).
    import ctt_keras

    root = os.path.dirname(os.path.dirname(os.path.abspath(ctt_keras.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if os.environ.get("CTT_KERAS_BACKEND_CHILD"):  # never loop: the child must run on the backend
        import keras

        print(f"{prog}: error: --backend {backend}: Keras runs on {keras.backend.backend()!r} although "
              f"KERAS_BACKEND={backend} was set; is {backend} installed?", file=sys.stderr)
        return 2
    args = list(sys.argv[1:] if argv is None else argv)
    code = ("import sys; from ctt_keras.cli.train import main; "
            f"sys.exit(main(sys.argv[1:], prog={prog!r}, command={command!r}))")
    child = [sys.executable, "-c", code] + args
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, child, env)
    import subprocess

    return subprocess.call(child, env=env)


if __name__ == "__main__":
    sys.exit(main())
