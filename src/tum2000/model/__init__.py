"""The model: everything that decides what a simulation produces.

* :mod:`~tum2000.model.parameters`: every constant, with unit, source and range;
* :mod:`~tum2000.model.network`: every random draw (inputs, connectivity,
  synaptic parameters, initial state) from one seed;
* :mod:`~tum2000.model.brian_model`: the Brian2 network and its run;
* :mod:`~tum2000.model.resources`: the exact replay of the synaptic resources;
* :mod:`~tum2000.model.simulation`: parameters and a seed in, a dataset out.

The dataset cache keys on the source of this whole package (and on the dataset
contract, :mod:`tum2000.store.dataset`), so a new module here cannot be forgotten and
an edit elsewhere (analysis, figures, book) does not invalidate simulations.
"""
