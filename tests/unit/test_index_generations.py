"""IndexBuild: a rebuild writes a new generation beside the live index and swaps it in at the end."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.search.index import CURRENT_FILE, CollectionIndex
from apps.search.index_rebuild import BuildDelta, IndexBuild

OLD, NEW = "test:model-old", "test:model-new"
DIM = 8


def unit(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def ids_of(index: CollectionIndex) -> set[int]:
    return index.contains(range(1000))


@pytest.fixture
def live(tmp_path: Path) -> CollectionIndex:
    index = CollectionIndex(tmp_path / "collection-1")
    index.add(OLD, [1, 2, 3], unit(3))
    return index


def copy_missing(delta: BuildDelta, live: CollectionIndex, build: IndexBuild) -> None:
    """The reconcile a same-model rebuild does: removed ids go, ids added meanwhile are copied."""
    build.remove(delta.removed)
    present, vectors = live.reconstruct_present(delta.missing)
    if present.size:
        build.add(present, vectors)


def test_searches_use_the_old_generation_until_the_swap(live: CollectionIndex) -> None:
    reader = CollectionIndex(live.directory)
    vectors = unit(3, seed=1)
    with IndexBuild(live, NEW) as build:
        build.add([1, 2, 3], vectors)
        assert reader.info().model_id == OLD and reader.info().count == 3
        assert reader.search(OLD, unit(3)[0], 1)[0][0] == 1
        build.swap(lambda delta, index: None)
    assert reader.info().model_id == NEW and reader.info().count == 3
    assert reader.search(NEW, vectors[2], 1)[0][0] == 3
    assert (live.directory / CURRENT_FILE).read_text() == build.name
    # the first files of the collection and nothing else but the live generation are left
    assert sorted(p.name for p in live.directory.iterdir() if not p.name.startswith(".")) == [CURRENT_FILE, build.name]


def test_a_second_rebuild_replaces_the_first_generation(live: CollectionIndex) -> None:
    for model, seed in [(NEW, 1), (OLD, 2)]:
        with IndexBuild(live, model) as build:
            build.add([7], unit(1, seed=seed))
            build.swap(lambda delta, index: None)
    generations = [p.name for p in live.directory.glob("gen-*")]
    assert generations == [build.name] and live.info().model_id == OLD and ids_of(live) == {7}


def test_an_interrupted_build_leaves_the_live_index_and_removes_its_generation(live: CollectionIndex) -> None:
    with pytest.raises(RuntimeError), IndexBuild(live, NEW) as build:
        build.add([1], unit(1, seed=1))
        raise RuntimeError("killed")
    assert not build.target.directory.exists()
    assert live.info().model_id == OLD and ids_of(live) == {1, 2, 3}


def test_leftovers_of_a_killed_rebuild_are_removed_by_the_next(live: CollectionIndex) -> None:
    killed = CollectionIndex(live.directory / ("gen-" + "0" * 32))
    killed.add(NEW, [1], unit(1))  # a generation written, never named in CURRENT
    (live.directory / f".{CURRENT_FILE}.abc.tmp").write_text("gen-x")
    assert live.info().model_id == OLD  # it changes nothing a search sees
    with IndexBuild(live, NEW) as build:
        assert not killed.directory.exists()
        build.add([1, 2, 3], unit(3, seed=1))
        build.swap(lambda delta, index: None)
    assert not list(live.directory.glob("*.tmp")) and not list(live.directory.glob(".*.tmp"))
    assert ids_of(live) == {1, 2, 3}


def test_changes_to_the_live_index_during_the_build_are_carried_over(live: CollectionIndex) -> None:
    seen: list[BuildDelta] = []
    with IndexBuild(live, OLD) as build:
        build.add([1, 2, 3, 9], unit(4, seed=1))  # 9: rebuilt from a stored item the live index lacked
        live.add(OLD, [4, 5], unit(2, seed=2))  # ingests meanwhile
        live.remove([2])

        def reconcile(delta: BuildDelta, index: CollectionIndex) -> None:
            seen.append(delta)
            copy_missing(delta, index, build)
            if len(seen) == 1:  # one more ingest between the two passes; the second pass holds the lock
                live_writer = CollectionIndex(live.directory)
                live_writer.add(OLD, [6], unit(1, seed=3))

        build.swap(reconcile)
    first, second = seen
    assert first.missing.tolist() == [4, 5] and first.removed.tolist() == [2] and first.unlisted.tolist() == [9]
    assert second.missing.tolist() == [6] and second.removed.size == 0 and second.unlisted.tolist() == [9]
    assert ids_of(live) == {1, 3, 4, 5, 6, 9}
    assert live.search(OLD, unit(1, seed=3)[0], 1)[0][0] == 6  # copied vector, not re-made


def test_writes_after_the_swap_go_to_the_new_generation(live: CollectionIndex) -> None:
    writer = CollectionIndex(live.directory)
    writer.info()  # loaded (and cached) the old generation
    with IndexBuild(live, OLD) as build:
        build.add([1, 2, 3], unit(3))
        build.swap(lambda delta, index: None)
    writer.add(OLD, [8], unit(1, seed=4))
    writer.remove([1])
    assert ids_of(CollectionIndex(live.directory)) == {2, 3, 8}
    assert not (live.directory / "index.bin").exists()


def test_a_reader_that_lost_its_generation_reads_the_new_one(live: CollectionIndex, monkeypatch) -> None:
    """A reader that resolved the old generation just before the swap, then found its files gone, starts again."""
    reader = CollectionIndex(live.directory)
    old_generation = reader.generation_dir()
    with IndexBuild(live, NEW) as build:
        build.add([1], unit(1, seed=1))
        build.swap(lambda delta, index: None)
    resolved = iter([old_generation])
    real = CollectionIndex.generation_dir
    monkeypatch.setattr(CollectionIndex, "generation_dir", lambda self: next(resolved, None) or real(self))
    assert reader.info().model_id == NEW and reader.info().count == 1
