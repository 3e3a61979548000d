"""manage.py verify [--collection NAME] [--repair] [--json] [--stuck-after S]: are index, disk and database in step?

Exits 1 while anything is inconsistent (after --repair: while anything still is), so it can run from
cron or a health check. The logic is apps/search/consistency.py.
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.media.access import LOCAL_OPERATOR
from apps.media.services.collections import UnknownCollectionError, resolve_collection
from apps.search import consistency


class Command(BaseCommand):
    help = ("Compare each collection's vector index and files with the database: missing and orphaned vectors, "
            "stuck items, stray files. Exits 1 when anything is inconsistent; --repair fixes it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", help="only this collection (name or id); default: all, and what "
                            "deleted collections and items left behind")
        parser.add_argument("--repair", action="store_true", help="drop orphan vectors, re-ingest items with "
                            "missing vectors and stuck items, delete stray files; then check again")
        parser.add_argument("--json", action="store_true", help="print a machine-readable report")
        parser.add_argument("--stuck-after", type=float, default=consistency.DEFAULT_STUCK_AFTER_S, metavar="S",
                            help="an unfinished item untouched this many seconds, with no ingest running, is stuck; "
                            "stray upload and media files must be this old too (default %(default)s)")

    def handle(self, *args, collection: str | None, repair: bool, stuck_after: float, **options) -> None:
        try:
            target = resolve_collection(collection, LOCAL_OPERATOR) if collection else None
        except UnknownCollectionError as exc:
            raise CommandError(str(exc)) from exc
        report = consistency.verify(target, stuck_after)
        fixed = after = None
        if repair and not report.ok:
            fixed = consistency.repair(report)
            after = consistency.verify(target, stuck_after)
        final = after if after is not None else report
        if options["json"]:
            data = {"ok": final.ok, "report": report.as_dict(), "repair": fixed.as_dict() if fixed else None,
                    "after": after.as_dict() if after else None}
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self._print(report, fixed, after)
        if not final.ok:
            raise CommandError(f"inconsistent: {final.problems} problem(s)"
                               + ("" if repair else "; `manage.py verify --repair` fixes them"), returncode=1)

    def _print(self, report, fixed, after) -> None:
        self.stdout.write("\n".join(consistency.describe(report)))
        if fixed is None:
            return
        self.stdout.write(f"repaired: dropped {fixed.dropped_vectors} orphan vector(s), re-queued {len(fixed.requeued)} "
                          f"item(s), marked {len(fixed.marked_failed)} failed, removed {fixed.removed_strays} stray(s)")
        for line in [*fixed.requeued, *fixed.marked_failed]:
            self.stdout.write(f"  {line}")
        for line in fixed.skipped:
            self.stdout.write(f"  not repaired: {line}")
        self.stdout.write("after repair:")
        self.stdout.write("\n".join(consistency.describe(after)))
