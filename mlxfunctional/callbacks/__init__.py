"""``keras.callbacks``: hooks into ``fit``, ``evaluate`` and ``predict``.

The training loops build a ``CallbackList(callbacks, add_history=True,
add_progbar=verbose != 0, model=model, verbose=..., epochs=..., steps=...)`` and call
its ``on_*`` methods; ``History`` is what ``fit`` returns.
"""

from .backup_and_restore import BackupAndRestore
from .callback import Callback
from .callback_list import CallbackList
from .history import History
from .monitor import EarlyStopping, ModelCheckpoint, MonitorCallback, ReduceLROnPlateau
from .progbar_logger import ProgbarLogger
from .remote_monitor import RemoteMonitor
from .simple import CSVLogger, LambdaCallback, LearningRateScheduler, TerminateOnNaN
from .swap_ema_weights import SwapEMAWeights
from .tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "RemoteMonitor",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]
