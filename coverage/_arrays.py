"""Small numpy idioms shared by the pipeline stages."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def concat_ranges(start: ArrayLike, count: ArrayLike) -> NDArray[np.intp]:
    """``start[i], start[i] + 1, ..., start[i] + count[i] - 1`` for every ``i``, concatenated.

    The vectorised form of ``np.concatenate([np.arange(s, s + c) for s, c in ...])``: e.g. every
    pair against every boundary segment of its compound, or each hole's index in its polygon.
    """
    count = np.asarray(count, dtype=np.intp)
    within = np.arange(int(count.sum()), dtype=np.intp) - np.repeat(np.cumsum(count) - count,
                                                                    count)
    return np.repeat(np.asarray(start, dtype=np.intp), count) + within
