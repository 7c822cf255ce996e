"""Analysis of tum2000 simulations with Neo and Elephant.

Data in, data out (no plotting). Every function takes a tum2000 dataset
(:mod:`tum2000.store.dataset`) and returns xarray objects or plain dicts; times are
ms from the start of the recording.

* :func:`to_block`, :func:`spiketrains` — the Neo bridge (every Elephant call
  goes through it);
* :func:`population_activity` — fraction of neurons spiking per bin (Fig. 1B);
* :func:`detect_population_spikes` — population spikes and their statistics;
* :func:`synchrony`, :func:`firing_rates` — synchrony measures inside and
  outside population spikes; rate per neuron against I_b;
* :func:`recovery_dynamics` — x (and u) around population spikes: the drop
  map, bounded recovery fits, the homogeneous (naive) and the per-synapse
  predictions of the recovery (Fig. 1C); :func:`synapse_states` — every
  synapse's state, replayed exactly from a dataset;
* :func:`analyse`, :func:`summarize` — everything as one Dataset / JSON dict.
"""

from tum2000.analysis.activity import population_activities, population_activity
from tum2000.analysis.neo_bridge import (from_block, spiketrain_list, spiketrains,
                                         spikes_from_trains, to_block, windowed_spiketrains)
from tum2000.store.dataset import POPULATIONS
from tum2000.analysis.population_spikes import detect_population_spikes
from tum2000.analysis.recovery import (RMSE_MIN_RECOVERY_MS, exponential_approach,
                       fit_exponential_approach, mean_field_prediction, recovery_dynamics)
from tum2000.analysis.recovery_prediction import facilitation_prediction, homogeneous_prediction
from tum2000.analysis.synapse_replay import synapse_states
from tum2000.analysis.summary import SUMMARY_FIELDS, analyse, summarize, summary_json
from tum2000.analysis.synchrony import firing_rates, synchrony

__all__ = [
    "POPULATIONS", "RMSE_MIN_RECOVERY_MS", "SUMMARY_FIELDS", "analyse",
    "detect_population_spikes", "exponential_approach", "facilitation_prediction",
    "firing_rates", "fit_exponential_approach", "from_block", "homogeneous_prediction",
    "mean_field_prediction", "population_activities", "population_activity",
    "recovery_dynamics", "spiketrain_list", "spiketrains", "spikes_from_trains",
    "summarize", "summary_json", "synapse_states", "synchrony", "to_block",
    "windowed_spiketrains",
]
