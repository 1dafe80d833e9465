"""A diagram of a recurrent network unrolled in time, with the gradient flowing back.

Chapter 3 draws it twice: for full backpropagation through time and for truncated BPTT,
where the backward arrows stop at the chunk boundaries while the forward ones go on.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.lines import Line2D

FORWARD_COLOR = "0.25"
BACKWARD_COLOR = "tab:red"
BOUNDARY_COLOR = "tab:blue"


def _arrow(ax, start, end, color, style="-", rad=0.0, width=1.4):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=color, linestyle=style, linewidth=width,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0))


def _node(ax, x, y, text, shape="box"):
    if shape == "box":
        ax.add_patch(FancyBboxPatch((x - 0.28, y - 0.2), 0.56, 0.4,
                                    boxstyle="round,pad=0.02", facecolor="#e8eef7",
                                    edgecolor=FORWARD_COLOR))
    else:
        ax.add_patch(plt.Circle((x, y), 0.2, facecolor="white", edgecolor=FORWARD_COLOR))
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def draw_unrolled(ax: plt.Axes | None = None, steps: int = 4, truncate_every: int | None = None,
                  title: str | None = None) -> plt.Axes:
    """Draw inputs x_t, states h_t and losses l_t for t = 1..steps, forward arrows in grey
    and the backward pass (the gradient) in red.

    With ``truncate_every=k`` the sequence is cut into chunks of k steps: the state still
    flows forward across a boundary (blue dotted line) but the gradient does not flow back.
    """
    if steps < 1:
        raise ValueError(f"steps: expected at least 1, got {steps}")
    if truncate_every is not None and truncate_every < 1:
        raise ValueError(f"truncate_every: expected None or an integer >= 1, got {truncate_every}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.7 * (steps + 1), 3.6))
    y_x, y_h, y_l = 0.0, 1.3, 2.6
    _node(ax, 0, y_h, "$h_0$")
    for t in range(1, steps + 1):
        _node(ax, t, y_x, f"$x_{t}$", shape="circle")
        _node(ax, t, y_h, f"$h_{t}$")
        _node(ax, t, y_l, rf"$\ell_{t}$", shape="circle")
        # forward: x_t -> h_t, h_{t-1} -> h_t, h_t -> l_t
        _arrow(ax, (t, y_x + 0.2), (t, y_h - 0.22), FORWARD_COLOR)
        _arrow(ax, (t - 0.72, y_h + 0.06), (t - 0.3, y_h + 0.06), FORWARD_COLOR)
        _arrow(ax, (t, y_h + 0.22), (t, y_l - 0.2), FORWARD_COLOR)
        ax.text(t + 0.05, (y_x + y_h) / 2, "$W_{ih}$", fontsize=8, ha="left", va="center")
        ax.text(t - 0.5, y_h + 0.14, "$W_{hh}$", fontsize=8, ha="center", va="bottom")
        # backward: l_t -> h_t, and h_t -> h_{t-1} unless a chunk boundary lies between
        _arrow(ax, (t + 0.16, y_l - 0.2), (t + 0.16, y_h + 0.22), BACKWARD_COLOR, "--")
        cut = truncate_every is not None and (t - 1) % truncate_every == 0 and t > 1
        if not cut:
            _arrow(ax, (t - 0.3, y_h - 0.1), (t - 0.72, y_h - 0.1), BACKWARD_COLOR, "--")
        else:
            ax.plot([t - 0.5], [y_h - 0.1], marker="x", color=BACKWARD_COLOR, markersize=9)
            for low, high in [(-0.4, y_h - 0.25), (y_h + 0.45, y_l + 0.35)]:  # clear of W_hh
                ax.plot([t - 0.5, t - 0.5], [low, high], color=BOUNDARY_COLOR, linestyle=":",
                        linewidth=1.5)
    ax.set_xlim(-0.6, steps + 0.6)
    ax.set_ylim(-0.45, y_l + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    handles = [Line2D([], [], color=FORWARD_COLOR, label="forward pass"),
               Line2D([], [], color=BACKWARD_COLOR, linestyle="--",
                      label=r"backward pass ($\partial L/\partial\,\cdot$)")]
    if truncate_every is not None:
        handles.append(Line2D([], [], color=BOUNDARY_COLOR, linestyle=":",
                              label="truncation boundary (state detached)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02),
              ncol=len(handles), fontsize=8)
    if title is None:
        title = ("Backpropagation through time" if truncate_every is None
                 else f"Truncated BPTT, k = {truncate_every}")
    ax.set_title(title)
    return ax
