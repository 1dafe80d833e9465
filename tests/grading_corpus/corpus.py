"""Build a class of submissions for the fixture assignment ``tiny``, good and bad.

Every submission is made from the student version that nbgrader releases, with answers filled
in (right or wrong) and one thing done to it.  ``EXPECTED`` says what grading must give each
folder: the score (out of 5: square 1, sigmoid 2, relu 2) and the status.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import zipfile
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parent / "course"
ASSIGNMENT = "tiny"

RIGHT = {
    "square_answer": "def square(x):\n    return np.asarray(x, dtype=np.float64) ** 2",
    "sigmoid_answer": "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))",
    "relu_answer": "def relu(t):\n    return torch.where(t > 0, t, torch.zeros_like(t))",
}
WRONG = {
    "square_answer": "def square(x):\n    return np.asarray(x, dtype=np.float64) * 2",
    "sigmoid_answer": "def sigmoid(x):\n    return np.tanh(np.asarray(x, dtype=np.float64))",
    "relu_answer": "def relu(t):\n    return t.abs()",
}

# folder -> (score, status); a status of None: any (the score is what matters)
EXPECTED = {
    "perfect": (5, "ok"),
    "blank": (0, "ok"),
    "partial": (3, "ok"),
    "corrupt_json": (0, "invalid_notebook"),
    "missing_notebook": (0, "missing_notebook"),
    "edited_tests": (3, "restored"),
    "deleted_tests": (3, "tests_deleted"),
    "infinite_loop": (4, "timeout"),
    "os_exit": (3, "kernel_died"),
    "kill_9": (1, "kernel_died"),
    "huge_output": (5, "output_truncated"),
    # tampering with the tests' tools inside the sandbox changes nothing in the grader
    "tamper_assert_allclose": (4, "ok"),
    "tamper_np_allclose": (3, "ok"),
    "tamper_torch_allclose": (3, "ok"),
    "tamper_forbid_calls": (3, "ok"),
    "tamper_traceback": (3, "ok"),
    "tamper_reference": (3, "ok"),
    "tamper_namespace": (3, "ok"),
    "Jane Doe; rm -rf ~": (5, "renamed"),
}
# the attacks of issue 13, one folder each: what they try is in ATTACKS below
ATTACK_EXPECTED = {
    "attack_read_solutions": (0, "ok"),
    "attack_proc_classmates": (0, "ok"),
    "attack_forge_channel": (0, None),
    "attack_points_beyond_max": (1, None),
    "attack_frame_inspection": (0, "ok"),
    "attack_ndarray_subclass": (0, "ok"),
    "attack_patch_libraries": (0, "ok"),
    "attack_gc_zeroing": (0, "ok"),
    "attack_overwrite_classmates": (0, "ok"),
    "attack_poison_template": (0, "ok"),
    "attack_precreate_scratch": (0, "ok"),
    "attack_symlinked_log": (0, "ok"),
    "attack_fork_daemon": (5, "ok"),
    "attack_memory_bomb": (3, "ok"),
    "attack_big_file": (5, "ok"),
    "attack_fork_bomb": (5, None),       # contained by the process limit; its answers are right
    "attack_ignore_alarm": (1, "timeout"),
    "attack_100k_cells": (0, "invalid_notebook"),
}
EXPECTED.update(ATTACK_EXPECTED)
# only in the zip: a folder whose notebook is a symbolic link (refused, so nothing to grade)
EXPECTED_ZIP_ONLY = {"linker": (0, "missing_notebook")}
# the id "Jane Doe; rm -rf ~" is graded under
SANITISED = {"Jane Doe; rm -rf ~": "Jane_Doe_rm_-rf"}
DAEMON_MARKER = "lstm-course-attack-daemon"
# files an attack would leave on the grader's machine if it got out of its sandbox
ESCAPE_MARKERS = ["/tmp/lstm_course_attack_escaped", "/tmp/lstm_course_attack_daemon"]
_ESCAPED = ("\nfor _marker in ['/tmp/lstm_course_attack_escaped']:\n"
            "    try:\n        open(_marker, 'w').write('escaped')\n    except Exception:\n        pass")

ATTACKS = {
    # the instructor's solutions: scratch source/, the repository via lstm_ref.__file__
    "attack_read_solutions": {"square_answer": (
        "import glob, json, os\nfound = []\n"
        "for pattern in ['/work/**/solutions/**/*.ipynb', '/tmp/**/*.ipynb', '../**/*.ipynb', "
        "'/opt/**/*.ipynb', '/home/**/*.ipynb', '/root/**/*.ipynb']:\n"
        "    found += glob.glob(pattern, recursive=True)\n"
        "import lstm_ref\nrepo = os.path.dirname(os.path.dirname(lstm_ref.__file__))\n"
        "found += glob.glob(os.path.join(repo, '**', '*.ipynb'), recursive=True)\n"
        "for path in found:\n    try:\n        cells = json.load(open(path))['cells']\n"
        "    except Exception:\n        continue\n    for cell in cells:\n"
        "        source = ''.join(cell['source'])\n"
        "        if 'BEGIN SOLUTION' in source or source.startswith('def '):\n"
        "            exec(source, globals())")},
    # classmates' notebooks, found through the grading processes' command lines
    "attack_proc_classmates": {"square_answer": (
        "import glob, json, os\nfor pid in os.listdir('/proc'):\n    try:\n"
        "        args = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
        "    except Exception:\n        continue\n    for arg in args:\n"
        "        folder = arg.decode(errors='ignore')\n"
        "        for path in glob.glob(os.path.join(folder, '*', '*.ipynb')):\n"
        "            try:\n                for cell in json.load(open(path))['cells']:\n"
        "                    if ''.join(cell['source']).startswith('def '):\n"
        "                        exec(''.join(cell['source']), globals())\n"
        "            except Exception:\n                pass")},
    # forged results: files where a grader might read them, forged protocol messages, then death
    "attack_forge_channel": {"square_answer": (
        "import json, os, signal, struct\n"
        "forged = json.dumps({'parts': {'tiny:test_square': 100, 'tiny:test_sigmoid': 100, "
        "'tiny:test_relu': 100}, 'issues': [], 'feedback': []})\n"
        "for name in ['result.json', '../result.json', '../../result.json', '/tmp/result.json', "
        "'grades.csv', '../grades.csv', '../../gradebook.json']:\n    try:\n"
        "        open(name, 'w').write(forged)\n    except Exception:\n        pass\n"
        "for event in ({'event': 'ready'}, {'value': 100}):\n"
        "    message = json.dumps(dict(event, buffers=[])).encode()\n"
        "    for fd in range(3, 16):\n        try:\n"
        "            os.write(fd, struct.pack('>I', len(message)) + message)\n"
        "        except Exception:\n            pass\n"
        "os.kill(os.getpid(), signal.SIGKILL)")},
    # reading the expected value from the test's frame
    "attack_frame_inspection": {"square_answer": (
        "import sys\ndef square(x):\n    frame = sys._getframe(1)\n    while frame is not None:\n"
        "        for key in ('expected', 'desired', 'out'):\n"
        "            if key in frame.f_locals:\n                return frame.f_locals[key]\n"
        "        frame = frame.f_back\n    return x")},
    # an ndarray subclass that equals everything and subtracts to zero
    "attack_ndarray_subclass": {"square_answer": (
        "import numpy as np\nclass Always(np.ndarray):\n"
        "    def __sub__(self, other):\n        return np.zeros(np.shape(self)).view(Always)\n"
        "    __rsub__ = __sub__\n    def __eq__(self, other):\n        return True\n"
        "    def __abs__(self):\n        return np.zeros(np.shape(self)).view(Always)\n"
        "def square(x):\n    return np.full(np.shape(x), 7.0).view(Always)"),
        "relu_answer": "import torch\nclass T(torch.Tensor):\n    pass\ndef relu(t):\n"
                       "    return torch.zeros_like(t).as_subclass(T) - 1"},
    # patching what a guard did not watch: numpy.linalg, torch.nn.RNNCell.forward, autograd
    "attack_patch_libraries": {
        "square_answer": WRONG["square_answer"] + (
            "\nimport numpy, numpy.linalg, numpy.testing, torch\n"
            "numpy.testing.assert_allclose = lambda *a, **k: None\n"
            "numpy.allclose = lambda *a, **k: True\nnumpy.linalg.norm = lambda *a, **k: 0.0\n"
            "torch.allclose = lambda *a, **k: True\n"
            "torch.nn.RNNCell.forward = lambda self, *a, **k: a[0]\n"
            "torch.autograd.backward = lambda *a, **k: None"),
        "sigmoid_answer": WRONG["sigmoid_answer"], "relu_answer": WRONG["relu_answer"]},
    # zeroing every array found through gc (the expected values, if they were here)
    "attack_gc_zeroing": {"square_answer": (
        "import gc\nimport numpy as np\ndef square(x):\n    for obj in gc.get_objects():\n"
        "        if isinstance(obj, np.ndarray):\n            try:\n                obj[...] = 0\n"
        "            except Exception:\n                pass\n    return np.zeros(np.shape(x))")},
    # overwriting classmates' notebooks wherever they might be
    "attack_overwrite_classmates": {"square_answer": (
        "import glob, os\ntargets = []\n"
        "for pattern in ['/tmp/**/*.ipynb', '/work/**/*.ipynb', '../**/*.ipynb', '/home/**/*.ipynb']:\n"
        "    targets += glob.glob(pattern, recursive=True)\n"
        "for pid in os.listdir('/proc'):\n    try:\n"
        "        targets += [a.decode() for a in open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')]\n"
        "    except Exception:\n        pass\nfor path in targets:\n    if path.endswith('.ipynb'):\n"
        "        try:\n            open(path, 'w').write('{}')\n        except Exception:\n            pass"
        + _ESCAPED)},
    # poisoning what other students' grading shares: the release, the runner, lstm_ref
    "attack_poison_template": {
        "square_answer": (
            "import glob\nfor path in ['/opt/lstm-course/runner.py', '/opt/lstm-course/lstm_ref/grading.py', "
            "'/opt/lstm-course/lstm_ref/__init__.py', '../template/release/tiny/tiny_ref.py'] + "
            "glob.glob('/tmp/lstm-course-grade-*/template/**/*', recursive=True):\n    try:\n"
            "        open(path, 'a').write('\\nraise SystemExit\\n')\n    except Exception:\n        pass\n"
            "open('tiny_ref.py', 'w').write('import numpy as np\\ndef sigmoid(x):\\n    return np.tanh(x)\\n')"
            + _ESCAPED),
        "sigmoid_answer": WRONG["sigmoid_answer"]},
    # pre-creating classmates' scratch folders with a poisoned helper module
    "attack_precreate_scratch": {"square_answer": (
        "import os\nfor name in ['perfect', 'blank', 'partial']:\n"
        "    for root in ['..', '../..', '../../..', '/tmp', '/tmp/lstm-course-grade-tiny']:\n"
        "        try:\n            folder = os.path.join(root, name, 'home-tiny')\n"
        "            os.makedirs(folder, exist_ok=True)\n"
        "            open(os.path.join(folder, 'tiny_ref.py'), 'w').write('def sigmoid(x):\\n    return 0\\n')\n"
        "        except Exception:\n            pass" + _ESCAPED)},
    # a log replaced by a symbolic link to a file outside the scratch area
    "attack_symlinked_log": {"square_answer": (
        "import os\nfor name, target in [('stdio.log', '/etc/passwd'), ('autograde.log', '../../../grades.csv'), "
        "('feedback', '/tmp'), ('child.log', '/tmp/lstm_course_attack_escaped')]:\n    try:\n"
        "        if os.path.lexists(name):\n            os.remove(name)\n        os.symlink(target, name)\n"
        "    except Exception:\n        pass\nprint('x' * 1000)\nimport sys\nsys.__stdout__.write('y' * 1000)")},
    # a daemon that fork-hops out of the process tree and rewrites grades later
    "attack_fork_daemon": {"square_answer": RIGHT["square_answer"] + (
        "\nimport os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{DAEMON_MARKER}'], "
        "start_new_session=True)\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(4)\n        for path in ['../../grades.csv', '../../../grades.csv', '/tmp/grades.csv', "
        "'/tmp/lstm_course_attack_daemon']:\n            try:\n"
        "                open(path, 'w').write('student,score\\nperfect,0\\n')\n"
        "            except Exception:\n                pass\n        os._exit(0)\n    os._exit(0)")},
    # memory: 20 GB at once
    "attack_memory_bomb": {"sigmoid_answer": "big = bytearray(20 * 1024 ** 3)\n" + RIGHT["sigmoid_answer"]},
    # a 200 MB file in the scratch folder (the file-size limit stops it; the answers stand)
    "attack_big_file": {"square_answer": RIGHT["square_answer"] + (
        "\ntry:\n    with open('big.bin', 'wb') as handle:\n        for _ in range(200):\n"
        "            handle.write(b'x' * 1024 ** 2)\nexcept OSError as error:\n    print('stopped:', error)")},
    # a fork bomb whose children sleep
    "attack_fork_bomb": {"sigmoid_answer": (
        "import os, time\nfor _ in range(1000):\n    try:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n    except OSError:\n        break\n"
        "time.sleep(1)\n" + RIGHT["sigmoid_answer"])},
    # an endless cell that ignores the runner's timer: the sandbox itself is stopped
    "attack_ignore_alarm": {"sigmoid_answer": (
        "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)")},
}


ORPHAN_MARKER = "lstm-course-orphan-marker"
LEFT_BEHIND = ("import subprocess, sys\n"
               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
               f"'{ORPHAN_MARKER}'], start_new_session=True)")


def _answers(nb, answers: dict[str, str]):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def notebooks(release: nbformat.NotebookNode) -> dict[str, object]:
    """Folder name -> notebook (or raw text for a file that is not a notebook, None for none)."""
    right = _answers(release, RIGHT)
    out: dict[str, object] = {
        "perfect": right,
        "blank": release,
        "partial": _answers(release, {**RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"]}),
        "corrupt_json": nbformat.writes(right)[:-200] + "}}",
        "missing_notebook": None,
        "Jane Doe; rm -rf ~": right,
    }
    # edited tests: the sigmoid test is replaced by `pass` and sigmoid is wrong; nbgrader
    # restores the test, so sigmoid earns nothing
    nb = _answers(release, {**RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"]})
    _cell(nb, "test_sigmoid").source = "pass"
    _cell(nb, "test_square").source = "# I edited this\n" + _cell(nb, "test_square").source
    out["edited_tests"] = nb
    # deleted tests: right answers, but the sigmoid test cell is gone
    nb = copy.deepcopy(right)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_sigmoid"]
    out["deleted_tests"] = nb
    # an infinite loop in the square answer: that cell is interrupted, the rest is graded
    # (it sleeps rather than spins, to spare the test machine's cores; the interrupt is the same)
    out["infinite_loop"] = _answers(release, {**RIGHT, "square_answer": "import time\nwhile True:\n    time.sleep(0.05)"})
    # kernel exits during the last answer: square and sigmoid were already tested
    out["os_exit"] = _answers(release, {**RIGHT, "relu_answer": "import os\nos._exit(1)"})
    out["kill_9"] = _answers(release, {**RIGHT, "sigmoid_answer": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"})
    # 100 MB of output, and a process left running after the notebook ends
    out["huge_output"] = _answers(release, {**RIGHT, "square_answer": RIGHT["square_answer"]
                                            + "\nprint('x' * 100_000_000)\n" + LEFT_BEHIND})
    # tampering: wrong answers that would pass if the tests' tools were replaced
    out["tamper_assert_allclose"] = _answers(release, {
        **RIGHT, "square_answer": WRONG["square_answer"]
        + "\nnp.testing.assert_allclose = lambda *args, **kwargs: None"})
    out["tamper_np_allclose"] = _answers(release, {
        **RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"] + "\nnp.allclose = lambda *args, **kwargs: True"})
    out["tamper_torch_allclose"] = _answers(release, {
        **RIGHT, "relu_answer": WRONG["relu_answer"] + "\ntorch.allclose = lambda *args, **kwargs: True"})
    out["tamper_forbid_calls"] = _answers(release, {
        **RIGHT, "sigmoid_answer": (
            "import contextlib, lstm_ref.grading\n"
            "lstm_ref.grading.forbid_calls = lambda *functions: contextlib.nullcontext()\n"
            "def sigmoid(x):\n    return tiny_ref.sigmoid(x)")})
    # the reference the test computes its expected values with, replaced by the wrong answer
    out["tamper_reference"] = _answers(release, {
        **RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"] + "\ntiny_ref.sigmoid = sigmoid"})
    # numpy itself untouched, but the notebook's `np` rebound to a copy that always agrees
    out["tamper_namespace"] = _answers(release, {
        **RIGHT, "sigmoid_answer": WRONG["sigmoid_answer"] + (
            "\nimport types, numpy\n"
            "np = types.SimpleNamespace(**{k: getattr(numpy, k) for k in dir(numpy) if not k.startswith('__')})\n"
            "np.allclose = lambda *args, **kwargs: True")})
    out["tamper_traceback"] = _answers(release, {
        **RIGHT, "relu_answer": WRONG["relu_answer"] + (
            "\nimport builtins\n"
            "get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)\n"
            "builtins.AssertionError = type('AssertionError', (Exception,), {})")})
    for folder, answers in ATTACKS.items():
        base = {} if folder in ("attack_patch_libraries",) else {}
        if folder in ("attack_fork_daemon", "attack_memory_bomb", "attack_big_file", "attack_fork_bomb",
                      "attack_ignore_alarm"):
            base = dict(RIGHT)
        out[folder] = _answers(release, {**base, **answers})
    # a part's points raised in the metadata, and its test cell pasted twice
    nb = _answers(release, {"square_answer": RIGHT["square_answer"]})
    test = _cell(nb, "test_square")
    test.metadata["nbgrader"]["points"] = 100
    index = nb.cells.index(test)
    nb.cells[index + 1:index + 1] = [copy.deepcopy(test) for _ in range(2)]
    out["attack_points_beyond_max"] = nb
    # 100k cells (each is nothing, together they would hold a worker for long)
    # (written as JSON text: nbformat's validation of 100k cells would take the test a minute)
    data = json.loads(nbformat.writes(release))
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"}
    data["cells"] += [dict(cell, id=f"c{k}") for k in range(100_000)]
    out["attack_100k_cells"] = json.dumps(data)
    return out


def write_folder(dest: Path, release: nbformat.NotebookNode) -> Path:
    """``dest/<student>/tiny.ipynb`` for every student, plus a hidden ``.git`` folder."""
    dest.mkdir(parents=True, exist_ok=True)
    for folder, content in notebooks(release).items():
        student = dest / folder
        student.mkdir()
        # Jane also renamed her notebook, as students do
        name = "tiny (1).ipynb" if folder.startswith("Jane") else "tiny.ipynb"
        if content is None:
            (student / "README.txt").write_text("I forgot to attach my notebook.\n")
        elif isinstance(content, str):
            (student / name).write_text(content)
        else:
            nbformat.write(content, student / name)
    (dest / ".git").mkdir()
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return dest


def write_zip(archive: Path, folder: Path, *, evil: bool = True) -> Path:
    """Zip ``folder`` under a wrapping ``submissions/`` folder, plus entries that try to escape."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, "submissions/" + path.relative_to(folder).as_posix())
        if evil:
            zf.writestr("../evil.txt", "climbs out")
            zf.writestr("submissions/../../evil2.txt", "climbs out further")
            zf.writestr("/tmp/lstm_course_absolute_evil.txt", "absolute")
            link = zipfile.ZipInfo("submissions/linker/tiny.ipynb")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(link, "/etc/passwd")
    return archive


def release_notebook(tmp: Path) -> nbformat.NotebookNode:
    """The student version of ``tiny`` as nbgrader releases it (generated in a scratch course)."""
    from lstm_course.config import load_course_config, put_tools_on_path
    from lstm_course.scratch import build_template

    put_tools_on_path()
    template = build_template(load_course_config(COURSE), COURSE / "solutions" / ASSIGNMENT,
                              ASSIGNMENT, tmp / "release-course", 30)
    return nbformat.read(template.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


if __name__ == "__main__":   # python tests/grading_corpus/corpus.py DEST: write the corpus there
    import sys
    import tempfile

    target = Path(sys.argv[1])
    write_folder(target, release_notebook(Path(tempfile.mkdtemp())))
    print(json.dumps({k: list(v) for k, v in EXPECTED.items()}, indent=1))
    print(f"corpus written to {target}", file=sys.stderr)
