"""Which images a detector trains on and which test images are anomalies (protocols.py)."""

import numpy as np
import pytest

from reducers.anomaly.protocols import hold_out, protocol_split
from reducers.errors import DataError


def test_protocols_pick_the_training_images_and_the_anomalies(digits):
    one = protocol_split(digits, "one_class", 4)
    assert set(one.y_train) == {4} and (one.is_anomaly == (digits.y_test != 4)).all()
    loo = protocol_split(digits, "leave_one_out", 4)
    assert 4 not in set(loo.y_train) and len(set(loo.y_train)) == 9
    assert (loo.is_anomaly == (digits.y_test == 4)).all()
    with pytest.raises(DataError, match=r"anomaly.anomaly_class=12 is invalid: .* 0, 1"):
        protocol_split(digits, "leave_one_out", 12)


def test_hold_out_keeps_a_seeded_share_of_the_normal_images_apart(digits):
    part = protocol_split(digits, "one_class", 5)  # 80 fives
    kept, held = hold_out(part, 0.25, seed=3)
    assert (len(kept.x_train), len(held)) == (60, 20)
    rows = {r.tobytes() for r in part.x_train}
    assert {r.tobytes() for r in kept.x_train} | {r.tobytes() for r in held} == rows
    assert not {r.tobytes() for r in kept.x_train} & {r.tobytes() for r in held}
    again = hold_out(part, 0.25, seed=3)[1]
    assert np.array_equal(held, again) and not np.array_equal(held, hold_out(part, 0.25, 4)[1])
    assert hold_out(part, 0.0, seed=3) == (part, None)
    assert len(part.x_train) == 80  # the original is left as it was
