"""``BackupAndRestore``: a training run that is killed continues where it stood."""

import os
import shutil
import warnings

from ..distribute import is_chief
from ..engine import resume_state
from .callback import Callback
from .save_freq import BatchCounter

LATEST, PREVIOUS = "latest.mlxf", "previous.mlxf"


class BackupAndRestore(Callback):
    """Backs up the whole training state, and puts it back when ``fit`` starts again.

    The backup is one model file (``backup_dir/latest.mlxf``, our ``.mlxf``
    format, written atomically: a crash while writing leaves the previous
    backup whole). It holds the weights, the optimizer state and where the run
    stood (``engine/resume_state.py``): epochs done, and -- for a backup taken
    mid-epoch -- the batches done in the current epoch, with the random keys
    the epoch started from and had reached. When ``fit`` starts with a backup
    in the folder, the model takes that state and training continues from that
    epoch and batch: same shuffle order, same Dropout masks, the same weights
    bit for bit as a run that was never interrupted. (Keras 3 restarts an
    interrupted epoch from its first batch.) The logged metrics of a resumed
    epoch average only the batches trained after the resume.

    The model passed to ``fit`` must be the one that was backed up (same
    architecture and compile arguments), a functional or Sequential model, and
    the data the same.

    Args:
        backup_dir: folder of the backup, for this run only (no other callback or
            run may write there).
        save_freq: ``"epoch"`` (at the end of every epoch), an integer N (after
            every N batches), or ``False`` (never back up; only restore).
        double_checkpoint: keep the backup before the last one too
            (``previous.mlxf``), and fall back to it when the latest cannot be read.
        delete_checkpoint: remove the backup files (and the folder, when left empty)
            when ``fit`` ends normally. A run that stops with an exception keeps them.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and save_freq is not False and (
                type(save_freq) is not int or save_freq < 1):
            raise ValueError(
                "Invalid value for argument `save_freq`. "
                f"Received: save_freq={save_freq}. "
                "Expected either 'epoch', a positive integer or False.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._latest = os.path.join(self.backup_dir, LATEST)
        self._previous = os.path.join(self.backup_dir, PREVIOUS)
        self._batches = None

    def _implements_batch_hooks(self, mode):
        return mode == "train" and type(self.save_freq) is int

    # -- restore -------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._batches = BatchCounter(self.save_freq) if type(self.save_freq) is int else None
        state = self._restore()
        if state is None:
            return
        # fit reads this after on_train_begin (as Keras' `_initial_epoch`) and continues
        # the run from the restored state, mid-epoch when it is a mid-epoch one.
        self.model._initial_epoch = state.epoch
        if self._batches is not None and state.step:
            self._batches.last = state.step - 1  # as the interrupted run counted

    def _restore(self):
        paths = [p for p in (self._latest, self._previous if self.double_checkpoint else None)
                 if p is not None and os.path.exists(p)]
        if not paths:
            return None
        if getattr(self.model, "optimizer", None) is None:
            raise ValueError("BackupAndRestore needs a compiled model.")
        error = None
        for path in paths:
            try:
                # (saving/model_file.py, through the model: callbacks do not import
                # saving, which imports the engine, which imports callbacks)
                state = self.model._restore_training_state(path)
            except (ValueError, OSError) as e:  # ModelFileError is a ValueError
                error = error or e
                continue
            if error is not None:
                warnings.warn(f"BackupAndRestore: the latest backup cannot be read, "
                              f"restored the previous one ({path}). {error}", stacklevel=3)
            return state
        raise error

    # -- back up -------------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.due(batch):
            self._save(resume_state.capture(self.model))

    def on_epoch_end(self, epoch, logs=None):
        if self._batches is not None:
            self._batches.last = 0  # (as Keras: the next epoch's batches count afresh)
        if self.save_freq == "epoch":
            # fit recorded where the run stands just before on_epoch_end.
            self._save(getattr(self.model, "_resume_state", None))

    def _save(self, state):
        if state is None:
            raise RuntimeError("BackupAndRestore backs up inside fit() only.")
        if not is_chief():  # data-parallel: rank 0 writes for all (the capture above was
            return          # a collective every rank took part in)
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._latest):
            _keep_as(self._latest, self._previous)
        # The file's `resume` is the model's _resume_state (saving/model_file.py): the
        # mid-epoch state is lent to it for this save only.
        recorded = getattr(self.model, "_resume_state", None)
        self.model._resume_state = state
        try:
            self.model.save(self._latest)
        except NotImplementedError as e:
            raise NotImplementedError(
                "BackupAndRestore backs up whole-model files, which a subclassed model "
                f"cannot be written to. {e}") from None
        finally:
            self.model._resume_state = recorded

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint or not is_chief():
            return
        for path in (self._latest, self._previous):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.backup_dir)  # only when empty: other files are not ours
        except OSError:
            pass


def _keep_as(path, other):
    """Makes ``other`` a copy of ``path``, atomically: a hard link to the file (the next
    save replaces ``path`` by a new file, so the link keeps the old bytes), or a copy
    where links are not possible; then one rename."""
    tmp = f"{other}.{os.getpid()}.tmp"
    try:
        os.link(path, tmp)
    except OSError:
        shutil.copyfile(path, tmp)
    os.replace(tmp, other)
