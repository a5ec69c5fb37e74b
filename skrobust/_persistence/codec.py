"""Tagged JSON: the parameter values JSON cannot write.

JSON has no tuples, non-string dict keys or NumPy scalars; parameters need
all three, and ``random_state`` may be a NumPy ``RandomState`` or
``Generator``. Each is written as a one-key object ``{"__tag__": ...}``;
:func:`decode` knows a fixed set of tags and refuses any other, so a file
cannot make it create any other type.
"""

from __future__ import annotations

import numpy as np

_RANDOM_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


def encode(value, where: str):
    """``value`` as JSON-ready tagged data; ``where`` names it in errors."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and type(value) in (int, float):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{where}: cannot save a NumPy {value.dtype} scalar.")
        return {"__numpy__": [value.dtype.str, value.item()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, where) for v in value]}
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, dict):
        return {
            "__dict__": [[encode(k, where), encode(v, where)] for k, v in value.items()]
        }
    if isinstance(value, np.random.RandomState):
        name, key, pos, has_gauss, gauss = value.get_state(legacy=True)
        return {
            "__random_state__": [
                name,
                key.tolist(),
                int(pos),
                int(has_gauss),
                float(gauss),
            ]
        }
    if isinstance(value, np.random.Generator):
        state = value.bit_generator.state
        return {"__generator__": encode(_plain(state), where)}
    raise TypeError(
        f"{where}: skrobust.save cannot store a value of type "
        f"{type(value).__name__} safely; use pickle or joblib for trusted use."
    )


def _plain(state):
    """A bit generator's state with arrays as lists (JSON has no arrays)."""
    if isinstance(state, dict):
        return {k: _plain(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"__array__": [state.dtype.str, state.tolist()]}
    return state


def decode(value, where: str):
    """The value :func:`encode` wrote; any tag it does not know raises."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [decode(v, where) for v in value]
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"{where}: unexpected JSON value {short(value)}.")
    ((tag, body),) = value.items()
    if tag == "__tuple__" and isinstance(body, list):
        return tuple(decode(v, where) for v in body)
    if tag == "__dict__" and isinstance(body, list):
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2):
                raise ValueError(f"{where}: malformed dict entry {short(item)}.")
            key = decode(item[0], where)
            if isinstance(key, list | dict):
                raise ValueError(f"{where}: unhashable dict key {short(key)}.")
            out[key] = decode(item[1], where)
        return out
    if tag == "__numpy__" and _is_pair(body):
        dtype = _safe_dtype(body[0], where, kinds="biuf")
        return dtype.type(body[1])
    if tag == "__random_state__" and isinstance(body, list) and len(body) == 5:
        name, key, pos, has_gauss, gauss = body
        if name != "MT19937":
            raise ValueError(f"{where}: unknown RandomState generator {name!r}.")
        rs = np.random.RandomState()
        rs.set_state(
            (
                name,
                np.asarray(key, dtype=np.uint32),
                int(pos),
                int(has_gauss),
                float(gauss),
            )
        )
        return rs
    if tag == "__generator__":
        state = _unplain(decode(body, where), where)
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _RANDOM_BIT_GENERATORS:
            raise ValueError(f"{where}: unknown bit generator {name!r}.")
        bit_generator = getattr(np.random, name)()
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    raise ValueError(f"{where}: unknown JSON tag {tag!r}.")


def _unplain(state, where):
    if isinstance(state, dict):
        if set(state) == {"__array__"} and _is_pair(state["__array__"]):
            dtype = _safe_dtype(state["__array__"][0], where, kinds="biuf")
            return np.asarray(state["__array__"][1], dtype=dtype)
        return {k: _unplain(v, where) for k, v in state.items()}
    return state


def _is_pair(body) -> bool:
    return isinstance(body, list) and len(body) == 2 and isinstance(body[0], str)


def _safe_dtype(text, where, kinds):
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"{where}: invalid dtype {text!r}.") from None
    if dtype.kind not in kinds or dtype.hasobject:
        raise ValueError(f"{where}: dtype {text!r} is not allowed.")
    return dtype


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
