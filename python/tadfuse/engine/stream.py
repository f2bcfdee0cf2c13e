"""Streaming inference: features → model → detections → a crash-safe results file (``tadfuse infer``).

:func:`stream_detections` runs three stages joined by bounded queues (docs/engine.md, "Streaming
inference"):

* the calling thread reads a window of videos (``window`` at most), runs the model over them in
  padded batches (:func:`tadfuse.engine.inference.model_outputs`) or reads their TCAMs from a
  TCAM folder (``--from-raw``), and puts the window on the queue (``queue_size`` windows at most,
  so memory is bounded by ``(queue_size + 4) · window`` videos whatever the corpus size);
* a detect thread runs :func:`tadfuse.detect_batch` on each window (the Rust core, GIL released,
  so it overlaps the next forward pass and the formatting of the previous window);
* a write thread formats each video's JSON line and appends the window to a progress file
  ``<out>.partial.jsonl`` (flush + fsync per window).

At the end the progress file is rewritten, videos sorted by name, as the final ActivityNet JSON or
JSON lines file (a temporary file renamed over ``out``), then removed. A run killed at any moment
leaves at most a torn last line in the progress file; ``resume=True`` truncates it and skips the
videos already written, so no video is lost or duplicated.
"""

from __future__ import annotations

import json
import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tadfuse import _core
from tadfuse.annotations import provenance_record, snippets_to_seconds
from tadfuse.config import PostprocessConfig
from tadfuse.errors import DataFormatError, InvalidArgumentError
from tadfuse.postprocess import detect_batch
from tadfuse.proposals import Proposals

__all__ = ["FORMATS", "JSONL_FORMAT", "StreamResult", "VideoInfo", "detections_json",
           "detections_json_batch", "partial_path",
           "read_progress", "stream_detections"]

#: The output formats.
FORMATS = ("json", "jsonl")
#: The ``format`` value of a JSON lines header.
JSONL_FORMAT = "tadfuse-detections-jsonl"


@dataclass(frozen=True)
class VideoInfo:
    """The timebase of one video: seconds = snippets · ``snippet_seconds`` + ``offset_seconds``,
    clipped to ``duration`` (seconds; NaN: unknown)."""

    snippet_seconds: float
    offset_seconds: float = 0.0
    duration: float = math.nan


@dataclass
class StreamResult:
    """What :func:`stream_detections` did: the file written, the videos in it, the videos skipped
    (``{video: reason}``), how many were already done on resume, the detections and the
    seconds spent per stage (``read_forward``: reading and the model, or reading TCAMs;
    ``detect``, ``format``: the JSON text, ``write``: appending and fsync, all in the
    post-processing thread; ``final``: the sorted output) and the provenance written."""

    path: Path
    videos: int
    skipped: dict[str, str]
    resumed: int
    detections: int
    seconds: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


def partial_path(out: str | os.PathLike[str]) -> Path:
    """The progress file of ``out``: ``<out>.partial.jsonl`` beside it."""
    p = Path(out)
    return p.with_name(p.name + ".partial.jsonl")


def detections_json(p: Proposals, label_json: Sequence[str], info: VideoInfo) -> tuple[str, int]:
    """One video's detections (snippets) as the JSON text of an ActivityNet result list and the
    number of rows whose seconds were clipped to the duration: :func:`detections_json_batch` of
    one video."""
    texts, clipped = _texts([p], label_json, [info], None, lambda i, msg: msg)
    return texts[0], clipped[0]


def detections_json_batch(
    dets: Sequence[Proposals], label_json: Sequence[str], infos: Sequence[VideoInfo], videos: Sequence[str],
    num_threads: int | None = None,
) -> tuple[list[str], list[int]]:
    """Many videos' detections (snippets) as the JSON texts of their ActivityNet result lists,
    and per video the number of rows whose seconds were clipped to its duration.

    Each row is ``{"label", "score", "segment": [s, e] seconds, "snippets": [start, end]}``, as
    :func:`tadfuse.annotations.activitynet_results` writes it (the same values when parsed);
    ``label_json`` holds the class names already JSON-encoded. Seconds are
    :func:`tadfuse.annotations.snippets_to_seconds` of all rows at once (per-row timebases:
    the same float operations as per video). The text is built by the Rust core
    (``_core.detections_json_batch``: floats as the shortest decimal that round-trips, videos in
    parallel on ``num_threads`` workers, GIL released; the same text for any thread count)
    (docs/engine.md, "Streaming inference"). A detection starting before 0 (snippets or
    seconds) raises :class:`InvalidArgumentError` naming the video (``videos[i]``)."""
    if not len(dets) == len(infos) == len(videos):
        raise InvalidArgumentError(f"dets, infos and videos differ in length ({len(dets)}, {len(infos)}, {len(videos)})")
    return _texts(dets, label_json, infos, num_threads, lambda i, msg: f"video {videos[i]!r}: {msg}")


def _texts(
    dets: Sequence[Proposals], label_json: Sequence[str], infos: Sequence[VideoInfo], num_threads: int | None,
    where: Callable[[int, str], str],
) -> tuple[list[str], list[int]]:
    counts = np.array([len(p) for p in dets], np.int64)
    offsets = np.zeros(len(dets) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if offsets[-1] == 0:
        return ["[]"] * len(dets), [0] * len(dets)

    def col(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in dets])

    label, start, end, score = col("label"), col("start"), col("end"), col("score")
    ss, off, dur = (np.repeat(np.array([getattr(i, a) for i in infos], np.float64), counts)
                    for a in ("snippet_seconds", "offset_seconds", "duration"))
    s, e = snippets_to_seconds(start, end, ss, off, dur)
    for bad, t, unit in ((start < 0, start, "snippets"), (s < 0, s, "s")):
        if bad.any():
            k = int(np.argmax(bad))
            i = int(np.searchsorted(offsets, k, side="right")) - 1
            lo, hi = offsets[i], offsets[i + 1]
            what = "a detection starts before 0" + (" s" if unit == "s" else "")
            raise InvalidArgumentError(where(i, f"{what} ({t[lo:hi].min()} {unit})"))
    was = np.zeros(len(s) + 1, np.int64)
    np.cumsum(e < end * ss + off, out=was[1:])
    clipped = (was[offsets[1:]] - was[offsets[:-1]]).tolist()
    texts = _core.detections_json_batch(list(label_json), offsets, label, score, s, e, start, end, num_threads)
    return texts, clipped


# --------------------------------------------------------------------------------------------
# The progress file
# --------------------------------------------------------------------------------------------


@dataclass
class _Progress:
    """The parsed progress file: done videos → (byte offset, length) of their line, skipped
    videos → reason, clipped counts."""

    done: dict[str, tuple[int, int]] = field(default_factory=dict)
    rows: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    clipped: int = 0
    end: int = 0


def read_progress(path: str | os.PathLike[str], header: Mapping[str, Any] | None = None) -> _Progress:
    """Parse a progress file (``partial_path``): a header line, then one line per video
    (``{"video", "detections", "clipped"}`` or ``{"video", "skipped"}``). A torn last line (a
    killed writer) is ignored; ``end`` is the byte offset after the last whole line. A header
    other than ``header`` (when given) or a bad line before the last raises
    :class:`DataFormatError` naming the file."""
    prog = _Progress()
    pos = 0
    with open(path, "rb") as fh:  # line by line: memory is the index, not the file
        for k, line in enumerate(fh):
            if not line.endswith(b"\n"):
                break  # the torn last line of a killed writer
            raw = line[:-1]
            try:
                rec = json.loads(raw)
            except ValueError:
                raise DataFormatError(f"{path}: line {k + 1} is not JSON (not a tadfuse progress file?)") from None
            if k == 0:
                if not isinstance(rec, dict) or rec.get("format") != JSONL_FORMAT:
                    raise DataFormatError(f"{path}: not a tadfuse progress file (no {JSONL_FORMAT} header)")
                if header is not None and rec.get("tadfuse") != header:
                    raise DataFormatError(f"{path}: written with other settings or inputs; remove it or run "
                                          "without --resume to start again")
            elif not isinstance(rec, dict) or not isinstance(rec.get("video"), str):
                raise DataFormatError(f"{path}: line {k + 1} is not a video record")
            elif "skipped" in rec:
                prog.skipped[rec["video"]] = str(rec["skipped"])
            else:
                prog.done[rec["video"]] = (pos, len(raw))
                prog.rows += len(rec.get("detections", ()))
                prog.clipped += int(rec.get("clipped", 0))
            pos += len(line)
    prog.end = pos  # 0: not even the header line is whole (killed at the start): start again
    return prog


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------

#: One window on the queue: per video (name, tcam (l, K), video scores (K,)) and the skipped ones.
_Window = tuple[list[tuple[str, np.ndarray, np.ndarray]], dict[str, str]]


def stream_detections(
    out: str | os.PathLike[str],
    videos: Sequence[str],
    outputs: Callable[[Sequence[str]], _Window],
    *,
    class_names: Sequence[str],
    info: Mapping[str, VideoInfo],
    postprocess: PostprocessConfig,
    provenance: Mapping[str, Any],
    fmt: str = "json",
    resume: bool = False,
    window: int = 64,
    queue_size: int = 4,
    num_threads: int | None = None,
    on_raw: Callable[[str, np.ndarray, np.ndarray], None] | None = None,
    progress: bool | None = None,
) -> StreamResult:
    """Detections of ``videos`` written to ``out`` as they are computed (module docstring).

    ``outputs(names)`` computes a window: ``([(video, tcam (l, K), video_scores (K,)), ...],
    {skipped video: reason})`` with ``K = len(class_names) + 1`` (background last, never
    detected); a video it can neither compute nor skip raises. ``info`` gives each video's
    timebase. ``on_raw`` is called in the post-processing thread with each computed TCAM (e.g.
    to save it). ``provenance`` (no timestamps) goes into the files' ``tadfuse`` block, with
    ``skipped_videos`` added at the end; on ``resume`` it must equal the progress file's.
    """
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"`fmt` must be one of {FORMATS}, got {fmt!r} (CLI: --format)")
    for name, value in (("window", window), ("queue_size", queue_size)):
        if not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"`{name}` must be a positive integer, got {value!r}")
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(out_path)
    c = len(class_names)
    label_json = [json.dumps(n) for n in class_names]
    header = {"provenance": provenance_record(provenance)}
    prog = read_progress(part, header) if resume and part.exists() else _Progress()
    seconds = dict.fromkeys(("read_forward", "detect", "format", "write", "final"), 0.0)
    resumed = len(prog.done) + len(prog.skipped)
    todo = [v for v in videos if v not in prog.done and v not in prog.skipped]

    fh = open(part, "r+b" if prog.end else "wb")
    try:
        if prog.end:
            fh.truncate(prog.end)  # drop a torn last line
            fh.seek(prog.end)
        else:
            fh.write((json.dumps({"format": JSONL_FORMAT, "tadfuse": header}) + "\n").encode())
            _sync(fh)
        pos = fh.tell()
        q: queue.Queue[_Window | None] = queue.Queue(maxsize=queue_size)
        q2: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=1)
        failure: list[BaseException] = []
        bar = tqdm(total=len(todo), desc="infer", unit="video", disable=not progress if progress is not None else None)

        def detect() -> None:  # stage 2: the Rust core, GIL released
            try:
                while (item := q.get()) is not None:
                    pairs, skipped = item
                    t0 = time.perf_counter()
                    dets = detect_batch([t[:, :c] for _, t, _ in pairs], [s[:c] for _, _, s in pairs], postprocess,
                                        num_threads=num_threads) if pairs else []
                    seconds["detect"] += time.perf_counter() - t0
                    q2.put((pairs, skipped, dets))
            except BaseException as exc:
                failure.append(exc)
                while q.get() is not None:  # drain so the producer never blocks
                    pass
            finally:
                q2.put(None)

        def write() -> None:  # stage 3: JSON text, append, fsync
            nonlocal pos
            try:
                while (item := q2.get()) is not None:
                    pairs, skipped, dets = item
                    t1 = time.perf_counter()
                    parts = []
                    if on_raw is not None:
                        for video, tcam, scores in pairs:
                            on_raw(video, tcam, scores)
                    names = [video for video, _, _ in pairs]
                    texts, counts = detections_json_batch(dets, label_json, [info[v] for v in names], names,
                                                          num_threads)
                    for video, p, text, clipped in zip(names, dets, texts, counts):
                        line = f'{{"video": {json.dumps(video)}, "detections": {text}, "clipped": {clipped}}}\n'
                        b = line.encode()
                        prog.done[video] = (pos, len(b) - 1)
                        prog.clipped += clipped
                        prog.rows += len(p)
                        pos += len(b)
                        parts.append(b)
                    for video, reason in skipped.items():
                        b = (json.dumps({"video": video, "skipped": reason}) + "\n").encode()
                        prog.skipped[video] = reason
                        pos += len(b)
                        parts.append(b)
                    t2 = time.perf_counter()
                    fh.write(b"".join(parts))
                    _sync(fh)
                    seconds["format"] += t2 - t1
                    seconds["write"] += time.perf_counter() - t2
                    bar.update(len(pairs) + len(skipped))
            except BaseException as exc:
                failure.append(exc)
                while q2.get() is not None:  # drain so the detect stage never blocks
                    pass

        workers = [threading.Thread(target=f, name=f"tadfuse-{f.__name__}", daemon=True) for f in (detect, write)]
        for w in workers:
            w.start()
        try:
            for k in range(0, len(todo), window):
                if failure:
                    break
                t0 = time.perf_counter()
                item = outputs(todo[k: k + window])
                seconds["read_forward"] += time.perf_counter() - t0
                q.put(item)
        finally:
            q.put(None)
            for w in workers:
                w.join()
            bar.close()
        if failure:
            raise failure[0]
    finally:
        fh.close()

    t0 = time.perf_counter()
    _write_final(out_path, part, prog, fmt, header, info, class_names)
    seconds["final"] = time.perf_counter() - t0
    part.unlink()
    return StreamResult(out_path, len(prog.done), dict(sorted(prog.skipped.items())), resumed, prog.rows, seconds,
                        _final_block(header, prog, info, [])["provenance"])


def _sync(fh: Any) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _compact(values: dict[str, float]) -> float | dict[str, float]:
    distinct = set(values.values())
    return distinct.pop() if len(distinct) == 1 else values


def _final_block(header: Mapping[str, Any], prog: _Progress, info: Mapping[str, VideoInfo],
                 names: Sequence[str]) -> dict[str, Any]:
    prov = dict(header["provenance"])
    prov["skipped_videos"] = {"count": len(prog.skipped), "videos": dict(sorted(prog.skipped.items()))}
    block: dict[str, Any] = {"provenance": prov, "clipped_to_duration": prog.clipped}
    if names:
        block["snippet_seconds"] = _compact({v: info[v].snippet_seconds for v in names})
        block["offset_seconds"] = _compact({v: info[v].offset_seconds for v in names})
    return block


def _iter_lines(part: Path, prog: _Progress, names: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    with open(part, "rb") as fh:
        for v in names:
            off, n = prog.done[v]
            fh.seek(off)
            yield v, fh.read(n)


def _write_final(out: Path, part: Path, prog: _Progress, fmt: str, header: Mapping[str, Any],
                 info: Mapping[str, VideoInfo], class_names: Sequence[str]) -> None:
    """The progress file → ``out``, videos sorted by name, through a temporary file renamed over
    ``out`` (memory: the line index only)."""
    names = sorted(prog.done)
    block = _final_block(header, prog, info, names)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            if fmt == "jsonl":
                fh.write((json.dumps({"format": JSONL_FORMAT, "class_names": list(class_names), "tadfuse": block})
                          + "\n").encode())
                for _, line in _iter_lines(part, prog, names):
                    rec_end = line.rindex(b', "clipped": ')
                    fh.write(line[:rec_end] + b"}\n")
            else:
                fh.write(b'{"version": "tadfuse", "results": {')
                first = True
                for v, line in _iter_lines(part, prog, names):
                    start = line.index(b'"detections": ') + len(b'"detections": ')
                    end = line.rindex(b', "clipped": ')
                    fh.write((b"" if first else b", ") + json.dumps(v).encode() + b": " + line[start:end])
                    first = False
                fh.write(b'}, "external_data": {}, "tadfuse": ' + json.dumps(block).encode() + b"}")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
