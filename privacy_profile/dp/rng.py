"""Randomness for DP noise and contribution bounding.

:class:`DPRandom` draws from a numpy ``Generator`` seeded with 256 bits from the operating
system's entropy source (``secrets``) each time one is built. A reproducible generator exists
only through the explicit test hook :meth:`DPRandom.for_testing`; library code never reads a
seed from the environment or a global.

There is deliberately no continuous Laplace or Gaussian draw: every additive noise is integer
(discrete Laplace here), and real values are put on a fixed-point grid first
(:mod:`privacy_profile.dp.mechanisms`), so no release is open to Mironov's (2012) attack on
floating-point noise.
"""

from __future__ import annotations

import secrets

import numpy as np
import numpy.typing as npt

__all__ = ["DPRandom"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class DPRandom:
    """The one source of randomness used by :mod:`privacy_profile.dp`."""

    __slots__ = ("_gen", "seeded")

    def __init__(self) -> None:
        self._gen = np.random.Generator(np.random.PCG64DXSM(secrets.randbits(256)))
        self.seeded = False

    @classmethod
    def for_testing(cls, seed: int) -> DPRandom:
        """A reproducible generator. For tests and benchmarks only: never in a release."""
        rng = cls.__new__(cls)
        rng._gen = np.random.Generator(np.random.PCG64DXSM(seed))
        rng.seeded = True
        return rng

    def __repr__(self) -> str:
        return f"DPRandom(seeded={self.seeded})"

    # -- primitives ------------------------------------------------------------------------
    def random(self, size: int) -> FloatArray:
        return self._gen.random(size)

    def integers(self, high: int, size: int) -> IntArray:
        """Uniform integers in [0, high)."""
        return self._gen.integers(0, high, size=size, dtype=np.int64)

    def below(self, highs: IntArray) -> IntArray:
        """One uniform integer in [0, highs[i]) for each i (exact, no modulo bias)."""
        return self._gen.integers(0, highs, dtype=np.int64)

    def randbelow(self, n: int) -> int:
        """One uniform integer in [0, n) for any positive Python int (exact: rejection over
        whole 64-bit words; used by the exact samplers of :mod:`privacy_profile.dp.zcdp`)."""
        if n < 1:
            raise ValueError("randbelow needs n >= 1")
        bits = (n - 1).bit_length()
        if bits == 0:
            return 0
        words = (bits + 63) // 64
        mask = (1 << bits) - 1
        while True:
            raw = self._gen.bit_generator.random_raw(words)
            x = 0
            for w in np.atleast_1d(raw).tolist():
                x = (x << 64) | int(w)
            x &= mask
            if x < n:
                return x

    def permutation(self, n: int) -> IntArray:
        return self._gen.permutation(n).astype(np.int64, copy=False)

    def gumbel(self, size: int) -> FloatArray:
        return self._gen.gumbel(size=size)

    # -- noise -----------------------------------------------------------------------------
    def discrete_laplace(self, scale: float, size: int) -> IntArray:
        """Two-sided geometric noise P(k) ∝ exp(-|k|/scale): the difference of two i.i.d.
        geometric variables with success probability 1 - exp(-1/scale)."""
        p = -np.expm1(-1.0 / scale)
        a = self._gen.geometric(p, size=size)
        b = self._gen.geometric(p, size=size)
        return (a - b).astype(np.int64, copy=False)
