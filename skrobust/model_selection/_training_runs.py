"""Plan the vectorized runs of grouped members, train them in workers, and
hand each member its fitted networks.

The parent plans (:func:`plan_runs`): each group of members is one network
structure and flag set (``_grouping``); its networks (a seed ensemble,
``n_members=k``, contributes k, each with the initial weights, seed and
bootstrap weights of the plain fit's plan) are stacked and cut into runs of
at most :func:`run_size` networks. A worker trains one run
(:func:`train_run`: ``skrobust.engine._jax_batched.train_members`` on the
run's stacked NumPy arrays, spec, config and seeds, nothing else) and
returns NumPy ``TrainResult`` objects; the parent writes them into the
members in a fixed order (:func:`apply_runs`).

Why the cut does not depend on ``n_jobs``: a member's result in a vmapped
run depends, in the last bit of float32, on how many networks share the run
(XLA vectorizes the batched matrix products differently for different batch
sizes: the same member trained in runs of 30, 6 and 1 networks differs by up
to 6e-8 in its weights). Runs are therefore a function of the grid, the
data and ``max_members`` / ``memory_budget`` only, so that any ``n_jobs``
gives bit-identical results, and every run of a group has the same size
(the last one padded with throw-away copies) so that one compiled program
per worker serves them all.

A run that fails for lack of memory (``MemoryError``, or XLA's
``RESOURCE_EXHAUSTED`` on a device or the host) is split in halves in its
worker, down to single networks (:func:`_train_in_halves`), and the parent
warns: the split run's members then differ from the planned run's in those
last bits only. :func:`default_memory_budget` measures the budget that
plans the runs when ``memory_budget`` is None.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time

from skrobust import engine
from skrobust._fitted import apply_result
from skrobust.model_selection._grouping import _SWITCHES, _assign_flags

# Networks per run on a CPU when ``max_members`` is None. On a CPU a
# member's cost barely falls beyond a few members per run, so runs this
# small lose little and give ``n_jobs`` workers a share each (a grid of 12
# candidates x 5 folds is 8 runs). A GPU's cost per member keeps falling up
# to hundreds of members per run: there only the memory budget cuts.
CPU_RUN_SIZE = 8


@dataclasses.dataclass
class Run:
    """One vectorized run: what its worker needs, and whose networks it holds."""

    spec: object
    cfg: object
    weights: list
    data: dict
    hyper: dict
    seeds: list
    epochs: int
    # (member, index of the network in the member) for each network of the
    # run that is not padding; padding comes last.
    owners: list

    def arguments(self, memory_budget):
        """``train_run``'s arguments: NumPy arrays, spec, config, seeds."""
        return (
            self.spec,
            self.cfg,
            self.weights,
            self.data,
            self.hyper,
            self.seeds,
            self.epochs,
            memory_budget,
        )


def train_run(spec, cfg, weights, data, hyper, seeds, epochs, memory_budget):
    """Worker side: train one run. Returns its NumPy ``TrainResult``
    objects, the seconds it took and the out-of-memory splits it needed
    (see :func:`_train_in_halves`)."""
    start = time.perf_counter()
    splits: list = []
    out = _train_in_halves(
        spec,
        cfg,
        weights,
        data,
        hyper,
        seeds,
        epochs,
        memory_budget,
        list(range(len(weights))),
        splits,
    )
    return out, time.perf_counter() - start, splits


def out_of_memory(exc) -> bool:
    """Whether ``exc`` says an allocation failed: ``MemoryError`` (host) or
    XLA's ``RESOURCE_EXHAUSTED`` status (device or host), which JAX raises
    as ``jax.errors.JaxRuntimeError``."""
    if isinstance(exc, MemoryError):
        return True
    import jax

    # jax.errors.JaxRuntimeError is public in recent JAX; older versions
    # raise jaxlib's XlaRuntimeError (the class it now names).
    runtime = getattr(jax.errors, "JaxRuntimeError", None)
    if runtime is not None:
        from_xla = isinstance(exc, runtime)
    else:
        from_xla = type(exc).__name__ == "XlaRuntimeError"
    return from_xla and "RESOURCE_EXHAUSTED" in str(exc)


def _train_in_halves(
    spec, cfg, weights, data, hyper, seeds, epochs, memory_budget, idx, splits
):
    """Train networks ``idx`` of the run together; a run that runs out of
    memory is split in halves, each trained the same way, down to single
    networks (a single network that does not fit raises). Each split is
    recorded in ``splits`` as ``(networks, error)``."""
    from skrobust.engine import _jax_batched

    whole = len(idx) == len(weights)
    try:
        return _jax_batched.train_members(
            spec,
            cfg,
            weights if whole else [weights[i] for i in idx],
            data if whole else {k: v[idx] for k, v in data.items()},
            hyper if whole else {k: v[idx] for k, v in hyper.items()},
            seeds if whole else [seeds[i] for i in idx],
            epochs,
            memory_budget=memory_budget,
        )
    except Exception as exc:
        if len(idx) == 1 or not out_of_memory(exc):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        splits.append((len(idx), f"{type(exc).__name__}: {first}"[:300]))
    # Outside the except block: the error's traceback (and the device
    # buffers its frames hold) is released before the halves allocate.
    half = (len(idx) + 1) // 2
    return [
        r
        for part in (idx[:half], idx[half:])
        for r in _train_in_halves(
            spec, cfg, weights, data, hyper, seeds, epochs, memory_budget, part, splits
        )
    ]


# The share of the free memory a batched run may use by default: a run
# holds more than the estimate counts (XLA's temporaries, the host's copy of
# the data), and n_jobs workers each hold one run.
MEMORY_SHARE = 4
# The default budget when the free memory cannot be measured.
FALLBACK_MEMORY_BUDGET = 2**30


def default_memory_budget() -> int:
    """Bytes a batched run may use when ``memory_budget`` is None: a quarter
    of the memory free now (the accelerator's on a GPU or TPU, the host's
    on a CPU), rounded down to a power of two (so that small changes in
    free memory do not move the cut of the runs, which results depend on in
    their last bits), at least 64 MiB; 1 GiB where the free memory cannot
    be read."""
    free = _free_device_memory() or _free_host_memory()
    if not free:
        return FALLBACK_MEMORY_BUDGET
    share = max(int(free) // MEMORY_SHARE, 2**26)
    return 1 << (share.bit_length() - 1)


def _free_device_memory():
    import jax

    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    try:
        stats = device.memory_stats() or {}
    except Exception:
        return None
    limit = stats.get("bytes_limit")
    if not limit:
        return None
    return max(int(limit) - int(stats.get("bytes_in_use", 0)), 0)


def _free_host_memory():
    # psutil where it is installed; else Linux's own estimate of the memory
    # available without swapping, else the free pages (POSIX).
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def run_size(max_members):
    """The most networks per run before the memory budget: ``max_members``,
    or :data:`CPU_RUN_SIZE` on a CPU and no limit elsewhere."""
    if max_members is not None:
        return int(max_members)
    import jax

    return CPU_RUN_SIZE if jax.default_backend() == "cpu" else None


def _networks(members):
    """One (member, network index) pair per network to train: an ensemble
    candidate (``n_members=k``) contributes its k networks."""
    return [(m, j) for m in members for j in range(len(m.plan.members))]


def _stack_group(nets):
    """The networks' plain-fit arrays stacked (each padded with masked rows
    to the widest network of the group, so every run of the group has one
    shape) and their hyperparameters; ``nets`` as :func:`_networks` returns
    them."""
    from skrobust.engine import _jax_batched

    datas = [m.plan.members[j].data(m.plan.data) for m, j in nets]
    data, hyper = _jax_batched.stack_members(datas, [m.plan.hyper for m, _ in nets])
    return data, hyper, data["X"].shape[1]


def _cut(seeds, size):
    """Runs of one group as (network indices, seeds), padding included.

    As ``train_members`` runs them: the networks of each shared seed
    together (one draw for all), the networks whose seed nobody shares
    together. Each such set is cut into equal runs of at most ``size``; the
    last is padded with copies of its first network, under the same seed in
    a shared-seed run and under seeds the run does not use otherwise in a
    run of distinct seeds (so it stays one run of distinct seeds)."""
    by_seed: dict = {}
    for i, s in enumerate(seeds):
        by_seed.setdefault(int(s), []).append(i)
    sets = [(idx, True) for idx in by_seed.values() if len(idx) > 1]
    lonely = [idx[0] for idx in by_seed.values() if len(idx) == 1]
    if lonely:
        sets.append((lonely, False))
    runs = []
    for idx, shared in sets:
        n_runs = math.ceil(len(idx) / size) if size else 1
        per_run = math.ceil(len(idx) / n_runs)
        for r in range(n_runs):
            part = idx[r * per_run : (r + 1) * per_run]
            run_seeds = [int(seeds[i]) for i in part]
            n_pad = per_run - len(part)
            if shared:
                pad_seeds = run_seeds[:1] * n_pad
            else:
                used = set(run_seeds)
                fresh = (s for s in itertools.count() if s not in used)
                pad_seeds = list(itertools.islice(fresh, n_pad))
            runs.append((part + part[:1] * n_pad, run_seeds + pad_seeds))
    return runs


def plan_runs(members, memory_budget, max_members, verbose):
    """The runs that train ``members``' networks, in a fixed order."""
    from skrobust.engine import _jax_batched

    size_limit = run_size(max_members)
    groups: dict = {}
    for m in members:
        groups.setdefault(m.group, []).append(m)
    runs = []
    for key, group in groups.items():
        base, optimizer, eff_bs, shuffle, epochs, convergence, patience = key
        target = _assign_flags(group)
        sub: dict = {}
        for m in group:
            sub.setdefault(target[m.flags], []).append(m)
        for flags, ms in sub.items():
            sites, noise_type, on = flags
            spec = dataclasses.replace(
                base,
                noise_sites=sites,
                noise_type=noise_type or "additive",
                **dict(zip(_SWITCHES, on, strict=True)),
            )
            nets = _networks(ms)
            data, hyper, n_max = _stack_group(nets)
            cfg = engine.make_config(
                optimizer=optimizer,
                batch_size=eff_bs,
                n_train=n_max,
                shuffle=shuffle,
                has_val=False,
                early_stopping=False,
                patience=patience,
                epochs=epochs,
                convergence=convergence,
            )
            # The worker's train_members computes the same cap from the same
            # budget and width, so it trains each run whole.
            size = _jax_batched.members_per_run(spec, cfg, n_max, memory_budget)
            if size_limit is not None:
                size = min(size, size_limit)
            cut = _cut([m.plan.members[j].seed for m, j in nets], size)
            if verbose:
                print(
                    f"[batched] training {len(nets)} networks in {len(cut)} "
                    f"runs of {len(cut[0][0])}: {spec.hidden_layer_sizes} units, "
                    f"noise at {spec.noise_sites}, {epochs} epochs",
                    flush=True,
                )
            for idx, seeds in cut:
                runs.append(
                    Run(
                        spec=spec,
                        cfg=cfg,
                        weights=[
                            nets[i][0].plan.members[nets[i][1]].weights for i in idx
                        ],
                        data={k: v[idx] for k, v in data.items()},
                        hyper={k: v[idx] for k, v in hyper.items()},
                        seeds=seeds,
                        epochs=epochs,
                        owners=[nets[i] for i in dict.fromkeys(idx)],
                    )
                )
    return runs


def apply_runs(members, runs, outputs):
    """Write each run's results (``train_run``'s outputs, in ``runs``' order)
    into its members, member by member in ``members``' order."""
    results: dict = {id(m): [None] * len(m.plan.members) for m in members}
    for run, (out, seconds, _splits) in zip(runs, outputs, strict=True):
        # Each network's fit time is its share of its run.
        share = seconds / len(run.owners)
        for (m, j), result in zip(run.owners, out, strict=False):
            results[id(m)][j] = result
            m.prep_time += share
    for m in members:
        got = results[id(m)]
        apply_result(m.final, m.plan, got[0] if len(got) == 1 else got, stacklevel=2)
