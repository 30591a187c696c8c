"""``dg.train``: the training loop and its callbacks (early stopping, checkpoints, logging)."""
from .early_stopping import EarlyStopping  # noqa: F401
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: F401
from .progress import ProgressBar  # noqa: F401
from .run import RunDir, RunError  # noqa: F401
from .tasks import TASKS, Task, get_task  # noqa: F401
from .trainer import TrainingDiverged, evaluate, evaluate_run, load_run, train  # noqa: F401
from .sweep import SweepError, cross_validate, sweep  # noqa: F401,E402
