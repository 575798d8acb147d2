"""Following a growing file: whole lines only, across truncation, rotation and late creation."""

import os

from trainbar.events.watch import follow
from trainbar.events.watch.follow import Follower


def append(path, data: bytes):
    with open(path, "ab") as handle:
        handle.write(data)


def test_missing_file_is_waited_for(tmp_path):
    """Before the file exists a poll returns nothing; once it appears its lines come."""
    path = tmp_path / "run.jsonl"
    follower = Follower(str(path))
    assert follower.poll() == [] and not follower.exists
    append(path, b"one\n")
    assert follower.poll() == [b"one"] and follower.exists


def test_only_new_complete_lines_come_out(tmp_path):
    """Each poll returns the lines added since the last one, each once."""
    path = tmp_path / "run.jsonl"
    append(path, b"one\ntwo\n")
    follower = Follower(str(path))
    assert follower.poll() == [b"one", b"two"]
    assert follower.poll() == []
    append(path, b"three\n")
    assert follower.poll() == [b"three"]


def test_partial_last_line_waits_for_its_end(tmp_path):
    """Half a line is held back until its newline arrives, then comes out whole."""
    path = tmp_path / "run.jsonl"
    append(path, b'{"event": "op')
    follower = Follower(str(path))
    assert follower.poll() == []
    append(path, b'en"}\n{"ev')
    assert follower.poll() == [b'{"event": "open"}']
    append(path, b'ent": "close"}\n')
    assert follower.poll() == [b'{"event": "close"}']


def test_truncated_file_is_read_again_from_the_start(tmp_path):
    """A file cut shorter (copytruncate) is read from its start; the half line lost is counted."""
    path = tmp_path / "run.jsonl"
    append(path, b"one\ntwo\nhalf")
    follower = Follower(str(path))
    assert follower.poll() == [b"one", b"two"]
    with open(path, "wb") as handle:
        handle.write(b"new\n")
    assert follower.poll() == [b"new"]
    assert follower.dropped == 1


def test_rotated_file_is_finished_then_the_new_one_followed(tmp_path):
    """Renamed away and replaced: the old file's last lines, then the new file from its start."""
    path = tmp_path / "run.jsonl"
    append(path, b"one\n")
    follower = Follower(str(path))
    assert follower.poll() == [b"one"]
    append(path, b"two\n")
    os.rename(path, tmp_path / "run.jsonl.1")
    append(path, b"three\n")
    assert follower.poll() == [b"two", b"three"]
    append(path, b"four\n")
    assert follower.poll() == [b"four"]


def test_line_finished_in_the_rotated_file_is_not_lost(tmp_path):
    """A writer that finishes its line in the old file after the switch: the next poll still has it."""
    path = tmp_path / "run.jsonl"
    append(path, b"one\nhal")
    follower = Follower(str(path))
    assert follower.poll() == [b"one"]
    os.rename(path, tmp_path / "old.jsonl")
    append(path, b"new\n")
    assert follower.poll() == [b"new"]
    append(tmp_path / "old.jsonl", b"f\n")
    assert follower.poll() == [b"half"]
    assert follower.dropped == 0


def test_renamed_file_not_yet_replaced_is_still_read(tmp_path):
    """Between the rename and the new file, lines the writer adds to the old one still arrive."""
    path = tmp_path / "run.jsonl"
    append(path, b"one\n")
    follower = Follower(str(path))
    follower.poll()
    os.rename(path, tmp_path / "old.jsonl")
    append(tmp_path / "old.jsonl", b"two\n")
    assert follower.poll() == [b"two"]


def test_over_long_line_is_dropped_and_counted(tmp_path, monkeypatch):
    """A 'line' longer than the limit is not kept in memory: dropped whole, counted, the next one read."""
    monkeypatch.setattr(follow, "MAX_LINE", 10)
    monkeypatch.setattr(follow, "_CHUNK", 4)
    path = tmp_path / "run.jsonl"
    append(path, b"x" * 50 + b"\nok\n")
    follower = Follower(str(path))
    assert follower.poll() == [b"ok"]
    assert follower.dropped == 1
