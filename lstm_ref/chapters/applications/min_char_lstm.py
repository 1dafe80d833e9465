"""A character-level LSTM language model in NumPy, whole, in one screen.

After Karpathy's min-char-rnn, with an LSTM cell and batches of parallel text streams: one-hot
characters in, ``lstm_step_forward`` over a window of ``seq_len`` steps, a linear head, softmax
cross-entropy, BPTT back through the window with ``lstm_step_backward``, gradient clipping, Adam,
and the final ``(h, c)`` carried into the next window (truncated BPTT).
"""

import numpy as np

from lstm_ref.numpy import Adam, clip_grad_norm, lstm_step_backward, lstm_step_forward, softmax_cross_entropy
from lstm_ref.training import progress

CELL = ("W_ih", "W_hh", "b_ih", "b_hh")


def init_params(vocab_size, hidden_size, rng):
    scale = 1.0 / np.sqrt(hidden_size)
    uniform = lambda *shape: rng.uniform(-scale, scale, size=shape)
    return {"W_ih": uniform(4 * hidden_size, vocab_size), "W_hh": uniform(4 * hidden_size, hidden_size),
            "b_ih": np.zeros(4 * hidden_size), "b_hh": np.zeros(4 * hidden_size),
            "W_hy": uniform(vocab_size, hidden_size), "b_y": np.zeros(vocab_size)}


def loss_and_grads(params, inputs, targets, h, c):
    """inputs, targets: (B, T) ids; h, c: (B, H). Returns loss, grads, (h, c) after the window."""
    one_hot = np.eye(params["W_hy"].shape[0])
    caches, hs = [], []
    for t in range(inputs.shape[1]):                                  # forward, step by step
        h, c, cache = lstm_step_forward(one_hot[inputs[:, t]], h, c, *(params[k] for k in CELL))
        caches.append(cache)
        hs.append(h)
    hs = np.stack(hs, axis=1)                                         # (B, T, H)
    loss, dlogits = softmax_cross_entropy(hs @ params["W_hy"].T + params["b_y"], targets)
    grads = {"W_hy": np.einsum("btv,bth->vh", dlogits, hs), "b_y": dlogits.sum(axis=(0, 1))}
    grads.update({k: np.zeros_like(params[k]) for k in CELL})
    dhs = dlogits @ params["W_hy"]                                    # (B, T, H) from the head
    dh_next, dc_next = np.zeros_like(h), np.zeros_like(c)
    for t in reversed(range(len(caches))):                            # backward through time
        step = lstm_step_backward(dhs[:, t] + dh_next, dc_next, caches[t])
        dh_next, dc_next = step.dh_prev, step.dc_prev
        for k, g in zip(CELL, (step.dW_ih, step.dW_hh, step.db_ih, step.db_hh)):
            grads[k] += g
    return loss, grads, (h, c)


def sample(params, h, c, first_id, length, rng, temperature=1.0):
    """``length`` ids drawn one at a time, each fed back in, starting after ``first_id``."""
    ids, one_hot = [first_id], np.eye(params["W_hy"].shape[0])
    for _ in range(length):
        h, c, _ = lstm_step_forward(one_hot[[ids[-1]]], h, c, *(params[k] for k in CELL))
        logits = (h @ params["W_hy"].T + params["b_y"])[0] / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return ids[1:]


def windows(ids, batch_size, seq_len):
    """(x, y) windows of B parallel streams, in order; row b of each continues row b of the last."""
    streams = np.asarray(ids)[: len(ids) // batch_size * batch_size].reshape(batch_size, -1)
    for start in range(0, streams.shape[1] - seq_len, seq_len):
        yield streams[:, start:start + seq_len], streams[:, start + 1:start + seq_len + 1]


def train(ids, vocab_size, hidden_size=64, batch_size=16, seq_len=25, steps=300, lr=1e-2,
          max_norm=5.0, seed=0):
    """Train on the id sequence ``ids``; returns params and the loss (nats/char) of every step."""
    rng = np.random.default_rng(seed)
    params = init_params(vocab_size, hidden_size, rng)
    optimizer, losses, batches = Adam(params, lr=lr), [], iter(())
    for _ in progress(range(steps), desc="NumPy LSTM"):
        window = next(batches, None)
        if window is None:                          # start (again) at the top of the streams
            batches = windows(ids, batch_size, seq_len)
            window = next(batches)
            h = c = np.zeros((batch_size, hidden_size))
        loss, grads, (h, c) = loss_and_grads(params, *window, h, c)
        clip_grad_norm(grads, max_norm)
        optimizer.step(grads)
        losses.append(loss)
    return params, losses


def mean_loss(params, ids, batch_size=16, seq_len=25):
    """Mean NLL (nats/char) over ``ids`` (e.g. validation text), state carried between windows."""
    h = c = np.zeros((batch_size, params["W_hh"].shape[1]))
    total = []
    for x, y in windows(ids, batch_size, seq_len):
        loss, _, (h, c) = loss_and_grads(params, x, y, h, c)
        total.append(loss)
    return float(np.mean(total))
