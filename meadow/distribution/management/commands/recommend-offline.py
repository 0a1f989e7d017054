"""``meadow recommend-offline``: the Discover ranker's candidate generation and scoring on an external log.

    meadow recommend-offline --train train.tsv [--follows follows.tsv] [--item-tags item_tags.tsv] \\
        --k 20 --out run.tsv

Runs :func:`meadow.distribution.engine.offline.run_files` — the same candidate sources and ``rank()`` as the
Discover feed — and writes the top-k unseen items per user as ``user<TAB>item<TAB>rank``.
"""

from __future__ import annotations

import functools

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Recommend the top-k unseen items per user from an interaction log (user, item, weight, timestamp TSV) "
        "with the Discover ranker; writes user<TAB>item<TAB>rank."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--train", required=True, help="user<TAB>item<TAB>weight<TAB>timestamp, no header."
        )
        parser.add_argument("--follows", help="follower<TAB>followee, no header (optional).")
        parser.add_argument("--item-tags", dest="item_tags", help="item<TAB>tag, no header (optional).")
        parser.add_argument("--k", type=int, default=20, help="Items per user (default 20).")
        parser.add_argument("--out", required=True, help="Output file (user<TAB>item<TAB>rank).")
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar (for logs and tests)."
        )

    def handle(self, *args, train: str, out: str, follows=None, item_tags=None, k: int = 20, **options):
        from meadow.distribution.engine.offline import OfflineInputError, load_files, run_files

        if k < 1:
            raise CommandError("--k must be at least 1.")
        tuned: list[str] = []

        def on_tuned(config) -> None:
            tuned.append(
                f"Ranker weights tuned on a held-out 20 % of the log: popular {config.popular_weight}, "
                f"popularity {config.popularity_weight}, follow {config.follow_weight}, "
                f"interest {config.interest_source_weight} (match {config.interest_match_weight})."
            )

        try:
            loaded = load_files(train=train, follows=follows, item_tags=item_tags)
            run = functools.partial(
                run_files,
                train=train,
                follows=follows,
                item_tags=item_tags,
                k=k,
                out=out,
                on_tuned=on_tuned,
                loaded=loaded,
            )
            if options.get("no_progress"):
                users = run()
            else:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

                with Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=None,
                ) as progress:
                    task = progress.add_task("Training", total=None)
                    users = run(
                        on_start=lambda n: progress.update(task, description="Recommending", total=n),
                        progress=lambda n: progress.advance(task, n),
                    )
        except OfflineInputError as exc:
            raise CommandError(str(exc)) from None
        except MemoryError:
            raise CommandError("Out of memory: the interaction log is too large for this machine.") from None
        for line in tuned:
            self.stdout.write(line)
        self.stdout.write(f"Wrote top-{k} recommendations for {users} users to {out}.")
