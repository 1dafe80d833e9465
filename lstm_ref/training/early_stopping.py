"""Early stopping on a validation metric, with the best checkpoint kept and restored.

Example::

    stopper = EarlyStopping(patience=5)
    for step in range(max_steps):
        train_one_step()
        if step % eval_every == 0:
            if stopper.update(validation_loss(model), model, step):
                break
    stopper.restore(model)          # the weights of the best evaluation, not the last
"""

from __future__ import annotations

import copy
import math

from torch import nn
from lstm_ref._validation import check_positive_int


class EarlyStopping:
    """Watch a metric to minimise; say when it has not improved for ``patience`` evaluations.

    An evaluation *improves* when its value is below ``best - min_delta``.  Each improvement
    stores a copy of the model's ``state_dict`` (on the CPU), and :meth:`restore` loads it
    back.  A NaN or infinite value never improves.

    Attributes: ``best`` (the lowest value seen, ``inf`` before any), ``best_step``,
    ``bad_evaluations`` (evaluations since the last improvement), ``stopped_step`` (the
    step at which :meth:`update` first returned True, else None).
    """

    def __init__(self, patience: int, min_delta: float = 0.0):
        check_positive_int("patience", patience)
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"min_delta: expected a number >= 0, got {min_delta!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.best = math.inf
        self.best_step: int | None = None
        self.bad_evaluations = 0
        self.stopped_step: int | None = None
        self._best_state: dict | None = None

    def update(self, value: float, model: nn.Module | None = None, step: int | None = None
               ) -> bool:
        """Record one evaluation; return True when training should stop.

        ``model``: if given, its weights are stored whenever ``value`` improves.
        ``step``: the training step of this evaluation (for ``best_step``/``stopped_step``).
        """
        value = float(value)
        if math.isfinite(value) and value < self.best - self.min_delta:
            self.best, self.best_step, self.bad_evaluations = value, step, 0
            if model is not None:
                self._best_state = {k: v.detach().to("cpu", copy=True)
                                    for k, v in model.state_dict().items()}
        else:
            self.bad_evaluations += 1
        stop = self.bad_evaluations >= self.patience
        if stop and self.stopped_step is None:
            self.stopped_step = step
        return stop

    @property
    def has_checkpoint(self) -> bool:
        return self._best_state is not None

    def restore(self, model: nn.Module) -> nn.Module:
        """Load the best stored weights into ``model`` (kept on ``model``'s device)."""
        if self._best_state is None:
            raise ValueError("restore: no checkpoint stored; pass the model to update() "
                             "and have at least one finite evaluation")
        model.load_state_dict(copy.deepcopy(self._best_state))
        return model
