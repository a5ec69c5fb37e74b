"""Saving and loading fitted estimators without pickle.

:func:`save` writes one zip file holding

* ``skrobust.json``: the format version, the estimator's class name, its
  constructor parameters and its fitted attributes as tagged JSON;
* ``model.keras``: the trained network in Keras's native format, loadable on
  its own with ``keras.saving.load_model`` (it holds skrobust's registered
  ``GaussianNoise`` layer);
* ``arrays/<name>.npy``: array attributes (``classes_``,
  ``feature_names_in_``) in NumPy's format, read with ``allow_pickle=False``.

:func:`load` never unpickles and never deserializes Keras objects from the
file. It accepts only the whitelisted estimator classes, decodes parameters
through a closed set of JSON tags, rebuilds the network from the validated
:class:`~skrobust._spec.NetworkSpec`, checks that the file's Keras
architecture is exactly that network (a ``Lambda`` or any other layer a
skrobust network does not have is refused) and reads only the weight arrays
from ``model.keras``. Loading an untrusted file therefore cannot run code; any
file it cannot vouch for raises :class:`ValueError`.

The modules, each with one job:

* :mod:`.layout`: what a file holds (member names, format version, the
  attributes stored and the estimator classes allowed);
* :mod:`.codec`: the tagged JSON for values JSON lacks (tuples, NumPy
  scalars, dicts with non-string keys, random states);
* :mod:`.saving`: :func:`save`;
* :mod:`.loading`: :func:`load`, reading the zip and the Keras weights;
* :mod:`.checks`: what :func:`load` verifies in the JSON before using it.
"""

from skrobust._persistence.layout import FORMAT_NAME, FORMAT_VERSION
from skrobust._persistence.loading import load
from skrobust._persistence.saving import save

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]
