"""`tadfuse.tcam_io`: the TCAM folder (meta.json + <video>.npz) shared by plot, detect and producers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tadfuse
from tadfuse.errors import DataFormatError, InvalidArgumentError, InvalidTypeError
from tadfuse.tcam_io import FORMAT, FORMAT_VERSION, TcamMeta, read_tcam_folder, write_tcam, write_tcam_meta

NAMES = ["a", "b", "c"]


def _folder(tmp_path: Path, background: bool = True, **kw) -> Path:
    return write_tcam_meta(tmp_path / "tcams", class_names=NAMES, background=background, snippet_seconds=0.64,
                           producer="test", **kw)


def test_round_trip_keeps_dtype_and_values(tmp_path: Path) -> None:
    folder = _folder(tmp_path, offset_seconds=0.32, provenance={"model": "m.pt"})
    rng = np.random.default_rng(0)
    t32 = rng.random((7, 4)).astype(np.float32)
    t64 = rng.random((1, 4))
    write_tcam(folder, "v2", t32, np.array([0.1, 0.2, 0.3, 0.4], np.float32))
    write_tcam(folder, "v1", t64, [0.5, 0.5, 0.5, 0.5])  # a list is float64
    tc = read_tcam_folder(folder)
    assert tc.videos == ("v1", "v2") and len(tc) == 2 and "v1" in tc and "v3" not in tc
    assert tc.meta == TcamMeta(tuple(NAMES), True, 0.64, 0.32, tc.meta.provenance)
    assert tc.meta.num_classes == 3 and tc.meta.num_columns == 4
    assert tc.meta.provenance == {"tadfuse_version": tadfuse.__version__, "producer": "test", "model": "m.pt"}
    recs = list(tc)
    assert [r.video for r in recs] == ["v1", "v2"]
    assert recs[1].tcam.dtype == np.float32 and recs[1].video_scores.dtype == np.float32
    assert recs[0].tcam.dtype == np.float64 and recs[0].video_scores.dtype == np.float64
    np.testing.assert_array_equal(recs[1].tcam, t32)
    np.testing.assert_array_equal(recs[0].tcam, t64)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["format"] == FORMAT and meta["format_version"] == FORMAT_VERSION and meta["background"] is True
    assert sorted(os.listdir(folder)) == ["meta.json", "v1.npz", "v2.npz"]  # no temporary files left
    with np.load(folder / "v1.npz") as npz:
        assert sorted(npz.files) == ["tcam", "video_scores"]


def test_without_background_the_columns_are_the_classes(tmp_path: Path) -> None:
    folder = _folder(tmp_path, background=False)
    write_tcam(folder, "v", np.zeros((5, 3)), np.zeros(3))
    with pytest.raises(InvalidArgumentError, match=r"K = 3 columns.*got \(5, 4\)"):
        write_tcam(folder, "w", np.zeros((5, 4)), np.zeros(4))
    assert read_tcam_folder(folder).meta.num_columns == 3


def test_iteration_is_lazy_and_errors_name_the_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_tcam(folder, "good", np.zeros((3, 4)), np.zeros(4))
    (folder / "zbad.npz").write_bytes(b"not a zip")
    tc = read_tcam_folder(folder)  # opening reads meta.json only
    it = iter(tc)
    assert next(it).video == "good"
    with pytest.raises(DataFormatError, match=r"zbad\.npz: not a readable \.npz"):
        next(it)
    np.savez(folder / "zbad.npz", tcam=np.zeros((3, 4)), video_scores=np.zeros(4), extra=np.zeros(1))
    with pytest.raises(DataFormatError, match=r"zbad\.npz: must hold exactly the arrays \['tcam', 'video_scores'\]"):
        tc.read("zbad")
    np.savez(folder / "zbad.npz", tcam=np.zeros((3, 2)), video_scores=np.zeros(4))
    with pytest.raises(DataFormatError, match=r"zbad\.npz: `tcam` must have shape \(l, K\) with K = 4"):
        tc.read("zbad")
    np.savez(folder / "zbad.npz", tcam=np.zeros((3, 4), np.int64), video_scores=np.zeros(4))
    with pytest.raises(DataFormatError, match=r"zbad\.npz: `tcam` must be float32 or float64, got int64"):
        tc.read("zbad")
    np.savez(folder / "zbad.npz", tcam=np.zeros((0, 4)), video_scores=np.zeros(4))
    with pytest.raises(DataFormatError, match=r"l >= 1 rows"):
        tc.read("zbad")
    np.savez(folder / "zbad.npz", tcam=np.full((3, 4), np.nan), video_scores=np.zeros(4))
    with pytest.raises(DataFormatError, match=r"zbad\.npz: `tcam` has non-finite values"):
        tc.read("zbad")
    np.savez(folder / "zbad.npz", tcam=np.zeros((3, 4)), video_scores=np.zeros(3))
    with pytest.raises(DataFormatError, match=r"zbad\.npz: `video_scores` must have shape \(K,\)"):
        tc.read("zbad")
    np.savez(folder / "zbad.npz", tcam=np.zeros((3, 4)), video_scores=np.array([None] * 4, dtype=object))
    with pytest.raises(DataFormatError, match=r"zbad\.npz: not a readable"):  # pickles are never loaded
        tc.read("zbad")
    with pytest.raises(InvalidArgumentError, match="no TCAM for video 'nope'"):
        tc.read("nope")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("class_names"), "missing key 'class_names'"),
        (lambda m: m.update(format="other"), "'format' must be 'tadfuse-tcam'"),
        (lambda m: m.update(format_version=2), "'format_version' 2 is not supported"),
        (lambda m: m.update(class_names=[]), "`class_names` is empty"),
        (lambda m: m.update(class_names="abc"), "`class_names` must be a list"),
        (lambda m: m.update(class_names=["a", "a", "b"]), r"`class_names` repeats \['a'\]"),
        (lambda m: m.update(class_names=["a", 3]), "must be non-empty strings, got 3"),
        (lambda m: m.update(background=1), "`background` must be true or false"),
        (lambda m: m.update(snippet_seconds=0), "`snippet_seconds` must be a positive number"),
        (lambda m: m.update(snippet_seconds="0.64"), "`snippet_seconds` must be a positive number"),
        (lambda m: m.update(offset_seconds=float("nan")), "`offset_seconds` must be a finite number"),
        (lambda m: m.update(provenance=[]), "`provenance` must be an object"),
    ],
)
def test_bad_meta_is_a_data_format_error_naming_the_file(tmp_path: Path, edit, message: str) -> None:
    folder = _folder(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    edit(meta)
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataFormatError, match=r"meta\.json: .*" + message):
        read_tcam_folder(folder)


def test_missing_or_unreadable_meta(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="TCAM folder not found"):
        read_tcam_folder(tmp_path / "nope")
    np.savez(tmp_path / "old.npz", v=np.zeros((3, 2)))  # the former single-file format
    with pytest.raises(DataFormatError, match=r"old\.npz: not a folder \(a TCAM folder holds"):
        read_tcam_folder(tmp_path / "old.npz")
    (tmp_path / "f").mkdir()
    with pytest.raises(DataFormatError, match=r"meta\.json: not found"):
        read_tcam_folder(tmp_path / "f")
    (tmp_path / "f" / "meta.json").write_text("{oops")
    with pytest.raises(DataFormatError, match=r"meta\.json: not valid JSON"):
        read_tcam_folder(tmp_path / "f")
    (tmp_path / "f" / "meta.json").write_text("[1]")
    with pytest.raises(DataFormatError, match=r"meta\.json: expected a JSON object"):
        read_tcam_folder(tmp_path / "f")
    with pytest.raises(DataFormatError, match=r"meta\.json"):  # write_tcam needs the meta first
        write_tcam(tmp_path / "f", "v", np.zeros((2, 2)), np.zeros(2))


def test_write_checks_its_arguments(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    ok_t, ok_s = np.zeros((3, 4)), np.zeros(4)
    for name in ("", ".hidden", "a/b", "a\\b", 3):
        with pytest.raises(InvalidArgumentError, match="`video` must be a file name"):
            write_tcam(folder, name, ok_t, ok_s)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="`tcam` must be float32 or float64, got float16"):
        write_tcam(folder, "v", ok_t.astype(np.float16), ok_s)
    with pytest.raises(InvalidTypeError, match="`video_scores` must be float32 or float64, got int64"):
        write_tcam(folder, "v", ok_t, np.zeros(4, np.int64))
    with pytest.raises(InvalidTypeError, match="not array-like"):
        write_tcam(folder, "v", [[0.0, 1.0], [0.0]], ok_s)
    with pytest.raises(InvalidArgumentError, match="non-finite"):
        write_tcam(folder, "v", np.full((3, 4), np.inf), ok_s)
    with pytest.raises(InvalidArgumentError, match=r"`tcam` must have shape \(l, K\)"):
        write_tcam(folder, "v", np.zeros(4), ok_s)
    assert sorted(os.listdir(folder)) == ["meta.json"]
    for kw, message in (
        (dict(class_names=[]), "empty"), (dict(background="yes"), "background"),
        (dict(snippet_seconds=-1.0), "snippet_seconds"), (dict(producer=""), "producer"),
    ):
        args = dict(class_names=NAMES, background=True, snippet_seconds=0.64, producer="p") | kw
        with pytest.raises(InvalidArgumentError, match=message):
            write_tcam_meta(tmp_path / "x", **args)  # type: ignore[arg-type]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    write_tcam(folder, "v", np.ones((3, 4)), np.ones(4))

    def broken(fh, **arrays):
        fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        write_tcam(folder, "v", np.zeros((3, 4)), np.zeros(4))
    monkeypatch.undo()
    assert sorted(os.listdir(folder)) == ["meta.json", "v.npz"]
    np.testing.assert_array_equal(read_tcam_folder(folder).read("v").tcam, np.ones((3, 4)))


def test_a_folder_is_never_mixed(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write_tcam(folder, "old", np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(FileExistsError, match=r"overwrite=True \(CLI: --overwrite\)"):
        _folder(tmp_path)
    write_tcam_meta(folder, class_names=["x"], background=False, snippet_seconds=1.0, producer="new", overwrite=True)
    tc = read_tcam_folder(folder)
    assert tc.videos == () and tc.meta.class_names == ("x",) and tc.meta.provenance["producer"] == "new"
