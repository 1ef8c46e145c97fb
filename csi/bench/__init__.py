"""Benchmarks of csi itself: the estimator Monte-Carlo study (:mod:`csi.bench.montecarlo`) and timings
(:mod:`csi.bench.speed`), behind ``csi bench`` and the scripts in ``benchmarks/``."""
