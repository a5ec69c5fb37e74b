"""Train the runs of grouped members, one vectorized JAX loop per run.

Each run stacks its members' networks (a seed ensemble, ``n_members=k``,
contributes k networks, each with the initial weights, seed and bootstrap
weights of the plain fit's plan), trains them together with
``skrobust.engine._jax_batched`` and hands each member its fitted networks
back: one network, or an ensemble's k as one fitted ensemble.
"""

from __future__ import annotations

import dataclasses
import time

from skrobust import engine
from skrobust._plan import apply_result
from skrobust.model_selection._grouping import _SWITCHES, _assign_flags


def _networks(members):
    """One (member, network) pair per network to train: an ensemble
    candidate (``n_members=k``) contributes its k networks."""
    return [(m, net) for m in members for net in m.plan.members]


def _stack_group(members):
    """The networks' plain-fit arrays stacked (each padded with masked rows
    to the widest member) and their hyperparameters; ``members`` as
    :func:`_networks` returns them."""
    from skrobust.engine import _jax_batched

    datas = [net.data(m.plan.data) for m, net in members]
    data, hyper = _jax_batched.stack_members(datas, [m.plan.hyper for m, _ in members])
    return data, hyper, data["X"].shape[1]


def _train_runs(members, memory_budget, max_members, verbose):
    from skrobust.engine import _jax_batched

    groups: dict = {}
    for m in members:
        groups.setdefault(m.group, []).append(m)
    n_runs = 0
    for key, group in groups.items():
        base, optimizer, eff_bs, shuffle, epochs = key
        target = _assign_flags(group)
        sub: dict = {}
        for m in group:
            sub.setdefault(target[m.flags], []).append(m)
        for flags, ms in sub.items():
            n_runs += 1
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
                patience=10,
                epochs=epochs,
            )
            if verbose:
                print(
                    f"[batched] training {len(nets)} networks together: "
                    f"{spec.hidden_layer_sizes} units, noise at {spec.noise_sites}, "
                    f"{epochs} epochs",
                    flush=True,
                )
            start = time.perf_counter()
            out = _jax_batched.train_members(
                spec,
                cfg,
                [net.weights for _, net in nets],
                data,
                hyper,
                [net.seed for _, net in nets],
                epochs,
                memory_budget=memory_budget,
                max_members=max_members,
            )
            # Each candidate's fit time is its networks' share of the run.
            per_network = (time.perf_counter() - start) / len(nets)
            done = 0
            for m in ms:
                k = len(m.plan.members)
                result = out[done] if k == 1 else out[done : done + k]
                done += k
                apply_result(m.final, m.plan.spec, result, stacklevel=2)
                m.prep_time += per_network * k
    return n_runs
