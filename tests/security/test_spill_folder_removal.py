"""A spill folder record (an ExecutionLeftover row) names what the reaper
deletes with rmtree: a name that is not a spill folder directly in the spill
folder of this host is refused, whatever else it points at."""

import pytest

from execution.engine import temporaries
from execution.engine.errors import EngineError
from execution.engine.temporaries import SPILL_DIRECTORY, Temporary


@pytest.fixture
def spill_root(tmp_path):
    root = tmp_path / "spill"
    root.mkdir()
    return root


def hostile_names(spill_root, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    (spill_root / "etl-spill-0123456789abcdef").symlink_to(precious, target_is_directory=True)
    return [
        str(spill_root / "etl-spill-0123456789abcdef"),  # the right name, a link elsewhere
        str(spill_root),  # the spill folder itself
        str(spill_root.parent),
        str(precious),
        str(spill_root / ".." / "precious"),
        str(spill_root / "etl-spill-0123456789abcdef" / ".."),
        str(tmp_path / "etl-spill-0123456789abcdef"),  # the right shape, outside the spill folder
        str(spill_root / "etl-spill-0123456789ABCDEF"),
        str(spill_root / "etl-spill-0123456789abcdef" / "0.parquet"),
        "/",
    ]


def test_only_spill_folders_in_the_spill_folder_are_removed(spill_root, tmp_path):
    for name in hostile_names(spill_root, tmp_path):
        with pytest.raises(EngineError, match="not a spill folder"):
            temporaries.remove(Temporary(SPILL_DIRECTORY, name), data_roots=[], spill_root=str(spill_root))
    assert (tmp_path / "precious" / "keep.txt").read_text() == "keep"


def test_without_a_spill_folder_nothing_is_removed(spill_root):
    folder = spill_root / "etl-spill-0123456789abcdef"
    folder.mkdir()
    with pytest.raises(EngineError, match="not a spill folder"):
        temporaries.remove(Temporary(SPILL_DIRECTORY, str(folder)), data_roots=[], spill_root=None)
    assert folder.exists()
    temporaries.remove(Temporary(SPILL_DIRECTORY, str(folder)), data_roots=[], spill_root=str(spill_root))
    assert not folder.exists()
