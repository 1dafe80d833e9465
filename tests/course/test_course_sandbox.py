"""The sandbox's wire and the sandbox itself, piece by piece (the attack corpus is in
test_course_grade.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_course import runner as wire
from lstm_course import sandbox as sbx

REPO = Path(__file__).resolve().parents[2]


def roundtrip(value):
    buffers: list = []
    data = wire.encode_plain(value, buffers)
    return wire.decode_plain(data, buffers)


def test_plain_data_comes_back_as_base_types():
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    value = {"a": (1, 2.5, float("nan"), 2 ** 80, "s", None, True), "b": [np.float32(1.5), np.int64(3)],
             "arr": np.arange(6.0).reshape(2, 3).view(Sneaky), "t": torch.arange(4, dtype=torch.float64),
             "dtype": np.dtype("float32"), "tdtype": torch.float16, "size": torch.Size([2, 3])}
    back = roundtrip(value)
    assert type(back["arr"]) is np.ndarray and back["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(back["t"]) is torch.Tensor and back["t"].tolist() == [0, 1, 2, 3]
    assert back["a"][3] == 2 ** 80 and np.isnan(back["a"][2]) and back["a"][4:] == ("s", None, True)
    assert type(back["b"][0]) is np.float32 and back["dtype"] == np.float32 and back["tdtype"] is torch.float16
    assert back["size"] == torch.Size([2, 3])


def test_objects_are_not_plain_data_and_lies_about_bytes_are_refused():
    with pytest.raises(TypeError):
        wire.encode_plain(object(), [])
    with pytest.raises(TypeError):
        wire.encode_plain(np.array([object()]), [])
    with pytest.raises(wire.WireError):   # 3 float64 claimed, 2 sent
        wire.decode_plain({"ndarray": "<f8", "shape": [3], "buffer": 0}, [b"\0" * 16])
    with pytest.raises(wire.WireError):
        wire.decode_plain({"ndarray": "|O", "shape": [1], "buffer": 0}, [b"\0" * 8])


needs_bwrap = pytest.mark.skipif(sbx.find_bwrap() is None, reason="bubblewrap is not installed")


@needs_bwrap
def test_a_sandbox_sees_nothing_of_the_repository_and_dies_whole(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    sbx.prepare_home(home)
    box = sbx.Sandbox(home, REPO / "lstm_ref")
    box.call_timeout = 20.0
    outputs = {}
    code = (
        "import os, subprocess, sys, socket\n"
        f"seen = [p for p in ({str(REPO / 'solutions')!r}, {str(REPO / 'lstm_ref')!r}, "
        f"{str(REPO / 'pyproject.toml')!r}, '/root', '/etc/passwd') if os.path.exists(p)]\n"
        f"repo = os.listdir({str(REPO)!r}) if os.path.isdir({str(REPO)!r}) else []\n"
        "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    net = True\n"
        "except OSError:\n    net = False\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', 'lstm-course-sandbox-test'])\n"
        "def f(x):\n    return x * 2\n")
    box.run_cells([{"source": code, "label": "0"}], 20.0, 60.0, lambda i, m: outputs.setdefault(i, m))
    assert outputs[0]["error"] is None, outputs
    look = lambda name: box.request({"op": "lookup", "name": name}, [], 20.0)  # noqa: E731
    assert look("seen") == [] and look("net") is False
    # at most the empty folders leading to the environment's site-packages
    assert set(look("repo")) <= {".venv"}
    assert len(look("pids")) <= 4           # its own PID namespace: bwrap's init, Python, the child
    f = look("f")
    assert isinstance(f, sbx.Remote) and f(np.arange(3)).tolist() == [0, 2, 4]
    box.close()
    alive = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).find("lstm-course-sandbox-test") >= 0]
    assert alive == []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


@needs_bwrap
def test_a_call_past_its_time_stops_the_sandbox(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    sbx.prepare_home(home)
    box = sbx.Sandbox(home, REPO / "lstm_ref")
    box.call_timeout = 1.0
    box.run_cells([{"source": "import signal, time\ndef stuck():\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                              "    while True:\n        time.sleep(0.05)", "label": "0"}],
                  10.0, 30.0, lambda i, m: None)
    stuck = box.request({"op": "lookup", "name": "stuck"}, [], 5.0)
    with pytest.raises(sbx.SandboxGone, match="time"):
        stuck()
    assert box.process.poll() is not None
    box.close()


@needs_bwrap
def test_a_generator_given_to_student_code_stays_with_the_grader(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    sbx.prepare_home(home)
    box = sbx.Sandbox(home, REPO / "lstm_ref")
    box.call_timeout = 20.0
    box.run_cells([{"source": "def draw(rng, n):\n    return rng.random(n)\n"
                              "def greedy(rng):\n    return rng.random(10 ** 9)", "label": "0"}],
                  20.0, 60.0, lambda i, m: None)
    draw = box.request({"op": "lookup", "name": "draw"}, [], 20.0)
    ours, theirs = np.random.default_rng(7), np.random.default_rng(7)
    first, second = draw(theirs, 3), draw(theirs, 2)
    # the grader's generator advanced as if the student had used it in-process
    assert np.array_equal(first, ours.random(3)) and np.array_equal(second, ours.random(2))
    assert theirs.random() == ours.random()
    with pytest.raises(ValueError, match="random numbers per call"):
        box.request({"op": "lookup", "name": "greedy"}, [], 20.0)(theirs)
    box.close()


@needs_bwrap
@pytest.mark.skipif(os.getuid() != 0, reason="only root hands the sandbox to another uid")
def test_a_course_under_a_private_folder_is_still_reachable(tmp_path):
    import shutil
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    package = private / "lstm_ref"
    shutil.copytree(REPO / "lstm_ref", package, ignore=shutil.ignore_patterns("__pycache__"))
    assert not sbx._searchable_by_others(str(package))
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    sbx.prepare_home(home)
    box = sbx.Sandbox(home, package)
    box.call_timeout = 20.0
    outputs = {}
    box.run_cells([{"source": "import os\nfound = sorted(os.listdir('/opt/lstm-course/lstm_ref'))",
                    "label": "0"}], 20.0, 60.0, lambda i, m: outputs.setdefault(i, m))
    assert outputs[0]["error"] is None, outputs
    assert "numpy" in box.request({"op": "lookup", "name": "found"}, [], 20.0)
    staging = box._reachable.staging
    assert staging is not None      # the package was bound through the staging folder
    box.close()
    assert not staging.exists()


if sys.platform != "linux":   # pragma: no cover
    pytestmark = pytest.mark.skip("the sandbox is Linux only")


def test_forbid_reaches_the_function_inside_a_decorator():
    """torch.nn.utils.clip_grad_norm_ is a closure made by a decorator; forbidding it by name
    disables the function it wraps, and allow() gives it back."""
    params = [torch.nn.Parameter(torch.zeros(3))]
    params[0].grad = torch.full((3,), 4.0)
    wrapped = torch.nn.utils.clip_grad_norm_.__wrapped__
    runner = wire.Runner(-1, -1)
    runner.forbid([f"{wrapped.__module__}:{wrapped.__qualname__}"])
    try:
        with pytest.raises(AssertionError, match="reference implementation"):
            torch.nn.utils.clip_grad_norm_(params, 1.0)
    finally:
        assert runner.allow() == []
    assert float(torch.nn.utils.clip_grad_norm_(params, 1.0)) == pytest.approx(48 ** 0.5)


def test_torch_operations_refuses_pytorch_in_the_block_only():
    """Locally (lstm-course check): functions, tensor methods and factories all raise inside."""
    from lstm_ref.grading import forbid_calls, torch_operations

    # the sandbox's runner recognises the marker by this name
    assert wire.TORCH_MARKER == f"{torch_operations.__module__}:{torch_operations.__qualname__}"
    x = np.arange(6.0)
    shortcuts = {"topk": lambda: torch.as_tensor(x).topk(2),
                 "logsumexp": lambda: torch.logsumexp(torch.tensor(x), 0),
                 "cross_entropy": lambda: torch.nn.functional.cross_entropy(
                     torch.zeros(2, 3), torch.tensor([0, 1]))}
    for name, shortcut in shortcuts.items():
        with forbid_calls(torch_operations):
            with pytest.raises(AssertionError, match="PyTorch"):
                shortcut()
            assert np.exp(x).sum() > 0         # NumPy is untouched
        shortcut()                             # and PyTorch works again after the block


def _box_with(tmp_path, source):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    sbx.prepare_home(home)
    box = sbx.Sandbox(home, REPO / "lstm_ref")
    box.call_timeout = 30.0
    outputs = {}
    box.run_cells([{"source": source, "label": "0"}], 60.0, 120.0, lambda i, m: outputs.setdefault(i, m))
    assert outputs[0]["error"] is None, outputs
    return box, lambda name: box.request({"op": "lookup", "name": name}, [], 30.0)


TOP_TWO = ("import numpy as np\nimport torch\n"
           "def top(x):\n    return torch.from_numpy(x).topk(2).values.numpy()\n"
           "def mine(x):\n    return np.sort(x)[-2:][::-1]\n")


@needs_bwrap
def test_torch_operations_is_refused_inside_the_sandbox(tmp_path):
    """Graded (lstm-course grade): the sandbox runs the student's code under the same refusal."""
    box, look = _box_with(tmp_path, TOP_TWO + "torch.zeros(1)\n")    # PyTorch loaded for real
    top, mine = look("top"), look("mine")
    x = np.array([3.0, 1.0, 4.0, 1.5])
    box.request({"op": "forbid", "names": [wire.TORCH_MARKER]}, [], 30.0)
    with pytest.raises(AssertionError, match="PyTorch"):
        top(x)
    assert mine(x).tolist() == [4.0, 3.0]
    assert box.request({"op": "allow"}, [], 30.0) == []
    assert top(x).tolist() == [4.0, 3.0]       # allowed again after the block
    box.close()


@needs_bwrap
def test_pytorch_first_loaded_in_a_refusing_block_is_reported(tmp_path):
    """``import torch`` is lazy in the sandbox: loading it during the call is using it."""
    box, look = _box_with(tmp_path, TOP_TWO)
    top = look("top")
    box.request({"op": "forbid", "names": [wire.TORCH_MARKER]}, [], 30.0)
    top(np.array([3.0, 1.0, 4.0]))
    assert box.request({"op": "allow"}, [], 30.0) == ["torch"]
    box.close()
