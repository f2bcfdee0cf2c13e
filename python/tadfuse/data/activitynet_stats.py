"""Measured statistics of ActivityNet 1.3, the tables behind the ``anet-structured`` generator
(`tadfuse.data.make_anet_structured`; docs/algorithms.md, "Datasets").

Sources:

* **The release** (activity-net.org, "Release 1.3 (03-2016)"): 200 activity classes; 10,024
  training videos (15,410 instances), 4,926 validation videos (7,654 instances), 5,044 testing
  videos whose labels are withheld (scored by the challenge's evaluation server). That is 1.54
  and 1.55 instances per video and a 50.1 / 24.6 / 25.2 % split (`RELEASE_VIDEOS`).
* **The annotations** of the videos that could still be downloaded, as repackaged by
  wzmsltw/BSN-boundary-sensitive-network (``data/activitynet_annotations/anet_anno_action.json``
  and ``video_info_new.csv``, commit f13707f): 9,649 training + 4,728 validation videos with
  22,152 instances (4,851 testing videos without). Every table below was counted from those
  14,377 training + validation videos, with each segment clipped to its video's duration; the
  script is in docs/algorithms.md, "Datasets". Headline numbers: 1.54 instances per video
  (75.5 % of the videos have exactly one); durations from 1.6 s to 755 s, mean 117.8 s, median
  115.4 s (all but 24 videos are at most 240 s long); an instance covers on average 42.7 % of its
  video (median 32.6 %; 41.4 % of the instances cover more than half of it) and the instances of a
  video cover 65.3 % of it together (more than half in 70.7 % of the videos); 99.92 % of the
  videos have a single class; instance lengths have a median of 26.5 s and a mean of 49.3 s.

The counts are kept as counts (not rounded probabilities) so that the tables can be checked
against the source.
"""

from __future__ import annotations

__all__ = [
    "COVERAGE_MULTI_COUNTS",
    "COVERAGE_SINGLE_COUNTS",
    "DURATION_COUNTS",
    "DURATION_EDGES",
    "INSTANCE_COUNT_COUNTS",
    "INSTANCE_COUNT_GROUP_EDGES",
    "LENGTH_CONCENTRATION",
    "NUM_CLASSES",
    "RELEASE_INSTANCES",
    "RELEASE_VIDEOS",
    "SUMMARY",
]

#: Activity classes in ActivityNet 1.3.
NUM_CLASSES = 200

#: Videos per subset in the official release (testing: labels withheld).
RELEASE_VIDEOS: dict[str, int] = {"training": 10024, "validation": 4926, "testing": 5044}

#: Annotated instances per subset in the official release.
RELEASE_INSTANCES: dict[str, int] = {"training": 15410, "validation": 7654}

#: Bin edges (seconds) of the duration histogram `DURATION_COUNTS`; the shortest video lasts
#: 1.58 s and the longest 755.1 s.
DURATION_EDGES: tuple[float, ...] = (1.5, 15, 30, 60, 90, 120, 150, 180, 210, 240, 300, 400, 600, 760)

#: Videos per duration bin (14,377 training + validation videos).
DURATION_COUNTS: tuple[int, ...] = (510, 935, 2016, 2157, 1850, 1901, 1766, 1744, 1474, 9, 5, 7, 3)

#: Duration groups (seconds) of `INSTANCE_COUNT_COUNTS`: longer videos hold more instances.
INSTANCE_COUNT_GROUP_EDGES: tuple[float, ...] = (0, 30, 60, 120, float("inf"))

#: Per duration group, the number of videos with 1, 2, ..., 9 and >= 10 instances.
INSTANCE_COUNT_COUNTS: tuple[tuple[int, ...], ...] = (
    (1362, 72, 7, 3, 1, 0, 0, 0, 0, 0),            # [0, 30) s: 1.07 instances per video
    (1715, 220, 48, 20, 8, 1, 1, 2, 1, 0),         # [30, 60) s: 1.22
    (2987, 581, 213, 107, 62, 25, 11, 10, 7, 4),   # [60, 120) s: 1.48
    (4784, 1000, 418, 271, 142, 107, 62, 42, 23, 60),  # >= 120 s: 1.74 (>= 10 counted as 10)
)

#: Videos with one instance, by the fraction of the video it covers, in ten bins of 0.1
#: (10,848 videos; mean 0.707).
COVERAGE_SINGLE_COUNTS: tuple[int, ...] = (396, 451, 457, 522, 567, 803, 1025, 1290, 1889, 3448)

#: Videos with several instances, by the summed fraction of the video their instances cover, in
#: ten bins of 0.1 (3,464 videos; 65 more whose instances overlap to a sum above 1 are left out).
COVERAGE_MULTI_COUNTS: tuple[int, ...] = (166, 356, 409, 464, 410, 421, 434, 404, 293, 107)

#: Dirichlet concentration of the instance lengths within a video: in the two-instance videos
#: the mean of |l1 - l2| / (l1 + l2) is 0.398, which Beta(1.75, 1.75) reproduces (0.40).
LENGTH_CONCENTRATION = 1.75

#: The headline statistics of the 14,377 training + validation videos (segments clipped to their
#: video): what the generator is tested against (tests/test_synth.py).
SUMMARY: dict[str, float] = {
    "instances_per_video": 1.541,
    "share_single_instance": 0.755,
    "duration_mean": 117.8,       # seconds
    "duration_median": 115.4,     # seconds
    "duration_min": 1.58,         # seconds
    "duration_max": 755.1,        # seconds
    "instance_coverage_mean": 0.427,       # instance length / video duration
    "instance_coverage_median": 0.326,
    "share_instances_over_half": 0.414,    # instances covering more than half of their video
    "video_coverage_mean": 0.653,          # union of a video's instances / its duration
    "share_videos_over_half": 0.707,       # videos more than half covered
    "instance_seconds_median": 26.5,
    "instance_seconds_mean": 49.3,
    "share_single_class": 0.9992,
}
