"""``meadow recommend-offline`` on a synthetic log generated here (never the research data)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def write(path: Path, rows) -> str:
    path.write_text("".join("\t".join(str(c) for c in row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def log_files(tmp_path):
    """Three taste groups of 20 users over 30 items each, a follow graph inside the groups, item tags."""
    rng = random.Random(5)
    train, follows, tags = [], [], []
    for user in range(60):
        group = user // 20
        for item in range(group * 30, group * 30 + 30):
            if rng.random() < 0.4:
                train.append((f"user{user}", f"item{item}", rng.randint(1, 500), 0))
        for _ in range(3):
            friend = group * 20 + rng.randrange(20)
            if friend != user:
                follows.append((f"user{user}", f"user{friend}"))
    for item in range(90):
        tags.append((f"item{item}", f"tag{item // 30}"))
    return {
        "train": write(tmp_path / "train.tsv", train),
        "follows": write(tmp_path / "follows.tsv", follows),
        "item_tags": write(tmp_path / "tags.tsv", tags),
        "out": str(tmp_path / "run.tsv"),
        "rows": train,
    }


def read_run(path: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        user, item, position = line.split("\t")
        out.setdefault(user, []).append(item)
        assert int(position) == len(out[user])
    return out


def test_writes_top_k_unseen_items_per_user_from_the_users_group(log_files, capsys):
    call_command(
        "recommend-offline",
        train=log_files["train"],
        follows=log_files["follows"],
        item_tags=log_files["item_tags"],
        k=10,
        out=log_files["out"],
    )
    run = read_run(log_files["out"])
    assert len(run) == 60
    seen: dict[str, set[str]] = {}
    for user, item, _, _ in log_files["rows"]:
        seen.setdefault(user, set()).add(item)
    in_group = total = 0
    for user, items in run.items():
        assert len(items) == 10 and len(set(items)) == 10
        assert not seen[user] & set(items)
        group = int(user[4:]) // 20
        in_group += sum(group * 30 <= int(i[4:]) < group * 30 + 30 for i in items)
        total += len(items)
    assert in_group / total > 0.9
    assert "Wrote top-10 recommendations for 60 users" in capsys.readouterr().out


def test_train_only_without_progress_bar(log_files):
    call_command("recommend-offline", train=log_files["train"], k=3, out=log_files["out"], no_progress=True)
    run = read_run(log_files["out"])
    assert len(run) == 60 and all(len(items) == 3 for items in run.values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("u1\ti1\t1\t0\nu2\n", "line 2: expected 2 to 4 tab-separated columns, found 1"),
        ("u1\ti1\tmany\t0\n", "line 1: weight 'many' is not a number"),
        ("u1\ti1\tnan\t0\n", "line 1: weight 'nan' is not finite"),
        ("u1\ti1\t1\tyesterday\n", "line 1: timestamp 'yesterday' is not a number"),
        ("u1\t\t1\t0\n", "line 1: empty user or item id"),
        ("\n\n", "no interactions"),
    ],
)
def test_malformed_train_file_is_a_clear_error(tmp_path, content, message):
    train = tmp_path / "train.tsv"
    train.write_text(content, encoding="utf-8")
    out = tmp_path / "run.tsv"
    with pytest.raises(CommandError, match=message):
        call_command("recommend-offline", train=str(train), k=5, out=str(out), no_progress=True)
    assert not out.exists()


def test_malformed_or_missing_side_files_and_bad_k(log_files, tmp_path):
    bad = tmp_path / "follows.tsv"
    bad.write_text("a\tb\na\tb\tc\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"follows.tsv, line 2: expected 2 tab-separated columns"):
        call_command(
            "recommend-offline",
            train=log_files["train"],
            follows=str(bad),
            out=log_files["out"],
            no_progress=True,
        )
    with pytest.raises(CommandError, match="cannot open"):
        call_command(
            "recommend-offline", train=str(tmp_path / "missing.tsv"), out=log_files["out"], no_progress=True
        )
    binary = tmp_path / "tags.tsv"
    binary.write_bytes(b"\xff\xfe\x00bad\n")
    with pytest.raises(CommandError, match="not valid UTF-8"):
        call_command(
            "recommend-offline",
            train=log_files["train"],
            item_tags=str(binary),
            out=log_files["out"],
            no_progress=True,
        )
    with pytest.raises(CommandError, match="--k must be at least 1"):
        call_command(
            "recommend-offline", train=log_files["train"], k=0, out=log_files["out"], no_progress=True
        )
