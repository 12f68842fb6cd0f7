"""The command line's promises: a bad --config, --out or --query exits with status 2 and one line on stderr
naming it, before anything trains; the export is written atomically, so a failure leaves no partial files and
an earlier export intact; an existing folder is replaced only when it holds an earlier export, and whole."""
import contextlib
import errno
import io
import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core import ExperimentConfig, export
from core import __main__ as cli
from core import experiment
from core.config import FIELDS

ROOT = Path(__file__).resolve().parents[1]
# small and quick; moons (2-D) also writes boundaries.csv, regression does not
SMALL = "n_samples=60&schemes=zeros&schemes=he_normal&seeds=1&depth=1&width=2&epochs=2&record_epochs=2"
MOONS = SMALL + "&dataset=moons"
REGRESSION = SMALL + "&dataset=regression"
ALLOWED_OUT = "allowed: a new or empty folder, or the folder of an earlier initlab export"


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if anything starts to train."""
    def trained(*a, **k):
        raise AssertionError("training started")
    monkeypatch.setattr(cli, "run", trained)
    monkeypatch.setattr(experiment, "run", trained)
    monkeypatch.setattr(experiment, "train", trained)


def main(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str):
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def export_into(out: Path, query: str = MOONS) -> dict[str, bytes]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["--query", query, "--out", str(out), "--quiet"]) == 0
    return snapshot(out)


# ---- --config ---------------------------------------------------------------------------------------------

CONFIG_CASES = {  # file contents -> what the message must say
    "list": (b"[1, 2]", "is a JSON array"),
    "number": (b"3", "is a JSON number"),
    "string": (b'"dataset=moons"', "is a JSON string"),
    "null": (b"null", "is JSON null"),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects too deeply"),
    "deep nesting inside": (b'{"schemes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "too deeply"),
    "invalid UTF-8": (b'{"dataset": "moons\xff"}', "not UTF-8 text (byte 0xff at position 18)"),
    "invalid UTF-8 after a BOM": (b'\xef\xbb\xbf{"dataset": "\xe9"}', "(byte 0xe9 at position 16)"),
    "not JSON": (b'{"lr": 0.1,}', "not valid JSON"),
    "empty": (b"", "not valid JSON"),
    "config not an object": (b'{"run_id": "x", "config": [1, 2]}', 'its "config" is a JSON array'),
    "config a string": (b'{"config": "dataset=moons"}', 'its "config" is a JSON string'),
    "repeated key": (b'{"lr": 0.1, "lr": 0.2}', "lr: given twice"),
    "NaN": (b'{"lr": NaN}', "lr: got nan"),
    "Infinity": (b'{"config": {"epochs": Infinity}}', "epochs: got inf"),
    "-Infinity": (b'{"noise": -Infinity}', "noise: got -inf"),
    "huge number": (b'{"lr": 1e999}', "lr: got inf"),
    "5000-digit integer": (b'{"epochs": ' + b"9" * 5000 + b"}", "epochs: got inf"),
    "301-digit integer": (b'{"depth": ' + b"9" * 301 + b"}", "depth: got 1e+301"),
    "number as text": (b'{"epochs": "1_0"}', "epochs: got '1_0'"),
    "full-width digits": ('{"epochs": "１０"}'.encode(), "epochs: got '１０'"),
    "unknown key": (b'{"epoch_count": 10}', "epoch_count: unknown parameter"),
    "too large": (b'{"dataset": "' + b" " * (1 << 20) + b'"}', "larger than 1 MiB"),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_a_bad_config_file_exits_2_with_one_line_before_training(case, tmp_path, capsys, no_training):
    content, says = CONFIG_CASES[case]
    path = tmp_path / "config.json"
    path.write_bytes(content)
    code, out, err = main(capsys, "--config", path, "--out", tmp_path / "o")
    assert code == 2 and out == ""
    assert_one_line_error(err, f"--config {path}: ", says, "allowed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no --out, nothing beside it


def test_a_missing_config_file_or_a_folder_is_named(tmp_path, capsys, no_training):
    code, _, err = main(capsys, "--config", tmp_path / "nope.json", "--out", tmp_path / "o")
    assert code == 2
    assert_one_line_error(err, f"--config {tmp_path / 'nope.json'}: no such file; allowed")
    code, _, err = main(capsys, "--config", tmp_path, "--out", tmp_path / "o")
    assert code == 2
    assert_one_line_error(err, f"--config {tmp_path}: is a folder; allowed")
    assert not (tmp_path / "o").exists()


def test_a_config_file_that_cannot_be_read_is_named(tmp_path, capsys, no_training):
    # chmod does not stop root, so: a socket, which no one can open as a file, and a file of mode 000
    # read by a process that is not root
    sock_path = tmp_path / "config.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        code, _, err = main(capsys, "--config", sock_path, "--out", tmp_path / "o")
    assert code == 2
    assert_one_line_error(err, f"--config {sock_path}: is not a regular file", "allowed")

    folder = Path(tempfile.mkdtemp())  # outside pytest's owner-only tmp folders, so only the mode stops it
    try:
        folder.chmod(0o755)
        locked = folder / "config.json"
        locked.write_text("{}")
        locked.chmod(0)
        code, err = _main_as_nobody(["--config", str(locked), "--out", str(folder / "o")])
    finally:
        shutil.rmtree(folder)
    assert code == 2
    assert_one_line_error(err, f"--config {locked}: cannot be read (Permission denied)", "allowed")


def _main_as_nobody(argv) -> tuple[int, str]:
    """cli.main(argv) in a forked child that gave up root (when it had it): (exit code, stderr)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            sys.stderr = io.StringIO()
            code = cli.main(argv)
            os.write(write_end, f"{code}\n{sys.stderr.getvalue()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    # a child forked from a process with threads could hang on a lock one of them held: never wait forever
    if not select.select([read_end], [], [], 120)[0]:
        os.kill(pid, signal.SIGKILL)
    with os.fdopen(read_end, "rb") as f:
        data = f.read().decode()
    os.waitpid(pid, 0)
    assert data, "the child process ended without an answer"
    code, _, err = data.partition("\n")
    return int(code), err


def test_an_export_s_config_json_reruns_the_same_configuration(tmp_path, capsys):
    export_into(tmp_path / "a", MOONS)
    code, _, _ = main(capsys, "--config", tmp_path / "a" / "config.json", "--out", tmp_path / "b", "--quiet")
    assert code == 0
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    # and a bare object of fields, with a byte-order mark as some editors write
    fields = json.loads((tmp_path / "a" / "config.json").read_text())["config"]
    (tmp_path / "bare.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(fields).encode())
    code, _, _ = main(capsys, "--config", tmp_path / "bare.json", "--out", tmp_path / "c", "--quiet")
    assert code == 0 and snapshot(tmp_path / "a") == snapshot(tmp_path / "c")


# ---- --query: numbers in plain ASCII digits only -----------------------------------------------------------

@pytest.mark.parametrize("query,field,shown", [
    ("epochs=1_0", "epochs", "'1_0'"), ("epochs=１０", "epochs", "'１０'"), ("epochs=١٠", "epochs", "'١٠'"),
    ("lr=nan", "lr", "'nan'"), ("lr=inf", "lr", "'inf'"), ("lr=Infinity", "lr", "'Infinity'"),
    ("lr=%200.1", "lr", "' 0.1'"), ("lr=0x1", "lr", "'0x1'"), ("schemes=normal:std=1_0", "schemes", "1_0"),
    ("epochs=10&epochs=20", "epochs", "given 2 times"), ("schemes=he_normal%0Azeros", "schemes", "\\n"),
])
def test_a_bad_query_value_exits_2_naming_the_field(query, field, shown, tmp_path, capsys, no_training):
    code, _, err = main(capsys, "--query", query, "--out", tmp_path / "o")
    assert code == 2
    assert_one_line_error(err, f"error: {field}: ", shown, "allowed")
    assert not (tmp_path / "o").exists()


def test_plain_numbers_in_scientific_notation_are_accepted(tmp_path, capsys):
    code, _, err = main(capsys, "--query", MOONS + "&lr=1e-1&momentum=9.0E-1&noise=.2", "--out", tmp_path / "o",
                        "--quiet")
    assert code == 0, err
    config = json.loads((tmp_path / "o" / "config.json").read_text())["config"]
    assert (config["lr"], config["momentum"], config["noise"]) == (0.1, 0.9, 0.2)


@pytest.mark.parametrize("argv,says", [
    (["--query", "dataset=moons"], "the following arguments are required: --out"),
    (["--query", "x=1", "--config", "c.json", "--out", "o"], "not allowed with argument"),
    (["--out", "o", "--epochs", "3"], "unrecognized arguments: --epochs 3"),
])
def test_a_malformed_command_line_is_one_line_too(argv, says, capsys, no_training):
    code, _, err = main(capsys, *argv)
    assert code == 2
    assert_one_line_error(err, says, "python -m core --help")


# ---- --out --------------------------------------------------------------------------------------------------

def test_out_at_an_existing_file_is_refused_before_training(tmp_path, capsys, no_training):
    (tmp_path / "results.csv").write_text("mine")
    code, _, err = main(capsys, "--query", MOONS, "--out", tmp_path / "results.csv")
    assert code == 2
    assert_one_line_error(err, f"--out {tmp_path / 'results.csv'}: is a file; {ALLOWED_OUT}")
    assert (tmp_path / "results.csv").read_text() == "mine"


def test_out_under_a_file_is_refused_before_training(tmp_path, capsys, no_training):
    (tmp_path / "file").write_text("mine")
    code, _, err = main(capsys, "--query", MOONS, "--out", tmp_path / "file" / "deeper" / "o")
    assert code == 2
    assert_one_line_error(err, f"is under {tmp_path / 'file'}, which is not a folder; {ALLOWED_OUT}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_out_where_nothing_can_be_written_is_refused_before_training(tmp_path, capsys, no_training):
    # /sys refuses new folders to everyone, root included (chmod would not stop root)
    code, _, err = main(capsys, "--query", MOONS, "--out", "/sys/initlab-results")
    assert code == 2
    assert_one_line_error(err, "--out /sys/initlab-results: cannot be written (", ALLOWED_OUT)


def test_out_at_a_folder_of_other_files_is_refused_and_left_alone(tmp_path, capsys, no_training):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("mine")
    code, _, err = main(capsys, "--query", MOONS, "--out", tmp_path / "thesis")
    assert code == 2
    assert_one_line_error(err, "is a folder that holds files other than an initlab export", ALLOWED_OUT)
    assert snapshot(tmp_path / "thesis") == {"chapter1.tex": b"mine"}


def test_an_export_with_a_file_added_is_no_longer_an_export(tmp_path, capsys):
    before = export_into(tmp_path / "o")
    (tmp_path / "o" / "notes.txt").write_text("mine")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "run", lambda *a, **k: pytest.fail("trained"))
        code, _, err = main(capsys, "--query", REGRESSION, "--out", tmp_path / "o")
    assert code == 2 and "holds files other than an initlab export" in err
    assert snapshot(tmp_path / "o") == {**before, "notes.txt": b"mine"}


@pytest.mark.parametrize("change", ["no run_id", "a subfolder", "a frame named with a path", "not JSON"])
def test_earlier_export_recognises_only_an_export(change, tmp_path):
    export_into(tmp_path / "o")
    assert export.earlier_export(tmp_path / "o")["run_id"]
    meta_path = tmp_path / "o" / "config.json"
    meta = json.loads(meta_path.read_text())
    if change == "no run_id":
        del meta["run_id"]
    elif change == "a subfolder":
        (tmp_path / "o" / "data").mkdir()
    elif change == "a frame named with a path":
        meta["frames"].append("../elsewhere")
    meta_path.write_text(json.dumps(meta) if change != "not JSON" else "{")
    assert export.earlier_export(tmp_path / "o") is None


# ---- process level: exit status, stderr, nothing trained ---------------------------------------------------

REFUSE_TO_TRAIN = """
import sys
import core.experiment as experiment
def trained(*args, **kwargs):
    sys.stderr.write("TRAINED\\n")
    sys.exit(99)
experiment.run = experiment.train = trained
from core.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_the_issue_s_inputs_exit_2_in_a_real_process_with_one_line_and_no_traceback(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "file").write_text("mine")
    cases = {"config list": ["--config", tmp_path / "list.json", "--out", tmp_path / "o"],
             "config deep": ["--config", tmp_path / "deep.json", "--out", tmp_path / "o"],
             "config missing": ["--config", tmp_path / "nope.json", "--out", tmp_path / "o"],
             "config folder": ["--config", tmp_path, "--out", tmp_path / "o"],
             "out file": ["--query", MOONS, "--out", tmp_path / "file"],
             "out unwritable": ["--query", MOONS, "--out", "/sys/initlab-results"]}
    # all at once: each process spends its time importing NumPy, pandas and scikit-learn
    procs = {case: subprocess.Popen([sys.executable, "-c", REFUSE_TO_TRAIN, *map(str, argv)], cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
             for case, argv in cases.items()}
    for case, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, (case, err)
        assert_one_line_error(err, "allowed")
        assert out == "", case
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.json", "file", "list.json"]


# ---- writing: atomic, whole, and only over an earlier export ------------------------------------------------

def test_an_earlier_export_is_replaced_whole_and_said_so(tmp_path, capsys):
    export_into(tmp_path / "o", MOONS)
    old_id = json.loads((tmp_path / "o" / "config.json").read_text())["run_id"]
    assert (tmp_path / "o" / "boundaries.csv").exists()
    code, out, err = main(capsys, "--query", REGRESSION, "--out", tmp_path / "o", "--quiet")
    assert code == 0
    assert err == f"note: replaced the earlier export in {tmp_path / 'o'} (run_id {old_id})\n"
    fresh = export_into(tmp_path / "fresh", REGRESSION)
    assert snapshot(tmp_path / "o") == fresh  # no boundaries.csv left from the moons run
    assert sorted(out.split()) == sorted(str(tmp_path / "o" / name) for name in fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "o"]  # nothing left beside it


def test_an_export_reruns_into_its_own_folder(tmp_path, capsys):
    """The README's rerun, in place: --config o/config.json --out o reads the file before replacing o."""
    before = export_into(tmp_path / "o", MOONS)
    code, _, err = main(capsys, "--config", tmp_path / "o" / "config.json", "--out", tmp_path / "o", "--quiet")
    assert code == 0 and err.startswith("note: replaced the earlier export in ")
    assert snapshot(tmp_path / "o") == before  # same configuration, same bytes
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_an_empty_folder_is_used_with_the_permissions_of_a_new_one(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "reference").mkdir()
    code, _, err = main(capsys, "--query", MOONS, "--out", tmp_path / "empty", "--quiet")
    assert code == 0 and err == ""
    assert stat.S_IMODE((tmp_path / "empty").stat().st_mode) == stat.S_IMODE((tmp_path / "reference").stat().st_mode)
    assert (tmp_path / "empty" / "config.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "reference"]


def _failing_writer(monkeypatch, fail_at: int, error: BaseException):
    """export._write_file that writes half of file number ``fail_at`` (counting from 1) and then raises,
    as a full disk does."""
    real, count = export._write_file, [0]

    def write(path, data):
        count[0] += 1
        if count[0] == fail_at:
            path.write_bytes(data[:len(data) // 2])
            raise error
        real(path, data)
    monkeypatch.setattr(export, "_write_file", write)


@pytest.mark.parametrize("fail_at", [1, 5, 12])  # config.json, a CSV, weights.npz (the last)
def test_a_full_disk_leaves_no_partial_files_and_the_earlier_export_intact(fail_at, tmp_path, capsys,
                                                                          monkeypatch):
    before = export_into(tmp_path / "o", MOONS)
    assert len(before) == 12
    _failing_writer(monkeypatch, fail_at, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    code, out, err = main(capsys, "--query", MOONS + "&lr=0.05", "--out", tmp_path / "o", "--quiet")
    assert code == 1 and out == ""
    assert_one_line_error(err, f"--out {tmp_path / 'o'}: could not write the export (No space left on device)",
                          "nothing was changed there")
    assert snapshot(tmp_path / "o") == before
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_a_full_disk_on_a_new_path_leaves_nothing_not_even_its_parents(tmp_path, capsys, monkeypatch):
    _failing_writer(monkeypatch, 3, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    code, _, err = main(capsys, "--query", MOONS, "--out", tmp_path / "new" / "deeper" / "o", "--quiet")
    assert code == 1 and "No space left on device" in err
    assert list(tmp_path.iterdir()) == []


def test_a_parent_folder_that_cannot_be_made_leaves_none_of_the_others(tmp_path, capsys, monkeypatch):
    real_mkdir, made = Path.mkdir, []

    def mkdir(self, *a, **k):  # the second missing parent fails, as on a disk out of inodes
        if self.name.startswith("."):  # check_target's probe and the hidden working folders
            return real_mkdir(self, *a, **k)
        if len(made) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        made.append(self)
        real_mkdir(self, *a, **k)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    code, _, err = main(capsys, "--query", MOONS, "--out", tmp_path / "a" / "b" / "o", "--quiet")
    assert code == 1 and "No space left on device" in err
    assert made == [tmp_path / "a"] and list(tmp_path.iterdir()) == []


def test_an_interrupt_while_writing_leaves_nothing(tmp_path, capsys, monkeypatch):
    before = export_into(tmp_path / "o", MOONS)
    _failing_writer(monkeypatch, 4, KeyboardInterrupt())
    code, out, err = main(capsys, "--query", REGRESSION, "--out", tmp_path / "o", "--quiet")
    assert code == 130 and out == "" and err.strip() == "error: interrupted; nothing was written"
    assert snapshot(tmp_path / "o") == before and [p.name for p in tmp_path.iterdir()] == ["o"]


def test_a_failed_swap_puts_the_earlier_export_back(tmp_path, capsys, monkeypatch):
    before = export_into(tmp_path / "o", MOONS)
    real_rename, calls = os.rename, []

    def rename(src, dst):  # the earlier export moves aside; the new one then fails to move in
        calls.append((Path(src).name, Path(dst).name))
        if Path(src).name.endswith(".partial"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_rename(src, dst)
    monkeypatch.setattr(export.os, "rename", rename)
    code, _, err = main(capsys, "--query", REGRESSION, "--out", tmp_path / "o", "--quiet")
    assert code == 1 and "Input/output error" in err
    (out_, aside), (partial, _), back = calls  # the earlier export moved aside, the new one failed, put back
    assert out_ == "o" and partial.endswith(".partial") and back == (aside, "o")
    assert snapshot(tmp_path / "o") == before and [p.name for p in tmp_path.iterdir()] == ["o"]


def test_a_real_full_disk_leaves_the_earlier_export_intact(tmp_path, capsys):
    """The same on a real, tiny tmpfs (root only): the kernel's ENOSPC, a truly truncated file."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the test above simulates it")
    try:
        before = export_into(mount / "o", REGRESSION)
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * (free - 16384))  # leaves 16 KB: less than histograms.csv
        code, out, err = main(capsys, "--query", REGRESSION + "&lr=0.05", "--out", mount / "o", "--quiet")
        assert code == 1 and out == ""
        assert_one_line_error(err, "could not write the export (No space left on device)")
        assert snapshot(mount / "o") == before
        assert sorted(p.name for p in mount.iterdir()) == ["filler", "o"]
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_the_progress_bar_goes_to_stderr_and_the_paths_to_stdout(tmp_path, capsys):
    code, out, err = main(capsys, "--query", MOONS, "--out", tmp_path / "o")
    assert code == 0
    assert err.startswith("\r[") and err.endswith("s\n") and err.count("\n") == 1
    assert err.rsplit("\r", 1)[1].startswith("[" + "#" * 30 + "] epoch 2/2 ")
    assert sorted(out.split()) == sorted(str(p) for p in (tmp_path / "o").iterdir())


# ---- the JSON parser, on any input --------------------------------------------------------------------------

def _is_named_error(e: ValueError):
    text = cli.one_line(str(e))
    assert "allowed" in text and "\n" not in text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_any_bytes_give_a_configuration_or_a_named_error(raw):
    try:
        assert isinstance(cli.config_from_json_bytes(raw), ExperimentConfig)
    except ValueError as e:
        _is_named_error(e)


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
_fields = st.dictionaries(st.sampled_from([*FIELDS, "v", "lang", "bogus"]), _json, max_size=4)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fields | st.fixed_dictionaries({"run_id": st.text(max_size=5), "config": _fields | _json}) | _json)
@example({"schemes": 5})
@example({"width": None})
@example({"v": []})
@pytest.mark.slow
def test_any_json_gives_a_configuration_or_a_named_error(document):
    raw = json.dumps(document).encode()
    try:
        assert isinstance(cli.config_from_json_bytes(raw), ExperimentConfig)
    except ValueError as e:
        _is_named_error(e)


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_one_line_makes_any_message_one_printable_line(message):
    line = cli.one_line(message)
    assert len(line.splitlines()) <= 1 and len(line) <= cli.MAX_MESSAGE + 3
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in line)
    line.encode("utf-8")  # no lone surrogate left: any UTF-8 terminal can show it
    if len(message) <= 100 and message.isprintable():
        assert line == message


def test_one_line_shows_what_it_escapes():
    assert cli.one_line("a\nb\x1b[31m\u202ec\udcff") == "a\\nb\\x1b[31m\\u202ec\\xff"


def test_the_zip_download_holds_the_same_files_as_a_folder_export(tmp_path):
    import zipfile
    results = experiment.run(ExperimentConfig.from_query(MOONS))
    with zipfile.ZipFile(io.BytesIO(export.zip_bytes(results))) as zf:
        zipped = {name: zf.read(name) for name in zf.namelist()}
    assert zipped == export_into(tmp_path / "o", MOONS)


# ---- files that are not files, signals, and the sweep's command line (issue 26) ----------------------------

SWEEP_QUERY = ("schemes=he_normal&seeds=2&epochs=4&n_samples=120&width=6&activation=relu&record_epochs=3"
               "&sweep_x=sigma_w&sweep_x_values=0.7,1.4&sweep_y=depth&sweep_y_values=1,2")


def sweep(capsys, *argv) -> tuple[int, str, str]:
    return main(capsys, "sweep", *argv)


@contextlib.contextmanager
def unblocked(fifo: Path, after_s: float = 5.0):
    """Opens ``fifo`` for writing after ``after_s`` (and closes it): a command that wrongly opened it for
    reading then gets an empty file and fails the test, where it would otherwise hang it."""
    import threading

    def writer():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:  # no reader: nothing was blocked
            pass
    timer = threading.Timer(after_s, writer)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_fifo_or_a_device_as_config_is_refused_without_reading_it(command, tmp_path, capsys, no_training):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    prefix = ["sweep"] if command == "sweep" else []
    for path in (fifo, Path("/dev/zero")):
        with unblocked(fifo):
            code, out, err = main(capsys, *prefix, "--config", path, "--out", tmp_path / "o")
        assert code == 2 and out == ""
        assert_one_line_error(err, f"--config {path}: is not a regular file", "allowed")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("content, says", [(b"[1, 2]", "is not a JSON object"),
                                           (b'{"sweep": 3}', '"sweep" is not a JSON object'),
                                           (b'{"sweep": {"base": "\xff"}}', "not UTF-8 text (byte 0xff"),
                                           (b"{", "not valid JSON")])
def test_a_sweep_json_that_is_not_an_object_or_not_utf8_is_named(content, says, tmp_path, capsys):
    path = tmp_path / "sweep.json"
    path.write_bytes(content)
    code, out, err = sweep(capsys, "--config", path, "--out", tmp_path / "o")
    assert code == 2 and out == ""
    assert_one_line_error(err, f"--config {path}: ", says)
    assert not (tmp_path / "o").exists()


def test_sweep_out_at_an_existing_file_is_one_line_and_the_file_is_left(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    code, out, err = sweep(capsys, "--query", SWEEP_QUERY, "--out", tmp_path / "file", "--quiet")
    assert code == 2 and out == ""
    assert_one_line_error(err, f"--out {tmp_path / 'file'}: is a file", "allowed")
    assert (tmp_path / "file").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_sweep_out_on_a_read_only_file_system_is_one_line_before_training(tmp_path, capsys):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        code, out, err = sweep(capsys, "--query", SWEEP_QUERY, "--out", ro / "sweep", "--quiet")
        assert code == 2 and out == ""
        assert_one_line_error(err, f"--out {ro / 'sweep'}: cannot be written (Read-only file system)")
        assert list(ro.iterdir()) == []


def test_a_sweep_on_a_full_disk_leaves_neither_csv_nor_json(tmp_path, capsys, monkeypatch):
    code, _, _ = sweep(capsys, "--query", SWEEP_QUERY, "--out", tmp_path / "o", "--quiet")
    assert code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir() if p.is_file()}
    real_write = export._write_file

    def full(path, data):  # sweep.csv's temporary file is written, sweep.json's finds the disk full
        if "sweep.json" in path.name:
            with open(path, "xb") as f:
                f.write(data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, data)
    monkeypatch.setattr(export, "_write_file", full)
    # another sweep into the same folder (more epochs): new tasks, and new sweep.csv and sweep.json to write
    code, out, err = sweep(capsys, "--query", SWEEP_QUERY.replace("epochs=4", "epochs=5"), "--out", tmp_path / "o",
                           "--quiet")
    assert code == 1 and out == ""
    assert_one_line_error(err, f"--out {tmp_path / 'o'}: could not write (No space left on device)")
    after = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir() if p.is_file()}
    assert after == before  # the earlier sweep.csv and sweep.json, whole; no temporary file left


def _sweep_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "tasks").iterdir()}


@pytest.mark.parametrize("tamper", ["edited", "duplicated", "foreign", "no header"])
def test_a_tampered_task_file_is_retrained_with_a_warning(tamper, tmp_path, capsys):
    assert sweep(capsys, "--query", SWEEP_QUERY, "--out", tmp_path / "o", "--quiet")[0] == 0
    csv = (tmp_path / "o" / "sweep.csv").read_bytes()
    tasks = sorted((tmp_path / "o" / "tasks").iterdir())
    victim = tasks[0]
    head, body = victim.read_text().split("\n", 1)
    lines = body.splitlines()
    if tamper == "edited":  # test accuracy 0.999 and a formula as status, as the issue's file had
        cells = lines[1].split(",")
        cells[6], cells[9] = "0.999", "=HYPERLINK(1)"
        body = "\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n"
        victim.write_text(head + "\n" + body)
    elif tamper == "duplicated":  # a row twice, with a checksum that matches it
        import hashlib
        body = "\n".join([*lines, lines[1]]) + "\n"
        head = head.rsplit("=", 1)[0] + "=" + hashlib.sha256(body.encode()).hexdigest()
        victim.write_text(head + "\n" + body)
    elif tamper == "foreign":  # another task's file under this task's name
        victim.write_bytes(tasks[1].read_bytes())
    else:
        victim.write_text(body)
    code, out, err = sweep(capsys, "--query", SWEEP_QUERY, "--out", tmp_path / "o", "--quiet")
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(victim) in warnings[0] and "training this task again" in warnings[0]
    assert "1 tasks trained" in err
    assert (tmp_path / "o" / "sweep.csv").read_bytes() == csv


def _children_gone(children) -> bool:
    import psutil
    return not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("argv, sig", [
    (["--query", "depth=4&width=128&epochs=300&seeds=2&n_samples=1000", "--quiet"], signal.SIGTERM),
    (["sweep", "--query", "sweep_x=sigma_w&sweep_x_values=0.5,1,2,3&sweep_y=depth&sweep_y_values=2,4,6,8"
      "&epochs=300&n_samples=1000&width=64", "--workers", "2", "--quiet"], signal.SIGTERM),
    (["--query", "depth=4&width=128&epochs=300&seeds=2&n_samples=1000", "--quiet"], signal.SIGHUP),
], ids=["run SIGTERM", "sweep SIGTERM", "run SIGHUP"])
def test_sigterm_and_sighup_end_the_workers_as_ctrl_c_does(argv, sig, tmp_path):
    import psutil
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "core", *argv, "--out", str(out)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    me = psutil.Process(proc.pid)
    for _ in range(600):  # its worker processes started (the run's loky pool, the sweep's)
        children = me.children(recursive=True)
        if len(children) >= 2:
            break
        select.select([], [], [], 0.1)
    assert len(children) >= 2
    # at once, while the pool may still be starting its workers (core.runtime.workers holds the signal until
    # each has its start-up data: a worker left with half of it printed loky's traceback on the shared stdout)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and stdout == "" and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith(("error: interrupted", "interrupted:"))
    for _ in range(100):
        if _children_gone(children):
            break
        select.select([], [], [], 0.1)
    assert _children_gone(children)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no .partial folder
    assert not (out / "sweep.csv").exists() and not (out / "config.json").exists()


def test_sigterm_while_writing_the_export_leaves_nothing(tmp_path, capsys, monkeypatch):
    before = export_into(tmp_path / "o", MOONS)
    real_write, written = export._write_file, []

    def write_then_terminated(path, data):
        real_write(path, data)
        written.append(path)
        if len(written) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(export, "_write_file", write_then_terminated)
    code, out, err = main(capsys, "--query", REGRESSION, "--out", tmp_path / "o", "--quiet")
    assert code == 130 and out == "" and err.strip() == "error: interrupted; nothing was written"
    assert len(written) == 3 and snapshot(tmp_path / "o") == before and [p.name for p in tmp_path.iterdir()] == ["o"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # given back


def test_a_sweep_on_a_real_full_disk_leaves_the_earlier_files_whole(tmp_path, capsys):
    """The same on a real, tiny tmpfs (root only): the kernel's ENOSPC, whichever write meets it first."""
    with tmpfs(tmp_path / "disk", "size=1m") as disk:
        assert sweep(capsys, "--query", SWEEP_QUERY, "--out", disk / "o", "--quiet")[0] == 0
        before = {p.name: p.read_bytes() for p in (disk / "o").iterdir() if p.is_file()}
        tasks = sorted(p.name for p in (disk / "o" / "tasks").iterdir())
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"\0" * (free - 4096))
        code, out, err = sweep(capsys, "--query", SWEEP_QUERY.replace("epochs=4", "epochs=5"), "--out", disk / "o",
                               "--quiet")
        assert code == 1 and out == ""
        assert_one_line_error(err, f"--out {disk / 'o'}: could not write (No space left on device)")
        assert {p.name: p.read_bytes() for p in (disk / "o").iterdir() if p.is_file()} == before
        left = sorted(p.name for p in (disk / "o" / "tasks").iterdir())
        assert set(tasks) <= set(left) and not [n for n in left if n.startswith(".")]  # no temporary file
