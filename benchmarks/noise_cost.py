"""What W1's hidden noise costs (issue 18 item 4), in one process.

W1 (circles, 30 training rows, 500 hidden ReLU units, hidden noise 0.1 before
the activation, Adam, batch 32, 4000 epochs: 60 M normal draws) is fitted with
each way of drawing the noise, and without noise. For each, one untimed fit
compiles the program, then ``--repeats`` warm fits (other seeds) are timed;
the ways take turns for ``--rounds`` rounds, so a shared machine's load falls
on all of them alike. Prints, per way, the median and least wall time of a
warm fit, the median process CPU time, and the ratio of the median to the
noiseless fit's, with the load average before and after:

* ``no noise``: ``noise_std=0.0`` (no draw is compiled in);
* ``noise``: the engine's draw (``_random.Rng.normal``);
* ``before: hash + erf_inv``: the draw up to issue 18 item 4 (the same hash,
  24 bits mapped to (-1, 1), ``sqrt(2) * lax.erf_inv``), kept here for the
  comparison;
* ``floor: constant noise``: a constant per step (derived from the step's key,
  so that it is not folded away) in place of the draw: the add alone, the
  least any noise can cost;
* with ``--all`` also ``jax.random`` normals from threefry, ``rbg`` and
  ``unsafe_rbg`` keys (made per key with ``jax.random.wrap_key_data(...,
  impl=...)``; no global setting changes).

The ways other than ``noise`` replace ``Rng.normal`` for their turn. The
on-disk program cache is off for the run (a replaced draw does not change the
engine's source, which keys that cache).

Usage::

    python benchmarks/noise_cost.py                      # W1, 3 rounds x 3 fits
    python benchmarks/noise_cost.py --units 125 250 500 1000 --rounds 2
    python benchmarks/noise_cost.py --all --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import WORKLOADS, load  # noqa: E402


def _before_normal(self, site, shape):
    """The draw before issue 18 item 4: hash_uniform, then the inverse error
    function (XLA recomputes the hash in each consumer of the result)."""
    import jax
    import jax.numpy as jnp

    from skrobust.engine import _random

    key = jax.random.fold_in(self.key, site)
    u = _random.hash_uniform(key, _random._counter(shape))
    u = u * 2.0 - 1.0 + jnp.float32(1.0 / (1 << 24))
    return (jnp.float32(np.sqrt(2.0)) * jax.lax.erf_inv(u)).reshape(shape)


def _constant_normal(self, site, shape):
    import jax
    import jax.numpy as jnp

    data = jax.random.key_data(jax.random.fold_in(self.key, site))
    c = (data[0] >> 8).astype(jnp.float32) * jnp.float32(2.0**-24) - 0.5
    return jnp.broadcast_to(c, shape)


def _jax_random_normal(impl):
    def normal(self, site, shape):
        import jax
        import jax.numpy as jnp

        data = jax.random.key_data(jax.random.fold_in(self.key, site))
        if impl != "threefry2x32":
            # rbg keys hold four words.
            data = jnp.concatenate([data, data ^ jnp.uint32(0x5BD1E995)])
        key = jax.random.wrap_key_data(data, impl=impl)
        return jax.random.normal(key, shape)

    return normal


def _ways(include_all: bool) -> dict:
    ways = {
        "no noise": None,
        "noise": "engine",
        "before: hash + erf_inv": _before_normal,
        "floor: constant noise": _constant_normal,
    }
    if include_all:
        ways.update(
            {
                "jax.random threefry": _jax_random_normal("threefry2x32"),
                "jax.random rbg": _jax_random_normal("rbg"),
                "jax.random unsafe_rbg": _jax_random_normal("unsafe_rbg"),
            }
        )
    return ways


def _fit_time(params, X, y, seed):
    from skrobust import NoisyMLPClassifier

    est = NoisyMLPClassifier(**params, random_state=seed)
    t, c = time.perf_counter(), time.process_time()
    est.fit(X, y)
    return time.perf_counter() - t, time.process_time() - c


def run(units, epochs, rounds, repeats, include_all) -> dict:
    import skrobust
    from skrobust.engine import _api, _random

    skrobust.set_program_cache(enabled=False)
    w = WORKLOADS["W1"]
    X, y, _, _ = load(w)
    engine_normal = _random.Rng.normal
    ways = _ways(include_all)
    out = {"load_before": [round(x, 2) for x in os.getloadavg()], "units": {}}
    for n_units in units:
        base = dict(w.skrobust_params(epochs), hidden_layer_sizes=(n_units,))
        wall = {k: [] for k in ways}
        cpu = {k: [] for k in ways}
        for _ in range(rounds):
            for name, normal in ways.items():
                params = dict(base, noise_std=0.0 if normal is None else w.noise_std)
                _random.Rng.normal = (
                    engine_normal if normal in (None, "engine") else normal
                )
                try:
                    _api.clear_cache()
                    _fit_time(params, X, y, seed=0)  # compiles
                    for seed in range(1, repeats + 1):
                        t, c = _fit_time(params, X, y, seed)
                        wall[name].append(t)
                        cpu[name].append(c)
                finally:
                    _random.Rng.normal = engine_normal
        _api.clear_cache()
        ref = statistics.median(wall["no noise"])
        draws = epochs * X.shape[0] * n_units
        rows = {}
        for name in ways:
            med = statistics.median(wall[name])
            rows[name] = {
                "wall_median_s": round(med, 4),
                "wall_min_s": round(min(wall[name]), 4),
                "cpu_median_s": round(statistics.median(cpu[name]), 4),
                "ratio": round(med / ref, 2),
                "ns_per_draw_over_no_noise": round((med - ref) / draws * 1e9, 2),
            }
        out["units"][n_units] = {"draws": draws, "ways": rows}
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, nargs="+", default=[500])
    parser.add_argument("--epochs", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also jax.random")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    out = run(args.units, args.epochs, args.rounds, args.repeats, args.all)
    if args.json:
        print(json.dumps(out))
        return
    print(f"load average before {out['load_before']}, after {out['load_after']}")
    for n_units, res in out["units"].items():
        print(f"\nhidden units {n_units}, {res['draws'] / 1e6:.0f} M draws per fit")
        print(f"{'way':26s} {'median s':>9s} {'min s':>8s} {'cpu s':>8s} {'ratio':>6s}")
        for name, r in res["ways"].items():
            print(
                f"{name:26s} {r['wall_median_s']:9.3f} {r['wall_min_s']:8.3f} "
                f"{r['cpu_median_s']:8.3f} {r['ratio']:5.2f}x"
            )


if __name__ == "__main__":
    main()
