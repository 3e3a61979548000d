"""Check that the real test media the tests read is there (``../shared/media``, or $VIDEOSEARCH_SHARED_MEDIA).

Exit 0 and one line when complete; exit 1 with what is missing otherwise. ``.ci/run`` runs it before the tests,
so a CI that lost the folder fails at once instead of going green on skipped tests. Standard library only
(it runs before scripts/setup.sh): ``python3 scripts/check_shared_media.py``. The list of files is
tests/support/shared_media.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import shared_media  # noqa: E402


def main() -> int:
    reason = shared_media.problem()
    if reason is not None:
        print(f"check_shared_media: FAIL: {reason}", file=sys.stderr)
        return 1
    print(f"check_shared_media: ok: {shared_media.root()} has the {len(shared_media.FILES)} files and "
          f"{sum(n for _, _, n in shared_media.COUNTED)} counted photos the tests read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
