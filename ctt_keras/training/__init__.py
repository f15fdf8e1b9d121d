"""ctt_keras.training: distribution strategies, precision, the paper's schedules, callbacks, run folders.

TensorFlow only (the model code itself stays backend-agnostic). The command lines `ctt-train`,
`ctt-evaluate` and `ctt-predict` (`ctt_keras.cli`) are thin layers over these names and modules:
`run_config` (a run's settings and checks), `experiment` (a whole training run), `architecture` (a
network's keys and checks, from its constructor), `data` (clips of any dataset in
`ctt_keras.pipelines.datasets`), `evaluation`, `prediction` and `progress`; `docs/training.md` describes them.
"""

from ctt_keras.training.callbacks import (  # noqa: F401
    EpochHistory,
    NonFiniteLossError,
    PredictionImages,
    RunBackup,
    SeedStateBackup,
    StopOnNaN,
    WeightsCheckpoint,
    log_curves,
    recover_backup,
)
from ctt_keras.training.images import (  # noqa: F401
    comparison_strip,
    fit_frames,
    gif_bytes,
    plot_curves,
    prediction_gif_frames,
    side_by_side_frames,
    to_unit_float,
    write_gif,
)
from ctt_keras.training.precision import (  # noqa: F401
    JIT_COMPILE_CHOICES,
    MIXED_PRECISION_CHOICES,
    cpu_supports_bfloat16,
    resolve_jit_compile,
    resolve_mixed_precision,
    set_precision_policy,
)
from ctt_keras.training.recognition import (  # noqa: F401
    evaluate_recognition,
    recognition_table,
    write_recognition,
)
from ctt_keras.training.run_dir import (  # noqa: F401
    RunDirectory,
    recover_directory,
    replaced_directory,
    write_atomic,
    write_json,
)
from ctt_keras.training.runner import (  # noqa: F401
    ARCHITECTURE_KEYS,
    LR_SCHEDULE_CHOICES,
    RECOGNIZER_KEYS,
    SCHEDULE_CHOICES,
    architecture_of,
    backup_dir,
    backup_epoch,
    build_model,
    build_recognizer,
    compile_model,
    evaluate_horizons,
    make_schedule,
    predict_clips,
    rebuild_with_policy,
    results_to_json,
    training_callbacks,
    write_evaluation,
    write_prediction_gif,
)
from ctt_keras.training.schedules import (  # noqa: F401
    CosineLearningRate,
    LinearSamplingDecay,
    PaperSchedule,
    ScheduleLogger,
)
from ctt_keras.training.strategy import (  # noqa: F401
    STRATEGY_CHOICES,
    apply_multi_worker_fix,
    batch_for_strategy,
    check_tf_config,
    configure_cpu_replicas,
    distribute_clips,
    make_strategy,
    multi_worker_fix_needed,
    worker_info,
)
