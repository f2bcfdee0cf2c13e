"""The memory bank against the released queue logic, with and without the class-0 defect."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

torch = pytest.importorskip("torch")

from tadfuse.errors import InvalidArgumentError  # noqa: E402
from tadfuse.models import RSKP, MemoryBank, ModelConfig  # noqa: E402
from test_models_reference import ReleasedMemory  # noqa: E402

C, S, D, K = 4, 3, 5, 4

label_rows = arrays(np.int64, (C,), elements=st.integers(0, 1)).filter(lambda r: r.any())
# scores drawn from a small set: ties between queue entries and new centres are common
score_values = st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9]) | st.floats(0.0, 1.0, width=32)


@st.composite
def video_steps(draw, max_videos=6):
    n = draw(st.integers(1, max_videos))
    steps = []
    for _ in range(n):
        mu = draw(arrays(np.float32, (K, D), elements=st.floats(-3, 3, width=32)))
        sc = draw(arrays(np.float32, (K, C + 1), elements=score_values))
        steps.append((mu, sc, draw(label_rows)))
    return steps


@pytest.mark.parametrize("defect", [False, True])
@settings(max_examples=40)
@given(init=video_steps(), train=video_steps())
def test_bank_matches_the_released_queue(defect, init, train):
    """Initialisation then training steps: reads and final queues equal the restatement fed the
    (1, C) label array (np.where(...)[0] = GauFuse's defect, [1] = RSKP's fix)."""
    ref = ReleasedMemory(C, S, D, where_axis=0 if defect else 1)
    bank = MemoryBank(C, S, D, class0_defect=defect)
    ref.init_queue((mu, sc, lab) for mu, sc, lab in init)
    bank.initialise((torch.from_numpy(mu), torch.from_numpy(sc), lab) for mu, sc, lab in init)
    np.testing.assert_array_equal(bank.scores.numpy(), ref.sc.astype(np.float32))
    for mu, sc, lab in train:
        want = ref.train_step(mu, sc, lab[None, :])
        got = bank.read(lab)
        bank.write(torch.from_numpy(mu), torch.from_numpy(sc), lab)
        np.testing.assert_array_equal(got.numpy(), want.astype(np.float32))
    np.testing.assert_array_equal(bank.centres.numpy(), ref.mu.astype(np.float32))
    np.testing.assert_array_equal(bank.scores.numpy(), ref.sc.astype(np.float32))


def test_defect_reads_and_writes_only_class_0():
    mu = torch.arange(K * D, dtype=torch.float32).reshape(K, D)
    sc = torch.tensor([[0.9 - 0.1 * k, 0.1, 0.2, 0.3, 0.0] for k in range(K)])
    labels = np.array([0, 1, 0, 1])
    broken = MemoryBank(C, S, D, class0_defect=True)
    broken.write(mu, sc, labels)
    assert torch.all(broken.scores[1:] == 0)
    # the same centres went in twice (once per positive class), so class 0's queue holds the
    # best one twice: [c0, c0, c1] instead of [c0, c1, c2]
    torch.testing.assert_close(broken.scores[0], torch.tensor([0.9, 0.9, 0.8]))
    assert torch.equal(broken.centres[0, 0], mu[0]) and torch.equal(broken.centres[0, 1], mu[0])
    read = broken.read(labels)
    assert read.shape == (2 * S, D) and torch.equal(read[:S], broken.centres[0]) and torch.equal(read[S:], broken.centres[0])

    fixed = MemoryBank(C, S, D)
    fixed.write(mu, sc, labels)
    assert torch.all(fixed.scores[[0, 2]] == 0)
    assert torch.allclose(fixed.scores[1], torch.tensor(0.1)) and torch.allclose(fixed.scores[3], torch.tensor(0.3))
    read = fixed.read(labels)
    assert torch.equal(read, torch.cat([fixed.centres[1], fixed.centres[3]]))


def test_initialise_is_correct_even_with_the_defect():
    bank = MemoryBank(C, S, D, class0_defect=True)
    mu, sc = torch.ones(K, D), torch.full((K, C + 1), 0.5)
    bank.initialise([(mu, sc, np.array([0, 0, 1, 0])), (mu, sc, np.zeros(C))])  # 2nd: no class, no write
    assert torch.all(bank.scores[2] == 0.5) and torch.all(bank.scores[[0, 1, 3]] == 0)
    assert bank.class0_defect


@pytest.mark.parametrize("defect", [False, True])
@settings(max_examples=20)
@given(steps=video_steps(max_videos=5))
def test_read_write_batch_equals_single_video_steps(defect, steps):
    batch = MemoryBank(C, S, D, class0_defect=defect)
    single = MemoryBank(C, S, D, class0_defect=defect)
    mu = torch.from_numpy(np.stack([s[0] for s in steps]))
    sc = torch.from_numpy(np.stack([s[1] for s in steps]))
    labels = np.stack([s[2] for s in steps])
    centres, mask = batch.read_write(mu, sc, torch.from_numpy(labels))
    for b, (m, s, lab) in enumerate(steps):
        want = single.read(lab)
        single.write(torch.from_numpy(m), torch.from_numpy(s), lab)
        n = want.shape[0]
        assert mask[b].sum() == n and torch.equal(centres[b, :n], want) and torch.all(centres[b, n:] == 0)
    assert torch.equal(batch.centres, single.centres) and torch.equal(batch.scores, single.scores)


def test_state_dict_round_trip_and_clear():
    bank = MemoryBank(C, S, D)
    bank.write(torch.randn(K, D), torch.rand(K, C + 1), np.array([1, 1, 0, 0]))
    other = MemoryBank(C, S, D)
    other.load_state_dict(bank.state_dict())
    assert torch.equal(other.centres, bank.centres) and torch.equal(other.scores, bank.scores)
    assert set(bank.state_dict()) == {"centres", "scores"}
    bank.clear()
    assert torch.all(bank.centres == 0) and torch.all(bank.scores == 0)


def test_bad_labels_leave_the_bank_untouched():
    bank = MemoryBank(C, S, D)
    mu, sc = torch.randn(2, K, D), torch.rand(2, K, C + 1)
    with pytest.raises(InvalidArgumentError, match=r"labels\[1\].*no.*positive class|labels\[1\]"):
        bank.read_write(mu, sc, np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))
    assert torch.all(bank.scores == 0)
    with pytest.raises(InvalidArgumentError, match="0 and 1"):
        bank.read(np.array([0.5, 0, 0, 1]))
    with pytest.raises(InvalidArgumentError, match="shape"):
        bank.read(np.array([1, 0, 0]))
    with pytest.raises(InvalidArgumentError, match="centres"):
        bank.write(torch.randn(K, D + 1), torch.rand(K, C + 1), np.array([1, 0, 0, 0]))
    with pytest.raises(InvalidArgumentError, match="scores"):
        bank.write(torch.randn(K, D), torch.rand(K + 1, C + 1), np.array([1, 0, 0, 0]))
    with pytest.raises(InvalidArgumentError, match="must agree"):
        bank.read_write(mu, sc, np.array([[1, 0, 0, 0]]))
    with pytest.raises(InvalidArgumentError, match="slots"):
        MemoryBank(C, 0, D)


def test_memory_step_is_batch_invariant():
    """The memory branch of a padded batch = each video's branch on the centres it read."""
    cfg = ModelConfig.official(feature_dim=6, embed_dim=D, num_classes=C, num_centres=K, memory_slots=S)
    torch.manual_seed(0)
    model = RSKP(cfg).eval()
    bank = MemoryBank.from_config(cfg)
    assert bank.class0_defect
    bank.initialise([(torch.randn(K, D), torch.rand(K, C + 1), np.array([1, 1, 1, 1]))])
    x = torch.randn(3, 8, 6)
    labels = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 1, 0]])
    lengths = [8, 3, 6]
    reference = MemoryBank.from_config(cfg)
    reference.load_state_dict(bank.state_dict())
    with torch.no_grad():
        out = model(x, lengths=lengths)
        branch = model.memory_step(out, bank, labels)
        for b, n in enumerate(lengths):
            centres = reference.read(labels[b])
            reference.write(out.centres[b], out.centre_scores[b], labels[b])
            alone = model.memory_branch(out.embedded[b : b + 1, :n], centres[None])
            torch.testing.assert_close(branch.logits[b, :n], alone.logits[0], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(branch.video_agnostic[b], alone.video_agnostic[0], rtol=1e-5, atol=1e-6)
    assert torch.equal(bank.centres, reference.centres)
    assert branch.logits.shape == (3, 8, C + 1)
